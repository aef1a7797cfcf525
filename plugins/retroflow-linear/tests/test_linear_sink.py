"""The Linear sink's behaviour against a GraphQL API faked with ``responses``.

Replies have the shapes of the types in Linear's schema (see ``spec/PROVENANCE.md``);
``test_contract.py`` validates every query and its variables against the schema extract.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import responses

from retroflow import TicketRef, TrackerError
from retroflow.testing.sink_contract import refused_connection

from .fake_linear import GRAPHQL, created, graphql_error, node, nodes


def sent(call: Any) -> dict[str, Any]:
    return dict(json.loads(call.request.body))


# --- plugin and settings -------------------------------------------------------------------


def test_a_personal_key_is_sent_as_is_and_an_oauth_token_as_bearer(
    make_client: Any, mocked: responses.RequestsMock, token: str
) -> None:
    mocked.post(GRAPHQL, json=nodes())
    make_client().find("k")
    make_client('auth = "oauth"\n').find("k")
    assert [c.request.headers["Authorization"] for c in mocked.calls] == [token, f"Bearer {token}"]


# --- what an issue says --------------------------------------------------------------------


def test_the_issue_id_is_a_uuid_v4_derived_from_the_export_key(make_client: Any, retro_with: Any, drafts: Any) -> None:
    client = make_client()
    draft = drafts(retro_with(1))[0]
    first = client.preview(draft)["variables"]["input"]["id"]

    assert uuid.UUID(first).version == 4  # IssueCreateInput.id is documented as UUID v4
    assert make_client().preview(draft)["variables"]["input"]["id"] == first  # same key, same id, any run
    other = drafts(retro_with(2))[1]
    assert client.preview(other)["variables"]["input"]["id"] != first


def test_the_issue_carries_everything_the_action_says(make_client: Any, retro_with: Any, drafts: Any) -> None:
    data = make_client().preview(drafts(retro_with(1))[0])["variables"]["input"]

    assert data["teamId"] == "9cfb482a-81e3-4154-b5b9-2c805e70a02d"
    assert data["title"] == "Gate deploys of checkout on a canary check #0"
    assert data["labelIds"] == ["a1c2e3f4-0000-4000-8000-000000000001"]
    assert data["priority"] == 2  # score 4.5 → high
    assert data["assigneeId"] == "2d3f4a5b-1111-4000-8000-00000000a11c"
    assert data["dueDate"] == "2026-12-15"
    for expected in (
        "Deploy to a canary first",
        "**A change to checkout shortly before the first signal** (technical)",
        "2026-11-02T13:54:00Z — Deploy checkout v2.14.0",
        "bad deploys reaching all traffic on checkout: target 0 per quarter",
        "score 4.5 (impact-math)",
        "[Incident CHK-1042: Checkout card payments failing](<https://pd.example.com/incidents/CHK-1042>)",
        "[Retrospective](<https://retros.example.com/CHK-1042>)",
    ):
        assert expected in data["description"]


# --- create --------------------------------------------------------------------------------


def test_create_returns_refs_in_order(
    make_client: Any, retro_with: Any, drafts: Any, mocked: responses.RequestsMock
) -> None:
    for n in (1, 2, 3):
        mocked.post(GRAPHQL, json=created(n))

    refs = make_client().create(drafts(retro_with(3)))

    assert [r.url for r in refs] == [f"https://linear.app/acme/issue/OPS-{n}" for n in (1, 2, 3)]  # type: ignore[union-attr]
    assert [r.key for r in refs] == ["k-act000", "k-act001", "k-act002"]  # type: ignore[union-attr]


def test_a_retried_create_that_collides_returns_the_issue_made_before(
    make_client: Any, retro_with: Any, drafts: Any, mocked: responses.RequestsMock
) -> None:
    client = make_client()
    draft = drafts(retro_with(1))[0]
    issue_id = client.preview(draft)["variables"]["input"]["id"]
    mocked.post(GRAPHQL, json=graphql_error("Entity already exists", "INVALID_INPUT"))
    existing = {"id": issue_id, "identifier": "OPS-7", "url": "https://linear.app/acme/issue/OPS-7"}
    mocked.post(GRAPHQL, json=nodes(existing))

    (ref,) = client.create([draft])

    assert ref == TicketRef(sink="linear", external_id=issue_id, url=existing["url"], key="k-act000")
    assert sent(mocked.calls[1])["variables"] == {"id": issue_id}


def test_a_200_with_an_unreadable_body_is_ambiguous(
    make_client: Any, retro_with: Any, drafts: Any, mocked: responses.RequestsMock
) -> None:
    mocked.post(GRAPHQL, body="<html>ok</html>", status=200)

    first, second = make_client().create(drafts(retro_with(2)))

    assert isinstance(first, TrackerError) and first.ambiguous
    assert isinstance(second, TrackerError) and "not sent" in str(second)


def test_an_unknown_team_names_the_team_id_setting(
    make_client: Any, retro_with: Any, drafts: Any, mocked: responses.RequestsMock
) -> None:
    mocked.post(GRAPHQL, json=graphql_error("Entity not found: Team", "INVALID_INPUT"))
    mocked.post(GRAPHQL, json=nodes())

    (result,) = make_client().create(drafts(retro_with(1)))

    assert isinstance(result, TrackerError) and "[plugins.linear] team_id" in str(result)


# --- failures ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "ambiguous"),
    [
        ({"status": 500}, True),
        ({"status": 503, "json": {"errors": [{"message": "Service Unavailable"}]}}, True),
        ({"body": requests.ReadTimeout("read timed out")}, True),
        ({"body": requests.ConnectionError("Connection aborted: RemoteDisconnected")}, True),
        ({"body": requests.ConnectTimeout("connect timed out")}, False),
        ({"body": refused_connection()}, False),
    ],
)
def test_failures_are_classified_ambiguous_or_certain(
    make_client: Any,
    retro_with: Any,
    drafts: Any,
    mocked: responses.RequestsMock,
    reply: dict[str, Any],
    ambiguous: bool,
) -> None:
    mocked.post(GRAPHQL, **reply)

    try:
        first, second = make_client().create(drafts(retro_with(2)))
    except TrackerError as exc:  # a certain failure about the whole call is raised
        assert not ambiguous
        assert not exc.ambiguous
        return
    assert isinstance(first, TrackerError) and first.ambiguous is ambiguous
    assert isinstance(second, TrackerError) and not second.ambiguous and "not sent" in str(second)
    assert len(mocked.calls) == 1


# --- find ----------------------------------------------------------------------------------


def test_find_looks_the_derived_id_up(
    make_client: Any, mocked: responses.RequestsMock, retro_with: Any, drafts: Any
) -> None:
    client = make_client()
    issue_id = client.preview(drafts(retro_with(1))[0])["variables"]["input"]["id"]
    mocked.post(
        GRAPHQL, json=nodes({"id": issue_id, "identifier": "OPS-7", "url": "https://linear.app/acme/issue/OPS-7"})
    )
    mocked.post(GRAPHQL, json=nodes())

    assert client.find("k-act000") == TicketRef(
        sink="linear", external_id=issue_id, url="https://linear.app/acme/issue/OPS-7", key="k-act000"
    )
    assert client.find("k-missing") is None
    assert sent(mocked.calls[0])["variables"] == {"id": issue_id}


# --- status --------------------------------------------------------------------------------


def test_status_maps_workflow_state_types(make_client: Any, mocked: responses.RequestsMock) -> None:
    mocked.post(
        GRAPHQL,
        json=nodes(
            node(1, "backlog"),
            node(2, "unstarted"),
            node(3, "started", startedAt="2026-11-05T08:00:00.000Z"),
            has_next=True,
            cursor="c1",
        ),
    )
    mocked.post(
        GRAPHQL,
        json=nodes(
            node(4, "completed", startedAt="2026-11-05T08:00:00.000Z", completedAt="2026-11-20T09:30:00.000Z"),
            node(5, "canceled", canceledAt="2026-11-06T12:00:00.000Z"),
            node(6, "triage"),
            node(7, "duplicate", canceledAt="2026-11-07T12:00:00.000Z"),
        ),
    )
    refs = [TicketRef(sink="linear", external_id=f"id-{n}") for n in range(1, 9)]

    statuses = make_client().status(refs)

    assert [s.state for s in statuses] == [
        "open",
        "open",
        "in progress",
        "done",
        "won't do",
        "open",
        "won't do",
        "missing",  # id-8: not in any page of the answer
    ]
    assert [s.ref for s in statuses] == refs
    assert statuses[0].changed_at == datetime(2026, 11, 3, 10, 0, tzinfo=UTC)  # open since created
    assert statuses[2].changed_at == datetime(2026, 11, 5, 8, 0, tzinfo=UTC)
    assert statuses[3].changed_at == datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    assert statuses[4].changed_at == datetime(2026, 11, 6, 12, 0, tzinfo=UTC)
    assert statuses[7].changed_at is None  # not visible any more
    assert sent(mocked.calls[1])["variables"]["after"] == "c1"
    assert sent(mocked.calls[0])["variables"]["ids"] == [f"id-{n}" for n in range(1, 9)]
