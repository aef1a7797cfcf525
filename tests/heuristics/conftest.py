"""Helpers for the heuristic, review and scoring tests: build a retro through the engine
with the default plugins, and fail on any gap (the engine would otherwise hide a crash)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest

from retroflow.model import Event, Factor, Incident, PastActions, Retro
from retroflow.testing import build, make_event


def build_clean(
    events: Iterable[Event],
    *,
    incident: Incident | None = None,
    history: Iterable[Incident] = (),
    config: str = "",
    past_actions: PastActions | None = None,
) -> Retro:
    retro = build(list(events), incident=incident, history=history, config=config, past_actions=past_actions)
    assert retro.gaps == (), retro.gaps
    return retro


@pytest.fixture
def retro_of() -> Callable[..., Retro]:
    return build_clean


@pytest.fixture
def factors_of() -> Callable[..., dict[str, Factor]]:
    def factors_of(events: Iterable[Event], **kwargs: Any) -> dict[str, Factor]:
        return {factor.key: factor for factor in build_clean(events, **kwargs).factors}

    return factors_of


@pytest.fixture
def busy_events() -> list[Event]:
    """A timeline on which most default heuristics fire: more than five actions."""
    return [
        make_event("deploy", -5, service="checkout"),
        make_event("log", 0, service="checkout"),
        make_event("metric", 1, service="payments"),
        make_event("alert", 15, service="checkout", details={"monitor": "m"}),
        make_event("page", 16, actor="bob", service="checkout"),
        make_event("ack", 40, actor="bob"),
        make_event("mitigation", 90),
    ]
