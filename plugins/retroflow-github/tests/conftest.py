"""Fixtures: a retro with actions, drafts, and a GitHub client on a fake API
(the retro and drafts come from ``retroflow.testing``'s sink kit)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
import responses
import retroflow_github
from retroflow_github import GitHubClient, GitHubSink

from retroflow import Retro, TicketDraft
from retroflow.testing import RecordingSleep, make_config, make_drafts, make_plugins, make_retro_for_export

#: A distinctive fake token: it must never appear in an error message or a log line.
TOKEN = "github_pat_11FAKE0fake0github0token0e7c"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


ClientFactory = Callable[..., GitHubClient]


@pytest.fixture
def make_client(monkeypatch: pytest.MonkeyPatch, sleep: RecordingSleep) -> ClientFactory:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)

    def factory(extra: str = "") -> GitHubClient:
        toml = (
            '[plugins.github]\nrepo = "acme/shop"\ntoken = "env:GITHUB_TOKEN"\n'
            f'labels = ["incident-followup"]\nassignees = ["alice=alice-gh"]\n{extra}'
        )
        config = make_config(toml, plugins=make_plugins(retroflow_github, default_plugins=False))
        return GitHubSink(sleep=sleep, clock=lambda: NOW).open(config)

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
