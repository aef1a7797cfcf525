"""Fixtures: a retro with actions, drafts, and a Linear client on a fake API
(the retro and drafts come from ``retroflow.testing``'s sink kit)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
import responses
import retroflow_linear
from retroflow_linear import LinearClient, LinearSink

from retroflow import Retro, TicketDraft
from retroflow.testing import RecordingSleep, make_config, make_drafts, make_plugins, make_retro_for_export

#: A distinctive fake token: it must never appear in an error message or a log line.
TOKEN = "lin_api_FAKE0fake0linear0key0c4d1"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


ClientFactory = Callable[..., LinearClient]


@pytest.fixture
def make_client(monkeypatch: pytest.MonkeyPatch, sleep: RecordingSleep) -> ClientFactory:
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
    return make_retro_for_export


@pytest.fixture
def drafts() -> Callable[[Retro], list[TicketDraft]]:
    """``drafts(retro)``: one draft per action, keyed ``k-<action id>``."""
    return make_drafts


@pytest.fixture
def token() -> str:
    return TOKEN
