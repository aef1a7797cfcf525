"""Fixtures: a retro with actions, drafts, and a Linear client on a fake API."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

import pytest
import responses
import retroflow_linear
from retroflow_linear import LinearClient, LinearSink

from retroflow import (
    ActionItem,
    Factor,
    Retro,
    Score,
    TicketDraft,
    Timeline,
    Verification,
)
from retroflow.testing import make_config, make_event, make_incident, make_plugins

#: A distinctive fake token: it must never appear in an error message or a log line.
TOKEN = "lin_api_FAKE0fake0linear0key0c4d1"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def make_retro(actions: int = 1) -> Retro:
    deploy = make_event("deploy", -6, summary="Deploy checkout v2.14.0 (pool size 50 → 5)", source="github")
    signal = make_event("signal", 0, summary="payment-client timed out waiting for a connection", source="otel")
    incident = make_incident(
        id="CHK-1042", title="Checkout card payments failing", links=("https://pd.example.com/incidents/CHK-1042",)
    )
    factor = Factor(
        key="change-before-incident",
        layer="technical",
        title="A change to checkout shortly before the first signal",
        explanation="The deploy landed 6 min before the first signal; nothing stopped it.",
        evidence=(deploy.id, signal.id),
    )
    items = tuple(
        ActionItem(
            id=f"act{i:03d}",
            title=f"Gate deploys of checkout on a canary check #{i}",
            change="Deploy to a canary first and roll back automatically when its error rate is worse.",
            category="automate a decision",
            owner="alice" if i == 0 else None,
            due=date(2026, 12, 15) if i == 0 else None,
            factors=("change-before-incident",),
            verify=Verification(metric="bad deploys reaching all traffic", service="checkout", target="0 per quarter"),
            effort="medium",
            score=Score(model="impact-math", value=4.5, explanation="frequency medium × impact high ÷ effort medium"),
        )
        for i in range(actions)
    )
    return Retro(incident=incident, timeline=Timeline.from_events([deploy, signal]), factors=(factor,), actions=items)


def drafts_for(retro: Retro) -> list[TicketDraft]:
    return [
        TicketDraft(key=f"k-{action.id}", action=action, retro=retro, retro_url="https://retros.example.com/CHK-1042")
        for action in retro.actions
    ]


class FakeSleep:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


ClientFactory = Callable[..., LinearClient]


@pytest.fixture
def make_client(monkeypatch: pytest.MonkeyPatch, sleep: FakeSleep) -> ClientFactory:
    monkeypatch.setenv("LINEAR_API_KEY", TOKEN)

    def factory(extra: str = "") -> LinearClient:
        toml = (
            '[plugins.linear]\ntoken = "env:LINEAR_API_KEY"\nteam_id = "9cfb482a-81e3-4154-b5b9-2c805e70a02d"\n'
            f'label_ids = ["a1c2e3f4-0000-4000-8000-000000000001"]\nassignees = ["alice=2d3f4a5b-1111-4000-8000-00000000a11c"]\n{extra}'
        )
        config = make_config(toml, plugins=make_plugins(retroflow_linear, default_plugins=False))
        return LinearSink(sleep=sleep, clock=lambda: NOW).open(config)

    return factory


@pytest.fixture
def retro_with() -> Callable[[int], Retro]:
    """``retro_with(n)``: a retro with ``n`` actions (the first has an owner and a due date)."""
    return make_retro


@pytest.fixture
def drafts() -> Callable[[Retro], list[TicketDraft]]:
    """``drafts(retro)``: one draft per action, keyed ``k-<action id>``."""
    return drafts_for


@pytest.fixture
def token() -> str:
    return TOKEN
