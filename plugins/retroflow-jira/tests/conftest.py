"""Fixtures: a retro with actions, drafts, and a Jira client on a fake site
(the retro and drafts come from ``retroflow.testing``'s sink kit)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
import responses
import retroflow_jira
from retroflow_jira import JiraClient, JiraSink

from retroflow import Retro, TicketDraft
from retroflow.testing import RecordingSleep, make_config, make_drafts, make_plugins, make_retro_for_export

SITE = "https://example.atlassian.net"
API = f"{SITE}/rest/api/2"
#: A distinctive fake token: it must never appear in an error message or a log line.
TOKEN = "ATATT3xFfGF0-fake-jira-token-5b1e"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


ClientFactory = Callable[..., JiraClient]


@pytest.fixture
def make_client(monkeypatch: pytest.MonkeyPatch, sleep: RecordingSleep) -> ClientFactory:
    monkeypatch.setenv("JIRA_TOKEN", TOKEN)

    def factory(extra: str = "", *, deployment: str = "cloud") -> JiraClient:
        email = 'email = "bot@example.com"\n' if deployment == "cloud" else ""
        toml = (
            f'[plugins.jira]\nurl = "{SITE}"\nproject = "OPS"\ntoken = "env:JIRA_TOKEN"\n{email}'
            f'deployment = "{deployment}"\nassignees = ["alice=5b10ac8d82e05b22cc7d4ef5"]\n{extra}'
        )
        config = make_config(toml, plugins=make_plugins(retroflow_jira, default_plugins=False))
        return JiraSink(sleep=sleep, clock=lambda: NOW).open(config)

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
