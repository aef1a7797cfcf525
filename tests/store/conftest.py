"""Store fixtures: every store test runs on SQLite and on PostgreSQL (``db_url``, in
``tests/conftest.py``, shared with the service's tests)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from retroflow.store import Store, open_store


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """A migrated store, on each backend in turn."""
    with open_store(db_url) as opened:
        yield opened


class Clock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 5, 9, 0, tzinfo=UTC))


@pytest.fixture
def no_sleep() -> Callable[[float], None]:
    def sleep(seconds: float) -> None:
        raise AssertionError(f"unexpected sleep({seconds})")

    return sleep


@pytest.fixture(autouse=True)
def _no_database_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RETROFLOW_DATABASE", raising=False)
    with contextlib.suppress(KeyError):
        monkeypatch.delenv("RETROFLOW_CONFIG")


# -- building retros for the tests -------------------------------------------------------

from retroflow import hookimpl  # noqa: E402
from retroflow.model import ActionItem, Factor, Layer, Retro, SourceResult  # noqa: E402
from retroflow.request import RetroRequest  # noqa: E402
from retroflow.store.human import HumanInput, build_with_input  # noqa: E402
from retroflow.testing import make_config, make_event, make_incident, make_plugins  # noqa: E402


class TinyHeuristics:
    """Factors and actions the store tests rely on, independent of the default heuristics:
    ``late-alert`` (cites the first signal), ``risky-decision`` (cites any decision event,
    human ones included), and ``many-actions`` (a factor with ``n`` actions)."""

    def __init__(self, n_actions: int = 0) -> None:
        self.n_actions = n_actions

    @hookimpl
    def retroflow_find_factors(self, incident, timeline):  # type: ignore[no-untyped-def]
        found = []
        signals = timeline.of_kind(*[k for k in ("signal",)])
        if signals:
            found.append(Factor("late-alert", Layer.TECHNICAL, "Alert came late", "first signal", [signals[0].id]))
        decisions = [e for e in timeline.events if e.kind == "decision"]
        if decisions:
            found.append(
                Factor("risky-decision", Layer.HUMAN, "A decision under uncertainty", "why", [decisions[0].id])
            )
        if self.n_actions and signals:
            found.append(Factor("many-actions", Layer.PROCESS, "Many follow-ups", "load", [signals[0].id]))
        return found

    @hookimpl
    def retroflow_propose_actions(self, incident, factors):  # type: ignore[no-untyped-def]
        actions = []
        for factor in factors:
            if factor.key == "late-alert":
                actions.append(
                    ActionItem.create(
                        incident_id=incident.id,
                        title="Alert on checkout error rate",
                        factors=[factor.key],
                        key="late-alert",
                    )
                )
            elif factor.key == "risky-decision":
                actions.append(
                    ActionItem.create(
                        incident_id=incident.id, title="Write the rollback runbook", factors=[factor.key], key="rb"
                    )
                )
            elif factor.key == "many-actions":
                actions.extend(
                    ActionItem.create(
                        incident_id=incident.id, title=f"Follow-up {i:03d}", factors=[factor.key], key=("n", i)
                    )
                    for i in range(self.n_actions)
                )
        return actions


class StaticSource:
    """Knows one incident, by its id and by ``aliases`` (as PagerDuty knows incident
    ``Q1ABC`` by its number ``1042`` too)."""

    def __init__(self, incident, events, aliases=()) -> None:  # type: ignore[no-untyped-def]
        self.result = SourceResult(incident=incident, events=tuple(events))
        self.refs = {incident.id, *aliases}

    @hookimpl
    def retroflow_timeline_source(self, request):  # type: ignore[no-untyped-def]
        return self.result if request.incident_ref in self.refs else None


def sample_events() -> list:  # type: ignore[type-arg]
    return [
        make_event("deploy", -10, summary="Deploy checkout v2", service="checkout", native_id="d1"),
        make_event("signal", 0, summary="errors rising", service="checkout", native_id="s1"),
        make_event("alert", 5, summary="error rate alert", service="checkout", native_id="a1"),
        make_event("page", 6, native_id="p1"),
        make_event("ack", 9, actor="alice", native_id="k1"),
        make_event("rollback", 20, service="checkout", native_id="r1"),
        make_event("resolve", 30, native_id="z1"),
    ]


def build_sample(human: HumanInput | None = None, *, n_actions: int = 0, incident_id: str = "INC-1") -> Retro:
    incident = make_incident(id=incident_id)
    plugins = make_plugins(StaticSource(incident, sample_events()), TinyHeuristics(n_actions))
    config = make_config(plugins=plugins)
    return build_with_input(
        RetroRequest(incident_ref=incident_id), human or HumanInput(), plugins=plugins, config=config
    )


@pytest.fixture
def retro() -> Retro:
    return build_sample()


@pytest.fixture(name="build_sample")
def _build_sample_fixture() -> Callable[..., Retro]:
    """:func:`build_sample`, for test modules (conftest is not importable with importlib)."""
    return build_sample


@pytest.fixture
def sample_plugins() -> list[object]:
    """A source for incident INC-1 (also known as ``1042``) and the test heuristics, as
    plugin objects."""
    return [StaticSource(make_incident(id="INC-1"), sample_events(), aliases=["1042"]), TinyHeuristics()]
