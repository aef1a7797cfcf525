"""retroflow.trackers: what the tracker sinks share, without any HTTP client."""

from __future__ import annotations

import ast
import importlib
import sys
import types
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import attrs
import pytest

from retroflow import (
    ActionItem,
    Config,
    ConfigError,
    Factor,
    Retro,
    Score,
    TicketDraft,
    TicketRef,
    Timeline,
    TrackerError,
    Verification,
    utcnow,
)
from retroflow.http import (
    RetryBudget,
    backoff,
    certainly_not_sent,
    check_request_settings,
    describe,
    json_or_none,
    looks_like_url,
    rate_limit_error,
    retry_after_seconds,
    timestamp_or_none,
    transport_failure,
)
from retroflow.lazy import exports_by_module, lazy_package
from retroflow.testing import (
    RecordingSleep,
    check_secret_not_leaked,
    check_sink_contract,
    make_config,
    make_drafts,
    make_event,
    make_incident,
    make_plugins,
    make_retro_for_export,
)
from retroflow.trackers import (
    MARKDOWN,
    PRIORITY_THRESHOLDS,
    RequestFailure,
    SinkBase,
    Span,
    TrackerSettings,
    create_each,
    lazy_exports,
    not_sent_after,
    one_line,
    parse_owner_map,
    priority_name,
    priority_rank,
    render_sections,
    sink_module,
    statuses_in_order,
    ticket_sections,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_the_core_module_needs_no_http_client() -> None:
    source = Path(__file__).parents[2] / "src" / "retroflow" / "trackers.py"
    imported = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"requests", "urllib3", "httpx", "jira"}, imported


# --- rate limits ----------------------------------------------------------------------------


def test_retry_after_reads_seconds_and_http_dates_and_never_goes_negative() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(" 1.5 ") == 1.5
    assert retry_after_seconds("-3") == 0.0
    assert retry_after_seconds("Wed, 25 Nov 2026 12:00:30 GMT", lambda: NOW) == 30.0
    assert retry_after_seconds("Wed, 25 Nov 2026 11:00:00 GMT", lambda: NOW) == 0.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("  ") is None
    assert retry_after_seconds("soon") is None


def test_backoff_doubles_from_one_second() -> None:
    assert [backoff(n) for n in range(4)] == [1.0, 2.0, 4.0, 8.0]


@attrs.frozen
class _Requests:
    timeout: float = 30.0
    max_retry_wait: float = 10.0
    max_retries: int = 2


def test_the_retry_budget_bounds_retries_and_seconds() -> None:
    slept: list[float] = []
    budget = RetryBudget(_Requests(), slept.append)
    assert not budget.exceeded(10.0)
    assert budget.exceeded(10.5)
    budget.spend(4.0)
    budget.spend(4.0)
    assert slept == [4.0, 4.0] and budget.attempt == 2 and budget.waited == 8.0
    assert budget.exceeded(0.0)  # max_retries reached
    assert rate_limit_error("Acme", "acme", "create", 12, 10) == (
        "Acme is rate limiting (create): asked to wait 12 s, over the 10 s budget ([plugins.acme] max_retry_wait)"
    )


def test_a_rate_limit_is_waited_out_within_the_budget_and_refused_with_its_wait_over_it() -> None:
    import functools

    import structlog

    slept: list[float] = []
    budget = RetryBudget(_Requests(), slept.append)
    with structlog.testing.capture_logs() as logs:
        budget.wait_out(4.0, "create", service="Acme", table="acme", refuse=TrackerError, status=429)
    assert slept == [4.0] and budget.attempt == 1
    assert [(e["event"], e["what"], e["status"], e["wait"], e["attempt"]) for e in logs] == [
        ("acme rate limited", "create", 429, 4.0, 1)
    ]

    whole_call = functools.partial(RequestFailure, whole_call=True)
    with pytest.raises(RequestFailure) as refused:
        budget.wait_out(7.0, "create", service="Acme", table="acme", refuse=whole_call)
    assert str(refused.value) == rate_limit_error("Acme", "acme", "create", 7.0, 10.0)
    assert refused.value.retry_after == 7.0 and refused.value.whole_call
    assert slept == [4.0], "a wait over the budget is not waited"


def test_a_wait_and_each_later_draft_tell_the_export_a_create_is_about_to_be_sent() -> None:
    from retroflow.http import on_sending, sending

    heard: list[str] = []
    sending()  # outside an export: nothing to tell
    with on_sending(lambda: heard.append("sending")):
        RetryBudget(_Requests(), lambda seconds: heard.append(f"slept {seconds:g}")).spend(3.0)
        create_each(make_drafts(make_retro_for_export(3)), _creator({}))
    sending()
    assert heard == ["slept 3", "sending", "sending", "sending"]  # the wait, then drafts 2 and 3


# --- transport failures ---------------------------------------------------------------------
# Stand-ins named like requests' and urllib3's classes (the core recognises them by name).


class RequestException(OSError):
    pass


class ConnectionError(RequestException):
    pass


class Timeout(RequestException):
    pass


class ConnectTimeout(ConnectionError, Timeout):
    pass


class ReadTimeout(Timeout):
    pass


class NewConnectionError(Exception):
    pass


class NameResolutionError(NewConnectionError):
    pass


class MaxRetryError(Exception):
    def __init__(self, reason: Exception) -> None:
        super().__init__("https://user:secret@example.com/path?token=abc")
        self.reason = reason


def _refused() -> ConnectionError:
    return ConnectionError(
        MaxRetryError(NewConnectionError("Failed to establish a new connection: Connection refused"))
    )


def test_failures_before_sending_are_certain_the_rest_ambiguous() -> None:
    assert certainly_not_sent(ConnectTimeout())
    assert certainly_not_sent(_refused())
    assert not certainly_not_sent(ReadTimeout())
    assert not certainly_not_sent(ConnectionError("Connection aborted: RemoteDisconnected"))
    assert not certainly_not_sent(RequestException())
    assert not certainly_not_sent(ValueError())


def test_a_new_connection_error_is_found_through_causes_and_contexts() -> None:
    outer = ConnectionError("wrapped")
    outer.__cause__ = MaxRetryError(NameResolutionError("no such host"))
    assert certainly_not_sent(outer)
    assert describe(outer) == "cannot resolve the host"


def test_describe_says_what_happened_without_urls_or_secrets() -> None:
    cases = {
        ConnectTimeout("https://x/?token=abc"): "connect timeout",
        ReadTimeout("https://x/?token=abc"): "read timeout",
        _refused(): "connection refused",
        ConnectionError(MaxRetryError(NewConnectionError("network unreachable"))): "cannot connect",
        ConnectionError("https://x/?token=abc dropped"): "connection lost",
        RequestException("Bearer abc"): "RequestException",
    }
    for exc, words in cases.items():
        assert describe(exc) == words
        assert "abc" not in describe(exc) and "secret" not in describe(exc)


def test_a_transport_failure_says_what_failed_and_whether_the_request_reached_the_server() -> None:
    refused = transport_failure("Acme", _refused(), "create an issue", place="at https://acme.example")
    lost = transport_failure("Acme", ReadTimeout("https://acme.example/?token=abc"), "search")

    assert refused == (
        "Acme at https://acme.example failed (create an issue): connection refused; the request did not reach Acme",
        False,
    )
    assert lost == ("Acme failed (search): read timeout; the request may have reached Acme", True)


def test_drafts_not_sent_after_a_failure_carry_its_wait() -> None:
    error = not_sent_after(TrackerError("rate limited", retry_after=30.0))
    assert str(error) == "not sent after an earlier failure: rate limited"
    assert error.retry_after == 30.0 and not error.ambiguous


# --- reading answers ------------------------------------------------------------------------


class _Answer:
    def __init__(self, text: str) -> None:
        self.text = text

    def json(self) -> object:
        import json

        return json.loads(self.text)


def test_json_or_none_and_timestamp_or_none() -> None:
    assert json_or_none(_Answer('{"a": 1}')) == {"a": 1}
    assert json_or_none(_Answer("")) is None
    assert json_or_none(_Answer("<html>")) is None
    assert timestamp_or_none("2026-11-25T12:00:00Z") == NOW
    assert timestamp_or_none("yesterday") is None
    assert timestamp_or_none(None) is None
    assert timestamp_or_none("") is None


# --- settings -------------------------------------------------------------------------------


def test_statuses_come_in_the_order_of_the_refs_and_a_ticket_not_answered_for_is_missing() -> None:
    import structlog

    from retroflow import TicketStatus

    refs = [TicketRef(sink="acme", external_id=i) for i in ("3", "gone", "1")]
    found = {"1": "done", "3": "open", "9": "done"}
    with structlog.testing.capture_logs() as logs:
        statuses = statuses_in_order(
            refs, found, lambda ref, state: TicketStatus(ref=ref, state=state, changed_at=NOW), sink="acme"
        )

    assert [(s.ref, s.state, s.changed_at) for s in statuses] == [
        (refs[0], "open", NOW),
        (refs[1], "missing", None),
        (refs[2], "done", NOW),
    ]
    assert [(e["event"], e["ticket"]) for e in logs] == [("acme ticket not found for status", "gone")]


def test_owner_maps_are_trimmed_and_malformed_entries_named() -> None:
    assert parse_owner_map([" alice = a1 ", "bob=b2"], "x.toml: [plugins.t]") == {"alice": "a1", "bob": "b2"}
    for bad in ("alice", "=a1", "alice=", " = "):
        with pytest.raises(ConfigError) as info:
            parse_owner_map(["ok=1", bad], "x.toml: [plugins.t]", user="login")
        assert str(info.value) == f'x.toml: [plugins.t] assignees[1]: expected "owner=login", got {bad!r}'


def test_request_settings_and_urls_are_checked() -> None:
    check_request_settings(_Requests(max_retry_wait=0, max_retries=0), "w")
    for bad in (_Requests(timeout=0), _Requests(max_retry_wait=-1), _Requests(max_retries=-1)):
        with pytest.raises(ConfigError, match=r"^w: timeout must be positive"):
            check_request_settings(bad, "w")
    assert looks_like_url("https://example.atlassian.net")
    assert looks_like_url("http://localhost:8080/graphql")
    assert not looks_like_url("example.com")
    assert not looks_like_url("https:// spaced")


@attrs.frozen
class _Settings:
    repo: str


class _Sink(SinkBase):
    name = "acme"
    required = "repo"


class _Plugin:
    """Registers ``[plugins.acme]`` read into ``settings``."""

    from retroflow import hookimpl

    def __init__(self, settings: type = _Settings) -> None:
        self.settings = settings

    @hookimpl
    def retroflow_register_settings(self, register: object) -> None:
        register("acme", self.settings)  # type: ignore[operator]


def test_a_sink_reads_its_table_or_says_it_is_not_configured() -> None:
    plugins = make_plugins(_Plugin(), default_plugins=False)
    settings, where = _Sink().configured(make_config('[plugins.acme]\nrepo = "a/b"\n', plugins=plugins))
    assert settings == _Settings(repo="a/b") and where.endswith("retroflow.toml: [plugins.acme]")
    with pytest.raises(ConfigError, match=r"\[plugins.acme\] is not configured: repo are required"):
        _Sink().configured(make_config("", plugins=plugins))
    slept: list[float] = []
    sink = _Sink(sleep=slept.append, clock=lambda: NOW)
    sink._sleep(1.0)
    assert slept == [1.0] and sink._clock() == NOW


@attrs.frozen
class _TrackerSettings(TrackerSettings):
    project: str


def test_a_sink_s_settings_extend_the_request_settings_every_tracker_table_has() -> None:
    plugins = make_plugins(_Plugin(_TrackerSettings), default_plugins=False)

    default = make_config('[plugins.acme]\nproject = "OPS"\n', plugins=plugins).settings_for("acme")
    tuned = make_config('[plugins.acme]\nproject = "OPS"\nmax_retries = 0\ntimeout = 5\n', plugins=plugins)

    assert default == _TrackerSettings("OPS", timeout=30.0, max_retry_wait=60.0, max_retries=3)
    assert tuned.settings_for("acme") == _TrackerSettings("OPS", timeout=5.0, max_retries=0)
    with pytest.raises(ConfigError, match=r"\[plugins.acme\] project: required key is missing"):
        make_config("[plugins.acme]\ntimeout = 5\n", plugins=plugins)


@attrs.frozen
class _ThreeKeySettings(TrackerSettings):
    url: str
    project: str
    token: str
    labels: list[str] = attrs.field(factory=list)


@pytest.mark.parametrize(
    ("settings", "required"),
    [(_ThreeKeySettings, "url, project and token"), (_TrackerSettings, "project"), (_Settings, "repo")],
)
def test_a_sink_without_required_names_the_keys_of_its_settings_that_have_no_default(
    settings: type, required: str
) -> None:
    class Sink(SinkBase):
        name = "acme"
        settings_class = f"{__name__}:{settings.__name__}"  # named, as the plugins do

    plugins = make_plugins(_Plugin(settings), default_plugins=False)
    with pytest.raises(ConfigError, match=rf"\[plugins.acme\] is not configured: {required} are required$"):
        Sink().configured(make_config("", plugins=plugins))
    assert Sink.max_batch == 20, "one request per draft, in calls of a small batch"


class _OpenedClient:
    def __init__(self, settings: object, *, where: str, sleep: object, clock: object) -> None:
        self.args = (settings, where, sleep, clock)


class _ClientSink(_Sink):
    client = f"{__name__}:_OpenedClient"


def test_open_imports_the_client_class_and_hands_it_settings_and_the_injected_clock() -> None:
    plugins = make_plugins(_Plugin(), default_plugins=False)
    sink = _ClientSink(sleep=print, clock=lambda: NOW)
    opened = sink.open(make_config('[plugins.acme]\nrepo = "a/b"\n', plugins=plugins))
    assert isinstance(opened, _OpenedClient)
    settings, where, sleep, clock = opened.args
    assert settings == _Settings(repo="a/b") and where.endswith("[plugins.acme]")
    assert sleep is print and clock() == NOW
    with pytest.raises(ConfigError, match="is not configured"):
        sink.open(make_config("", plugins=plugins))


def test_a_sink_module_registers_the_sink_and_its_table_and_exports_its_client_and_settings_lazily() -> None:
    import types

    class Sink(_ClientSink):
        settings_class = f"{__name__}:_Settings"

    module = types.ModuleType("acme_sink")
    module.retroflow_register_settings, module.retroflow_register_tracker_sinks, module.__getattr__ = sink_module(Sink)

    plugins = make_plugins(module, default_plugins=False)
    assert isinstance(plugins.tracker_sinks.get("acme"), Sink)
    assert plugins.settings.get("acme") is _Settings
    assert module._OpenedClient is _OpenedClient and module._Settings is _Settings
    with pytest.raises(AttributeError, match="has no attribute 'Other'"):
        module.Other  # noqa: B018


def test_lazy_exports_import_a_name_when_first_asked_for() -> None:
    getattr_ = lazy_exports("acme_plugin", {"Client": f"{__name__}:_OpenedClient"})
    assert getattr_("Client") is _OpenedClient
    with pytest.raises(AttributeError, match="module 'acme_plugin' has no attribute 'Other'"):
        getattr_("Other")


def test_exports_by_module_gives_each_name_its_module() -> None:
    homes = {".settings": ("AcmeSettings", "ServiceMap"), "retroflow.clock": ("utcnow",)}
    assert exports_by_module(homes) == {
        "AcmeSettings": ".settings:AcmeSettings",
        "ServiceMap": ".settings:ServiceMap",
        "utcnow": "retroflow.clock:utcnow",
    }
    assert lazy_exports("retroflow", exports_by_module(homes))("utcnow") is utcnow


def test_lazy_exports_all_of_a_module_import_it_when_one_of_its_names_is_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "acme_content.py").write_text('__all__ = ["Shown"]\nShown = 1\nHidden = 2\nOwn = 3\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "acme_content", raising=False)
    getattr_ = lazy_exports("acme_plugin", {"Own": f"{__name__}:_OpenedClient"}, all_of=("acme_content",))
    for probed in ("__path__", "__wrapped__", "_private"):
        with pytest.raises(AttributeError, match=f"module 'acme_plugin' has no attribute '{probed}'"):
            getattr_(probed)
    assert "acme_content" not in sys.modules, "a probe for a private name imported the module"
    assert getattr_("Shown") == 1
    assert getattr_("Own") is _OpenedClient, "a name given in exports comes from there"
    with pytest.raises(AttributeError, match="module 'acme_plugin' has no attribute 'Hidden'"):
        getattr_("Hidden")  # in the module, but not in its __all__
    sys.modules.pop("acme_content")


def test_lazy_package_lists_its_public_names_before_they_are_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    package = types.ModuleType("acme_package")
    package.__all__ = ["Here", "utcnow"]  # type: ignore[attr-defined]
    package.Here = 1  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "acme_package", package)
    getattr_, dir_ = lazy_package("acme_package", {"retroflow.clock": ("utcnow",)})
    listed = dir_()
    assert {"Here", "utcnow", "__all__", "__name__"} <= set(listed) and listed == sorted(listed)
    assert getattr_("utcnow") is utcnow
    with pytest.raises(AttributeError, match="module 'acme_package' has no attribute 'Other'"):
        getattr_("Other")


@pytest.mark.parametrize(
    ("exporter", "home"), [("retroflow.trackers", "retroflow.tickets"), ("retroflow.sources", "retroflow.source_kit")]
)
def test_the_plugin_kits_export_every_name_of_the_modules_they_import_lazily(exporter: str, home: str) -> None:
    exporting, exported = importlib.import_module(exporter), importlib.import_module(home)
    assert exported.__all__
    for name in exported.__all__:
        assert getattr(exporting, name) is getattr(exported, name)


# --- ticket content -------------------------------------------------------------------------


def _action(score: float | None = 4.5, **fields: object) -> ActionItem:
    values: dict[str, object] = {
        "id": "act001",
        "title": "Gate deploys",
        "score": None if score is None else Score(model="impact-math", value=score, explanation="f × i ÷ e"),
    }
    values.update(fields)
    return ActionItem(**values)


def test_priority_ranks_follow_the_thresholds() -> None:
    assert PRIORITY_THRESHOLDS == (6.0, 3.0, 1.5)
    ranks = {value: priority_rank(_action(value)) for value in (9, 6.0, 5.99, 3.0, 2.9, 1.5, 1.49, 0.33)}
    assert ranks == {9: 1, 6.0: 1, 5.99: 2, 3.0: 2, 2.9: 3, 1.5: 3, 1.49: 4, 0.33: 4}
    assert priority_rank(_action(None)) is None


def test_one_line_flattens_and_cuts_with_an_ellipsis() -> None:
    assert one_line("  a \n b\tc ", 10) == "a b c"
    assert one_line("x" * 12, 10) == "x" * 9 + "…"
    assert len(one_line("x" * 300, 255)) == 255


def _draft(**action_fields: object) -> TicketDraft:
    deploy = make_event("deploy", -6, summary="Deploy *v2*", link="https://ci.example.com/1")
    signal = make_event("signal", 0, summary="timeouts")
    factor = Factor(
        key="f", layer="technical", title="A [change]", explanation="landed 6 min before", evidence=(deploy.id, "gone")
    )
    fields: dict[str, object] = {
        "change": "Canary first",
        "factors": ("f", "unknown"),
        "verify": Verification(metric="bad deploys", service="checkout", target="0"),
        "category": "automate a decision",
        "effort": "medium",
        "owner": "alice",
        "due": date(2026, 12, 15),
    }
    fields.update(action_fields)
    action = _action(**fields)
    incident = make_incident(id="CHK-1", title="Checkout", links=("https://pd.example.com/CHK-1",))
    retro = Retro(
        incident=incident, timeline=Timeline.from_events([deploy, signal]), factors=(factor,), actions=(action,)
    )
    return TicketDraft(key="k-1", action=action, retro=retro, retro_url="https://retros.example.com/CHK-1")


def test_ticket_sections_say_the_same_whatever_the_markup() -> None:
    sections = ticket_sections(_draft())
    assert [s.title for s in sections] == [
        "The change",
        "Why: the conditions it answers",
        "How to verify",
        "Priority",
        "Details",
        "Links",
    ]
    why = sections[1].lines
    assert [line.depth for line in why] == [1, 2, 2]
    assert why[0].spans[0] == Span("A [change]", "strong")
    assert Span("source", "link", "https://ci.example.com/1") in why[1].spans
    assert why[2].spans[-1] == Span("gone", "code")  # evidence the timeline does not have
    assert sections[3].lines[0].spans[0].text == "Score 4.5 ("
    named = ticket_sections(_draft(), priority="high")
    assert named[3].lines[0].spans[:2] == (Span("high", "strong"), Span(" — score 4.5 (", "raw"))


def test_ticket_sections_leave_out_what_the_action_does_not_say() -> None:
    draft = _draft(factors=(), verify=None, score=None, category=None, effort=None, owner=None, due=None)
    assert [s.title for s in ticket_sections(draft)] == ["The change", "Links"]


def test_evidence_is_listed_up_to_the_limit_and_the_rest_counted() -> None:
    events = [make_event("signal", i) for i in range(13)]
    factor = Factor(key="f", layer="technical", title="t", explanation="e", evidence=tuple(e.id for e in events))
    action = _action(factors=("f",))
    retro = Retro(incident=make_incident(), timeline=Timeline.from_events(events), factors=(factor,), actions=(action,))
    (_, why, *_) = ticket_sections(TicketDraft(key="k", action=action, retro=retro, retro_url=None))
    assert len(why.lines) == 1 + 10 + 1
    assert why.lines[-1].spans[0].text == "and 3 more events"


def test_markdown_escapes_retro_text_so_it_cannot_become_markup() -> None:
    text = "\n".join(render_sections(ticket_sections(_draft(), priority="high"), MARKDOWN))
    assert text.startswith("### The change\n\nCanary first\n\n### Why: the conditions it answers\n\n")
    assert "- **A \\[change\\]** (technical): landed 6 min before" in text
    assert "  - evidence `gone`" in text
    assert "Deploy \\*v2\\* ([source](<https://ci.example.com/1>))" in text
    assert "bad deploys on checkout: target 0" in text
    assert "**high** — score 4.5 (impact-math): f × i ÷ e" in text
    assert "- Due: 2026-12-15" in text
    assert text.endswith(
        "### Links\n\n- [Incident CHK-1: Checkout](<https://pd.example.com/CHK-1>)\n"
        "- [Retrospective](<https://retros.example.com/CHK-1>)\n"
    )
    assert MARKDOWN.escape("a <!-- b -->\n  c") == "a \\<!-- b --\\> c"


# --- the sink test kit (retroflow.testing) ----------------------------------------------------


class _AcmeClient:
    def create(self, drafts: object) -> list[object]:
        return []

    def find(self, key: str) -> None:
        return None

    def status(self, refs: object) -> list[object]:
        return []

    def preview(self, draft: object) -> dict[str, object]:
        return {}


class _AcmeSink(SinkBase):
    name = "acme"
    required = "repo"
    max_batch = 1
    search_lag = 0.0

    def open(self, config: Config) -> _AcmeClient:
        self.configured(config)
        return _AcmeClient()


class _AcmePlugin(_Plugin):
    from retroflow import hookimpl

    @hookimpl
    def retroflow_register_tracker_sinks(self, register: Callable[[object], None]) -> None:
        register(_AcmeSink())


def test_check_sink_contract_passes_a_sink_that_meets_it_and_names_what_fails() -> None:
    plugin = _AcmePlugin()
    config = make_config('[plugins.acme]\nrepo = "a/b"\n', plugins=make_plugins(plugin, default_plugins=False))
    assert isinstance(check_sink_contract(plugin, "acme", config, required="repo"), _AcmeClient)
    with pytest.raises(AssertionError, match=r"expected '\[plugins.acme\] is not configured: repo and token'"):
        check_sink_contract(plugin, "acme", config, required="repo and token")


def test_a_sink_under_test_goes_by_its_sink_s_module_and_name_unless_told_otherwise() -> None:
    import sys

    from retroflow.testing.sink_contract import SinkUnderTest

    kit = {"required": "repo", "table": lambda: "", "secret": "s3cr3t", "secret_env": "ACME", "fake": object()}
    sut = SinkUnderTest(sink=_AcmeSink, **kit)
    assert sut.plugin is sys.modules[__name__] and sut.name == "acme"
    told = SinkUnderTest(sink=_AcmeSink, plugin=_AcmePlugin(), name="acme-eu", **kit)
    assert isinstance(told.plugin, _AcmePlugin) and told.name == "acme-eu"


def test_the_sink_kit_builds_a_retro_and_its_drafts() -> None:
    retro = make_retro_for_export(3)
    assert [a.id for a in retro.actions] == ["act000", "act001", "act002"]
    assert retro.actions[0].owner == "alice" and retro.actions[1].owner is None
    assert all(a.score is not None and priority_rank(a) == 2 for a in retro.actions)
    drafts = make_drafts(retro)
    assert [d.key for d in drafts] == ["k-act000", "k-act001", "k-act002"]
    assert {d.retro_url for d in drafts} == {"https://retros.example.com/CHK-1042"}
    assert make_drafts(retro, retro_url=None)[0].retro_url is None
    sleep = RecordingSleep()
    sleep(1.5)
    assert sleep.calls == [1.5]


# --- creating one by one ----------------------------------------------------------------------


def _creator(outcomes: dict[str, RequestFailure | None]) -> Callable[[TicketDraft], TicketRef]:
    def create_one(draft: TicketDraft) -> TicketRef:
        failure = outcomes.get(draft.key)
        if failure is not None:
            raise failure
        return TicketRef(sink="t", external_id=draft.key, url=None, key=draft.key)

    return create_one


def test_create_each_returns_a_result_per_draft_in_order() -> None:
    drafts = make_drafts(make_retro_for_export(3))
    rejected = RequestFailure("rejected", whole_call=False)
    results = create_each(drafts, _creator({"k-act001": rejected}))
    assert [type(r).__name__ for r in results] == ["TicketRef", "TrackerError", "TicketRef"]
    assert str(results[1]) == "rejected" and not results[1].ambiguous  # type: ignore[union-attr]


def test_create_each_raises_a_certain_whole_call_failure_of_the_first_draft_without_context() -> None:
    drafts = make_drafts(make_retro_for_export(2))
    with pytest.raises(TrackerError) as info:
        create_each(drafts, _creator({"k-act000": RequestFailure("bad token", whole_call=True, retry_after=5.0)}))
    assert type(info.value) is TrackerError and str(info.value) == "bad token"
    assert info.value.retry_after == 5.0
    assert info.value.__cause__ is None and info.value.__context__ is None


def test_create_each_stops_after_an_ambiguous_or_whole_call_failure() -> None:
    drafts = make_drafts(make_retro_for_export(3))
    for failure in (
        RequestFailure("timeout", whole_call=False, ambiguous=True),
        RequestFailure("429", whole_call=True),
    ):
        first, second, third = create_each(drafts, _creator({"k-act001": failure}))
        assert isinstance(first, TicketRef)
        assert isinstance(second, TrackerError) and second.ambiguous is failure.ambiguous
        assert isinstance(third, TrackerError) and not third.ambiguous
        assert str(third) == f"not sent after an earlier failure: {failure}"


def test_priority_name_names_the_rank() -> None:
    names = ("urgent", "high", "medium", "low")
    assert [priority_name(_action(v), names) for v in (6, 3, 1.5, 1)] == list(names)
    assert priority_name(_action(None), names) is None


def test_check_secret_not_leaked_catches_the_secret_and_exception_chains() -> None:
    check_secret_not_leaked("s3cret", TrackerError("HTTP 401: check token"), "log line", [{"event": "x"}])
    with pytest.raises(AssertionError, match="in the error"):
        check_secret_not_leaked("s3cret", TrackerError("Bearer s3cret"))
    with pytest.raises(AssertionError, match="in the output"):
        check_secret_not_leaked("s3cret", TrackerError("x"), [{"headers": "Bearer s3cret"}])
    try:
        try:
            raise ValueError("Bearer s3cret")
        except ValueError:
            raise TrackerError("x")  # noqa: B904 - the context is the point
    except TrackerError as exc:
        chained = exc
    with pytest.raises(AssertionError, match="has a context"):
        check_secret_not_leaked("s3cret", chained)
