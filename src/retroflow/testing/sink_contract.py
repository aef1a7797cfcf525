"""One contract suite any tracker sink runs against itself.

What every sink must do, whatever its tracker: register itself and its settings table,
send exactly the body :meth:`~retroflow.TrackerClient.preview` shows, give one result per
draft in order, export each ticket once through retroflow's outbox (a second export sends
nothing), read states back, wait out rate limits as ``Retry-After`` asks (seconds or an
HTTP date, with or without a zone) and the tracker's own rate-limit replies, and fail at
once over the budget, let a draft the tracker rejects fail alone, tell a failure that may
have reached the tracker from one that certainly did not, and never leak its secret.

A sink's tests run it by subclassing :class:`SinkContract` and providing a fixture
``sink_under_test`` (a :class:`SinkUnderTest`) whose :class:`FakeTracker` answers like the
tracker's API, faked at the transport with ``responses``::

    from retroflow.testing.sink_contract import SinkContract

    class TestAcmeSinkContract(SinkContract):
        pass

Needs ``responses`` and ``requests`` (every requests-based sink's test extra has them).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import attrs
import pytest
import structlog

from retroflow.config import Config
from retroflow.errors import TrackerError
from retroflow.roles import TicketRef, TrackerClient, TrackerSink
from retroflow.testing import (
    RecordingSleep,
    check_secret_not_leaked,
    check_sink_contract,
    make_config,
    make_drafts,
    make_plugins,
    make_retro_for_export,
)

if TYPE_CHECKING:
    import responses

__all__ = ["NOW", "STATES", "FakeTracker", "SinkContract", "SinkUnderTest", "refused_connection"]

#: The sinks' clock in the contract: ``Retry-After`` dates are counted from it.
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
#: The ticket states every sink maps its tracker's onto.
STATES = ("open", "in progress", "done", "won't do")


class FakeTracker(Protocol):
    """The tracker's API as the contract needs it, registered on a ``responses`` mock.

    A fake may also have ``accept_creates_but_reject(mocked, count, rejected) -> str``:
    answer the creates of the next ``count`` drafts with new tickets, except the draft at
    index ``rejected``, which the tracker refuses for a reason about that draft alone (a
    field it does not accept); return the words of the refusal the error must quote.
    Without it, the contract's test of that is skipped.
    """

    def accept_creates(self, mocked: responses.RequestsMock, count: int) -> list[str]:
        """Answer the creates of the next ``count`` drafts with new tickets (in as many
        requests as the sink sends for them); their external ids, in order."""

    def answer_create(self, mocked: responses.RequestsMock, **reply: Any) -> None:
        """Answer the next create request with ``reply``: ``responses`` keywords (``status``,
        ``headers``, ``json``, or ``body`` with an exception to raise)."""

    def serve_lookup(self, mocked: responses.RequestsMock, key: str, external_id: str | None) -> None:
        """Answer ``find(key)`` with the ticket ``external_id``, or with none."""

    def serve_states(self, mocked: responses.RequestsMock, states: Mapping[str, str]) -> None:
        """Answer ``status`` with each external id's state (one of :data:`STATES`, or
        ``"missing"``: the tracker no longer shows that ticket)."""


@attrs.frozen(kw_only=True)
class SinkUnderTest:
    """A tracker sink plugin, its configuration and the fake of its tracker.

    :ivar sink: the sink class, constructed as ``sink(sleep=..., clock=...)``.
    :ivar plugin: what the sink's entry point registers; by default the module that defines
        :attr:`sink`.
    :ivar name: the sink's name (and settings table); by default :attr:`sink`'s ``name``.
    :ivar required: the keys a configuration needs, as the missing-table error says them.
    :ivar table: the ``[plugins.<name>]`` TOML of a working configuration; keyword options
        select variants (a sink's own tests use them through ``make_client``).
    :ivar secret: a distinctive fake credential, which must never leak.
    :ivar secret_env: the environment variable ``table`` reads ``secret`` from.
    :ivar fake: the fake tracker.
    :ivar refusals: the tracker's refusals of a create that are about the whole call
        (credentials, permissions, the project or repository), each as ``(reply, words)``:
        the ``responses`` keywords of the reply, and what the error must say (the setting
        to check, the tracker's own words).
    :ivar rate_limits: the tracker's own rate-limit replies to a create, besides a 429 with
        ``Retry-After`` (a reset time in a header of its own, a rate-limit error in the body),
        each as ``(reply, waited)``: the ``responses`` keywords of the reply, and the seconds
        the sink must wait before it creates the ticket (counted from :attr:`now`).
    :ivar now: the sink's clock.
    """

    sink: Callable[..., TrackerSink]
    plugin: object = attrs.Factory(lambda self: sys.modules[self.sink.__module__], takes_self=True)
    name: str = attrs.Factory(lambda self: self.sink.name, takes_self=True)
    required: str
    table: Callable[..., str]
    secret: str
    secret_env: str
    fake: FakeTracker
    refusals: tuple[tuple[Mapping[str, Any], tuple[str, ...]], ...] = ()
    rate_limits: tuple[tuple[Mapping[str, Any], float], ...] = ()
    now: datetime = NOW

    def config(self, extra: str = "", *, base_dir: Path | None = None, **options: Any) -> Config:
        """A validated configuration: :attr:`table` (with ``options``) and ``extra`` keys."""
        plugins = make_plugins(self.plugin, default_plugins=False)
        return make_config(self.table(**options) + extra, plugins=plugins, base_dir=base_dir)

    def open(self, sleep: Callable[[float], None], extra: str = "", **options: Any) -> Any:
        """A client of the configured sink (the secret must be in the environment)."""
        return self.sink(sleep=sleep, clock=lambda: self.now).open(self.config(extra, **options))


def refused_connection(path: str = "/") -> Exception:
    """What ``requests`` raises for a refused connection (certainly not sent)."""
    import requests
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")  # type: ignore[arg-type]
    return requests.ConnectionError(MaxRetryError(None, path, reason))  # type: ignore[arg-type]


def _transport_failures() -> list[tuple[dict[str, Any], bool]]:
    import requests

    return [
        ({"status": 500}, True),
        ({"status": 502}, True),
        ({"body": requests.ReadTimeout("read timed out")}, True),
        ({"body": requests.ConnectionError("Connection aborted: RemoteDisconnected")}, True),
        ({"body": requests.ConnectTimeout("connect timed out")}, False),
        ({"body": refused_connection()}, False),
    ]


class SinkContract:
    """The contract suite: subclass it in a sink's tests (``Test…``) and provide the fixture
    ``sink_under_test``; the fixtures ``mocked`` and ``sleep`` come from retroflow's pytest
    plugin (:mod:`retroflow.testing.pytest_plugin`)."""

    @pytest.fixture(autouse=True)
    def _secret_in_environment(self, sink_under_test: SinkUnderTest, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv(sink_under_test.secret_env, sink_under_test.secret)

    @pytest.fixture
    def client(self, sink_under_test: SinkUnderTest, sleep: RecordingSleep) -> TrackerClient:
        client: TrackerClient = sink_under_test.open(sleep)
        return client

    def test_it_registers_the_sink_and_its_table_and_opens_a_client(self, sink_under_test: SinkUnderTest) -> None:
        sut = sink_under_test
        check_sink_contract(sut.plugin, sut.name, sut.config(), required=sut.required)

    def test_preview_is_exactly_the_body_create_sends(
        self, sink_under_test: SinkUnderTest, client: Any, mocked: responses.RequestsMock
    ) -> None:
        import json

        (draft,) = make_drafts(make_retro_for_export(1))
        sink_under_test.fake.accept_creates(mocked, 1)

        client.create([draft])

        assert json.loads(mocked.calls[0].request.body or "") == client.preview(draft)

    def test_create_gives_one_ref_per_draft_in_order(
        self, sink_under_test: SinkUnderTest, client: TrackerClient, mocked: responses.RequestsMock
    ) -> None:
        drafts = make_drafts(make_retro_for_export(3))
        ids = sink_under_test.fake.accept_creates(mocked, 3)

        refs = client.create(drafts)

        assert all(isinstance(ref, TicketRef) for ref in refs), refs
        assert [(ref.sink, ref.external_id, ref.key) for ref in refs if isinstance(ref, TicketRef)] == [
            (sink_under_test.name, external_id, draft.key) for external_id, draft in zip(ids, drafts, strict=True)
        ]

    def test_an_export_creates_each_ticket_once_and_a_second_export_sends_nothing(
        self, sink_under_test: SinkUnderTest, mocked: responses.RequestsMock, sleep: RecordingSleep, tmp_path: Path
    ) -> None:
        from retroflow.store import open_store
        from retroflow.store.exports import export_actions

        sut = sink_under_test
        store = open_store(f"sqlite:///{tmp_path / 'retroflow.db'}")
        try:
            store.save_retro(make_retro_for_export(3), request_ref="CHK-1042")
            sut.fake.accept_creates(mocked, 3)
            sink, config = sut.sink(sleep=sleep, clock=lambda: sut.now), sut.config()

            first = export_actions(store, "CHK-1042", sink, config, sleep=sleep, now=lambda: sut.now)
            sent = len(mocked.calls)
            again = export_actions(store, "CHK-1042", sink, config, sleep=sleep, now=lambda: sut.now)
        finally:
            store.close()

        assert first.counts() == {"created": 3}
        assert again.counts() == {"already exported": 3}
        assert len(mocked.calls) == sent, "the second export sent requests"

    def test_states_are_read_back_and_a_ticket_gone_is_missing(
        self, sink_under_test: SinkUnderTest, client: TrackerClient, mocked: responses.RequestsMock
    ) -> None:
        drafts = make_drafts(make_retro_for_export(len(STATES) + 1))
        ids = sink_under_test.fake.accept_creates(mocked, len(drafts))
        refs = [ref for ref in client.create(drafts) if isinstance(ref, TicketRef)]
        wanted = [*STATES, "missing"]
        sink_under_test.fake.serve_states(mocked, dict(zip(ids, wanted, strict=True)))

        statuses = client.status(refs)

        assert [(status.ref, status.state) for status in statuses] == list(zip(refs, wanted, strict=True))

    def test_find_gives_the_ticket_of_a_key_or_none(
        self, sink_under_test: SinkUnderTest, client: TrackerClient, mocked: responses.RequestsMock
    ) -> None:
        sink_under_test.fake.serve_lookup(mocked, "k-absent", None)
        assert client.find("k-absent") is None
        mocked.reset()
        sink_under_test.fake.serve_lookup(mocked, "k-present", "4242")
        found = client.find("k-present")
        assert found is not None and (found.external_id, found.key) == ("4242", "k-present")

    @pytest.mark.parametrize(
        ("retry_after", "waited"),
        [
            ("7", 7.0),
            ("Wed, 25 Nov 2026 12:00:12 GMT", 12.0),  # the clock says 12:00:00
            ("Wed, 25 Nov 2026 12:00:12", 12.0),  # an HTTP date is GMT, named or not
        ],
    )
    def test_a_rate_limit_is_waited_out_as_retry_after_asks(
        self,
        sink_under_test: SinkUnderTest,
        client: TrackerClient,
        mocked: responses.RequestsMock,
        sleep: RecordingSleep,
        retry_after: str,
        waited: float,
    ) -> None:
        sink_under_test.fake.answer_create(mocked, status=429, headers={"Retry-After": retry_after})
        sink_under_test.fake.accept_creates(mocked, 1)

        (ref,) = client.create(make_drafts(make_retro_for_export(1)))

        assert isinstance(ref, TicketRef)
        assert sleep.calls == [waited]

    def test_the_tracker_s_own_rate_limit_replies_are_waited_out(
        self, sink_under_test: SinkUnderTest, mocked: responses.RequestsMock, sleep: RecordingSleep
    ) -> None:
        if not sink_under_test.rate_limits:
            pytest.skip("the sink under test names no rate-limit replies of its tracker")
        for reply, waited in sink_under_test.rate_limits:
            mocked.reset()
            sleep.calls.clear()
            sink_under_test.fake.answer_create(mocked, **reply)
            sink_under_test.fake.accept_creates(mocked, 1)

            (ref,) = sink_under_test.open(sleep).create(make_drafts(make_retro_for_export(1)))

            assert isinstance(ref, TicketRef), (reply, ref)
            assert sleep.calls == [waited], reply

    def test_a_rate_limit_over_the_budget_fails_at_once_with_retry_after(
        self, sink_under_test: SinkUnderTest, client: TrackerClient, mocked: responses.RequestsMock, sleep: Any
    ) -> None:
        sink_under_test.fake.answer_create(mocked, status=429, headers={"Retry-After": "600"})

        with pytest.raises(TrackerError, match="max_retry_wait") as caught:
            client.create(make_drafts(make_retro_for_export(2)))

        assert caught.value.retry_after == 600.0 and not caught.value.ambiguous
        assert sleep.calls == []

    def test_rejected_credentials_name_the_setting_and_never_the_secret(
        self,
        sink_under_test: SinkUnderTest,
        client: TrackerClient,
        mocked: responses.RequestsMock,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        refusals = [({"status": 401}, (f"[plugins.{sink_under_test.name}]", "token")), *sink_under_test.refusals]
        for reply, words in refusals:
            mocked.reset()
            sink_under_test.fake.answer_create(mocked, **reply)

            with structlog.testing.capture_logs() as logs, pytest.raises(TrackerError) as caught:
                client.create(make_drafts(make_retro_for_export(2)))

            assert all(word in str(caught.value) for word in words), (reply, str(caught.value))
            assert not caught.value.ambiguous, reply
            check_secret_not_leaked(sink_under_test.secret, caught.value, caplog.text, logs)
            assert "Authorization" in mocked.calls[0].request.headers  # it was sent, and not leaked
            assert len(mocked.calls) == 1, "a refusal about the whole call was retried or followed"

    @pytest.mark.parametrize("case", range(len(_transport_failures())))
    def test_a_failure_is_ambiguous_only_when_the_request_may_have_reached_the_tracker(
        self, sink_under_test: SinkUnderTest, client: TrackerClient, mocked: responses.RequestsMock, case: int
    ) -> None:
        reply, ambiguous = _transport_failures()[case]
        sink_under_test.fake.answer_create(mocked, **reply)

        try:
            (result,) = client.create(make_drafts(make_retro_for_export(1)))
        except TrackerError as exc:  # a certain failure about the whole call is raised
            result = exc
        assert isinstance(result, TrackerError)
        assert result.ambiguous is ambiguous, (reply, str(result))
        assert sink_under_test.secret not in str(result)

    def test_a_draft_the_tracker_rejects_fails_alone(
        self, sink_under_test: SinkUnderTest, client: TrackerClient, mocked: responses.RequestsMock
    ) -> None:
        reject = getattr(sink_under_test.fake, "accept_creates_but_reject", None)
        if reject is None:
            pytest.skip("the fake tracker has no accept_creates_but_reject")
        words = reject(mocked, 3, 1)

        first, second, third = client.create(make_drafts(make_retro_for_export(3)))

        assert isinstance(first, TicketRef) and isinstance(third, TicketRef), (first, third)
        assert isinstance(second, TrackerError) and not second.ambiguous, second
        assert words in str(second)
