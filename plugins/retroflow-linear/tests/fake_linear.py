"""Linear's GraphQL API faked with ``responses`` for retroflow's sink contract suite
(reply shapes from Linear's schema, see ``spec/PROVENANCE.md``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import responses
from retroflow_linear import LinearSink

from retroflow.testing.sink_contract import NOW, SinkUnderTest

__all__ = ["GRAPHQL", "TOKEN", "FakeLinear", "created", "graphql_error", "linear_sink", "node", "nodes"]

GRAPHQL = "https://api.linear.app/graphql"
#: A distinctive fake key: it must never appear in an error message or a log line.
TOKEN = "lin_api_FAKE0fake0linear0key0c4d1"


def created(n: int) -> dict[str, Any]:
    issue = {
        "id": f"00000000-0000-4000-8000-{n:012d}",
        "identifier": f"OPS-{n}",
        "url": f"https://linear.app/acme/issue/OPS-{n}",
    }
    return {"data": {"issueCreate": {"success": True, "issue": issue}}}


def nodes(*issues: dict[str, Any], has_next: bool = False, cursor: str | None = None) -> dict[str, Any]:
    return {"data": {"issues": {"nodes": list(issues), "pageInfo": {"hasNextPage": has_next, "endCursor": cursor}}}}


def node(n: int | str, kind: str, **fields: Any) -> dict[str, Any]:
    """An issue node in workflow state ``kind``; ``n`` a number (id ``id-<n>``) or an id."""
    return {
        "id": n if isinstance(n, str) else f"id-{n}",
        "identifier": f"OPS-{n}",
        "url": f"https://linear.app/acme/issue/OPS-{n}",
        "createdAt": "2026-11-03T10:00:00.000Z",
        "updatedAt": "2026-11-21T10:00:00.000Z",
        "startedAt": None,
        "completedAt": None,
        "canceledAt": None,
        "trashed": None,
        "state": {"type": kind, "name": kind.title()},
        **fields,
    }


def graphql_error(message: str, code: str, status: int = 400) -> dict[str, Any]:
    return {
        "errors": [
            {
                "message": message,
                "extensions": {"type": "invalid input", "code": code, "statusCode": status, "userError": True},
            }
        ],
        "data": None,
    }


TOKEN_KEY = "[plugins.linear] token"
RATE_LIMITED = graphql_error("Rate limit exceeded", "RATELIMITED")
_RESET = str(int((NOW + timedelta(seconds=20)).timestamp() * 1000))
_KINDS = {"open": "unstarted", "in progress": "started", "done": "completed", "won't do": "canceled"}


class FakeLinear:
    """One workspace; created issues are numbered from 1."""

    def __init__(self) -> None:
        self._next = 1

    def accept_creates(self, mocked: responses.RequestsMock, count: int) -> list[str]:
        replies = [created(n) for n in range(self._next, self._next + count)]
        self._next += count
        for reply in replies:
            mocked.post(GRAPHQL, json=reply)
        return [reply["data"]["issueCreate"]["issue"]["id"] for reply in replies]

    def answer_create(self, mocked: responses.RequestsMock, **reply: Any) -> None:
        mocked.add(responses.POST, GRAPHQL, **reply)

    def accept_creates_but_reject(self, mocked: responses.RequestsMock, count: int, rejected: int) -> str:
        for index in range(count):
            if index == rejected:
                mocked.post(GRAPHQL, json=graphql_error("Argument Validation Error", "INVALID_INPUT"))
                mocked.post(GRAPHQL, json=nodes())  # the sink looks the id up: no issue, a real failure
            else:
                self.accept_creates(mocked, 1)
        return "Argument Validation Error"

    def serve_lookup(self, mocked: responses.RequestsMock, key: str, external_id: str | None) -> None:
        found = [] if external_id is None else [node(external_id, "unstarted")]
        mocked.post(GRAPHQL, json=nodes(*found))

    def serve_states(self, mocked: responses.RequestsMock, states: Mapping[str, str]) -> None:
        known = [node(issue_id, _KINDS[state]) for issue_id, state in states.items() if state != "missing"]
        mocked.post(GRAPHQL, json=nodes(*known))


def linear_sink() -> SinkUnderTest:
    return SinkUnderTest(
        required="token and team_id",
        table=lambda: (
            '[plugins.linear]\ntoken = "env:LINEAR_API_KEY"\nteam_id = "9cfb482a-81e3-4154-b5b9-2c805e70a02d"\n'
            'label_ids = ["a1c2e3f4-0000-4000-8000-000000000001"]\n'
            'assignees = ["alice=2d3f4a5b-1111-4000-8000-00000000a11c"]\n'
        ),
        secret=TOKEN,
        secret_env="LINEAR_API_KEY",
        sink=LinearSink,
        fake=FakeLinear(),
        refusals=(
            ({"status": 400, "json": graphql_error("Not authenticated", "AUTHENTICATION_ERROR", 401)}, (TOKEN_KEY,)),
            ({"status": 403, "json": graphql_error("Forbidden", "FORBIDDEN", 403)}, (TOKEN_KEY, "Forbidden")),
        ),
        # Linear says RATELIMITED in a 400's body, with the reset in epoch milliseconds.
        rate_limits=(({"status": 400, "json": RATE_LIMITED, "headers": {"X-RateLimit-Requests-Reset": _RESET}}, 20.0),),
    )
