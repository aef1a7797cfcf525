"""The Jira sink's behaviour against a Jira site faked with ``responses``.

Reply bodies follow the examples and schemas of Atlassian's OpenAPI document (see
``spec/PROVENANCE.md``); ``test_contract.py`` checks the requests against it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

import attrs
import pytest
import requests
import responses
import retroflow_jira
import structlog
from retroflow_jira import JiraSink

from retroflow import ConfigError, TicketRef, TrackerError
from retroflow.testing import make_config, make_plugins
from retroflow.testing.sink_contract import refused_connection

from .fake_jira import API, BULK, SEARCH, SITE, bulk_reply, issue


def sent_bodies(mocked: responses.RequestsMock, url: str) -> list[dict[str, Any]]:
    return [json.loads(call.request.body) for call in mocked.calls if call.request.url.split("?")[0] == url]


# --- plugin and settings -------------------------------------------------------------------


def test_the_sink_batches_50_and_waits_out_the_search_lag() -> None:
    sink = make_plugins(retroflow_jira, default_plugins=False).tracker_sinks.get("jira")
    assert sink.max_batch == 50
    assert sink.search_lag > 0


def test_cloud_without_email_names_the_email_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIRA_TOKEN", "x" * 12)
    config = make_config(
        f'[plugins.jira]\nurl = "{SITE}"\nproject = "OPS"\ntoken = "env:JIRA_TOKEN"\n',
        plugins=make_plugins(retroflow_jira, default_plugins=False),
    )
    with pytest.raises(ConfigError, match=r"\[plugins\.jira\] email: required"):
        JiraSink().open(config)


def test_a_malformed_assignee_entry_names_its_index(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIRA_TOKEN", "x" * 12)
    config = make_config(
        f'[plugins.jira]\nurl = "{SITE}"\nproject = "OPS"\ntoken = "env:JIRA_TOKEN"\nemail = "a@b.c"\n'
        'assignees = ["alice"]\n',
        plugins=make_plugins(retroflow_jira, default_plugins=False),
    )
    with pytest.raises(ConfigError, match=r"\[plugins\.jira\] assignees\[0\]: expected \"owner=accountId\""):
        JiraSink().open(config)


# --- what a ticket says ----------------------------------------------------------------------


def test_preview_is_exactly_the_body_create_sends(
    make_client: Any, retro_with: Any, drafts: Any, mocked: responses.RequestsMock
) -> None:
    client = make_client()
    draft = drafts(retro_with(1))[0]
    mocked.post(BULK, json=bulk_reply(0, 1), status=201)
    mocked.post(f"{API}/issue/10000/remotelink", json={"id": 1, "self": "x"}, status=201)

    client.create([draft])

    assert sent_bodies(mocked, BULK) == [client.preview(draft)]


def test_the_ticket_carries_everything_the_action_says(make_client: Any, retro_with: Any, drafts: Any) -> None:
    draft = drafts(retro_with(1))[0]
    fields = make_client().preview(draft)["issueUpdates"][0]["fields"]

    assert fields["project"] == {"key": "OPS"}
    assert fields["issuetype"] == {"name": "Task"}
    assert fields["summary"] == "Gate deploys of checkout on a canary check #0"
    assert fields["labels"] == ["retroflow", "retroflow-k-act000"]
    assert fields["priority"] == {"name": "High"}  # score 4.5
    assert fields["assignee"] == {"accountId": "5b10ac8d82e05b22cc7d4ef5"}
    assert fields["duedate"] == "2026-12-15"
    text = fields["description"]
    for expected in (
        "Deploy to a canary first",  # the change
        "A change to checkout shortly before the first signal",  # the factor
        "2026-11-02T13:54:00Z — Deploy checkout v2.14.0",  # its evidence, with time
        "bad deploys reaching all traffic on checkout: target 0 per quarter",  # how to verify
        "Score 4.5 (impact-math)",  # the score and why
        "[Incident CHK-1042: Checkout card payments failing|https://pd.example.com/incidents/CHK-1042]",
        "[Retrospective|https://retros.example.com/CHK-1042]",
        "k-act000",
    ):
        assert expected in text


@pytest.mark.parametrize(("value", "name"), [(9, "Highest"), (6, "Highest"), (3, "High"), (1.5, "Medium"), (1, "Low")])
def test_priority_follows_documented_score_thresholds(
    make_client: Any, retro_with: Any, drafts: Any, value: float, name: str
) -> None:
    draft = drafts(retro_with(1))[0]
    action = attrs.evolve(draft.action, score=attrs.evolve(draft.action.score, value=value))
    fields = make_client().preview(attrs.evolve(draft, action=action))["issueUpdates"][0]["fields"]
    assert fields["priority"] == {"name": name}


def test_long_evidence_lists_are_cut(make_client: Any, retro_with: Any, drafts: Any) -> None:
    retro = retro_with(1)
    many = attrs.evolve(retro.factors[0], evidence=tuple(f"otel:e{i}" for i in range(25)))
    draft = drafts(attrs.evolve(retro, factors=(many,)))[0]
    text = make_client().preview(draft)["issueUpdates"][0]["fields"]["description"]
    assert text.count("** evidence") == 10 and "** and 15 more events" in text


def test_server_assigns_by_user_name_and_can_leave_priority_out(make_client: Any, retro_with: Any, drafts: Any) -> None:
    client = make_client("priority = false\ndue_date = false\n", deployment="server")
    fields = client.preview(drafts(retro_with(1))[0])["issueUpdates"][0]["fields"]
    assert fields["assignee"] == {"name": "5b10ac8d82e05b22cc7d4ef5"}
    assert "priority" not in fields and "duedate" not in fields


# --- bulk create -----------------------------------------------------------------------------


def test_120_drafts_make_three_bulk_calls_of_at_most_50(
    make_client: Any, retro_with: Any, drafts: Any, mocked: responses.RequestsMock
) -> None:
    client = make_client("remote_link = false\n")
    batch = drafts(retro_with(120))
    for start, count in ((0, 50), (50, 50), (100, 20)):
        mocked.post(BULK, json=bulk_reply(start, count), status=201)

    refs = client.create(batch)

    assert [len(body["issueUpdates"]) for body in sent_bodies(mocked, BULK)] == [50, 50, 20]
    assert all(isinstance(ref, TicketRef) for ref in refs)
    assert [ref.key for ref in refs] == [d.key for d in batch]  # type: ignore[union-attr]
    assert refs[119] == TicketRef(sink="jira", external_id="10119", url=f"{SITE}/browse/OPS-120", key="k-act119")


def test_partial_bulk_failure_gives_a_result_per_item(
    make_client: Any, retro_with: Any, drafts: Any, mocked: responses.RequestsMock
) -> None:
    client = make_client("remote_link = false\n")
    mocked.post(BULK, json=bulk_reply(0, 3, failed={1: {"assignee": "User cannot be assigned issues."}}), status=201)

    first, second, third = client.create(drafts(retro_with(3)))

    assert isinstance(first, TicketRef) and first.external_id == "10000"
    assert isinstance(second, TrackerError) and not second.ambiguous
    assert "act001" in str(second) and "assignee: User cannot be assigned issues." in str(second)
    assert isinstance(third, TicketRef) and third.external_id == "10002"


def test_a_bulk_create_jira_refuses_entirely_fails_each_item(
    make_client: Any, retro_with: Any, drafts: Any, mocked: responses.RequestsMock
) -> None:
    body = bulk_reply(0, 2, failed={0: {"issuetype": "The issue type selected is invalid."}, 1: {"x": "bad"}})
    mocked.post(BULK, json=body, status=400)

    results = make_client().create(drafts(retro_with(2)))

    assert all(isinstance(r, TrackerError) and not r.ambiguous for r in results)
    assert "issuetype: The issue type selected is invalid." in str(results[0])


def test_a_failure_after_a_created_chunk_is_reported_per_item_not_raised(
    make_client: Any, retro_with: Any, drafts: Any, mocked: responses.RequestsMock
) -> None:
    client = make_client("remote_link = false\n")
    mocked.post(BULK, json=bulk_reply(0, 50), status=201)
    mocked.post(BULK, status=502)

    results = client.create(drafts(retro_with(120)))

    assert all(isinstance(r, TicketRef) for r in results[:50])
    assert all(isinstance(r, TrackerError) and r.ambiguous for r in results[50:100])  # may have been created
    assert all(isinstance(r, TrackerError) and not r.ambiguous for r in results[100:])  # never sent
    assert len(sent_bodies(mocked, BULK)) == 2


def test_an_ambiguous_item_keeps_a_later_certain_failure_per_item(
    make_client: Any, retro_with: Any, drafts: Any, mocked: responses.RequestsMock
) -> None:
    client = make_client("remote_link = false\n")
    # A 201 that lists no issue and no error: each issue may exist.
    mocked.post(BULK, json={"issues": [], "errors": []}, status=201)
    mocked.post(BULK, json={"errorMessages": ["No permission"]}, status=403)

    results = client.create(drafts(retro_with(60)))  # no raise: that would call them all certain

    assert all(isinstance(r, TrackerError) and r.ambiguous for r in results[:50])
    assert all(isinstance(r, TrackerError) and not r.ambiguous for r in results[50:])


def test_a_success_status_with_an_unreadable_body_is_ambiguous(
    make_client: Any, retro_with: Any, drafts: Any, mocked: responses.RequestsMock
) -> None:
    mocked.post(BULK, body="<html>proxy says ok</html>", status=201)

    with pytest.raises(TrackerError) as caught:
        make_client().create(drafts(retro_with(2)))

    assert caught.value.ambiguous


def test_remote_links_point_at_the_incident_and_the_retro(
    make_client: Any, retro_with: Any, drafts: Any, mocked: responses.RequestsMock
) -> None:
    mocked.post(BULK, json=bulk_reply(0, 1), status=201)
    link = mocked.post(f"{API}/issue/10000/remotelink", json={"id": 1, "self": "x"}, status=201)

    make_client().create(drafts(retro_with(1)))

    bodies = [json.loads(call.request.body) for call in link.calls]
    assert [b["object"]["url"] for b in bodies] == [
        "https://pd.example.com/incidents/CHK-1042",
        "https://retros.example.com/CHK-1042",
    ]
    assert bodies[0]["globalId"] == "retroflow:k-act000:incident"  # a repeat updates, never duplicates


def test_a_failed_remote_link_does_not_lose_the_created_ticket(
    make_client: Any, retro_with: Any, drafts: Any, mocked: responses.RequestsMock
) -> None:
    mocked.post(BULK, json=bulk_reply(0, 1), status=201)
    mocked.post(f"{API}/issue/10000/remotelink", json={"errorMessages": ["No permission"]}, status=403)

    with structlog.testing.capture_logs() as logs:
        (ref,) = make_client().create(drafts(retro_with(1)))

    assert isinstance(ref, TicketRef)
    assert any(entry["event"] == "jira remote link failed" for entry in logs)


# --- rate limits -----------------------------------------------------------------------------


def test_waiting_on_429s_is_bounded_in_total(
    make_client: Any, retro_with: Any, drafts: Any, mocked: responses.RequestsMock, sleep: Any
) -> None:
    for _ in range(5):
        mocked.post(BULK, status=429, headers={"Retry-After": "25"})

    with pytest.raises(TrackerError) as caught:
        make_client().create(drafts(retro_with(1)))

    assert sleep.calls == [25.0, 25.0]  # a third wait would pass the 60 s budget
    assert caught.value.retry_after == 25.0


# --- failures ------------------------------------------------------------------------------


# The transport failures every sink classifies alike are the sink contract's
# (tests/test_sink_contract.py); these are the bulk endpoint's own.
@pytest.mark.parametrize(
    ("reply", "ambiguous"),
    [({"status": 503}, True), ({"status": 400, "json": {"errorMessages": ["bad request"]}}, False)],
)
def test_failures_are_classified_ambiguous_or_certain(
    make_client: Any,
    retro_with: Any,
    drafts: Any,
    mocked: responses.RequestsMock,
    token: str,
    reply: dict[str, Any],
    ambiguous: bool,
) -> None:
    mocked.post(BULK, **reply)

    with pytest.raises(TrackerError) as caught:
        make_client().create(drafts(retro_with(1)))

    assert caught.value.ambiguous is ambiguous
    assert token not in str(caught.value)


@pytest.mark.parametrize(
    ("raised", "words"),
    [
        (refused_connection, "connection refused; the request did not reach Jira"),
        (lambda: requests.ReadTimeout("read timed out"), "read timeout; the request may have reached Jira"),
        (lambda: requests.ConnectionError("Connection aborted"), "connection lost; the request may have reached Jira"),
    ],
)
def test_transport_failures_say_what_happened(
    make_client: Any, retro_with: Any, drafts: Any, mocked: responses.RequestsMock, raised: Any, words: str
) -> None:
    mocked.post(BULK, body=raised())

    with pytest.raises(TrackerError, match=words):
        make_client().create(drafts(retro_with(1)))


# --- find --------------------------------------------------------------------------------------


def test_find_searches_the_idempotency_label_through_search_jql(
    make_client: Any, mocked: responses.RequestsMock
) -> None:
    mocked.get(SEARCH, json={"isLast": True, "issues": [{"id": "10007", "key": "OPS-8", "fields": {}}]})

    ref = make_client().find("k-act000")

    assert ref == TicketRef(sink="jira", external_id="10007", url=f"{SITE}/browse/OPS-8", key="k-act000")
    query = parse_qs(urlparse(mocked.calls[0].request.url).query)
    assert query["jql"] == ['labels = "retroflow-k-act000" ORDER BY created ASC']


def test_a_search_answered_503_with_retry_after_is_retried(
    make_client: Any, mocked: responses.RequestsMock, sleep: Any
) -> None:
    mocked.get(SEARCH, status=503, headers={"Retry-After": "2"})
    mocked.get(SEARCH, json={"isLast": True, "issues": []})

    assert make_client().find("k-act000") is None
    assert sleep.calls == [2.0]


def test_a_bulk_create_answered_503_is_ambiguous_and_not_retried(
    make_client: Any, retro_with: Any, drafts: Any, mocked: responses.RequestsMock, sleep: Any
) -> None:
    mocked.post(BULK, status=503, headers={"Retry-After": "2"})

    with pytest.raises(TrackerError) as caught:
        make_client().create(drafts(retro_with(1)))

    assert caught.value.ambiguous and sleep.calls == [] and len(mocked.calls) == 1


def test_find_returns_none_when_jira_shows_no_ticket(make_client: Any, mocked: responses.RequestsMock) -> None:
    mocked.get(SEARCH, json={"isLast": True, "issues": []})
    assert make_client().find("k-missing") is None


def test_find_follows_next_page_tokens_and_keeps_the_oldest(make_client: Any, mocked: responses.RequestsMock) -> None:
    mocked.get(SEARCH, json={"issues": [{"id": "10007", "key": "OPS-8"}], "nextPageToken": "p2"})
    mocked.get(SEARCH, json={"isLast": True, "issues": [{"id": "10009", "key": "OPS-10"}]})

    ref = make_client().find("k-act000")

    assert ref is not None and ref.external_id == "10007"
    assert parse_qs(urlparse(mocked.calls[1].request.url).query)["nextPageToken"] == ["p2"]


def test_server_deployment_searches_with_start_at(make_client: Any, mocked: responses.RequestsMock, token: str) -> None:
    mocked.get(
        f"{API}/search", json={"startAt": 0, "maxResults": 10, "total": 1, "issues": [{"id": "7", "key": "O-1"}]}
    )

    ref = make_client(deployment="server").find("k-act000")

    assert ref is not None and ref.external_id == "7"
    assert mocked.calls[0].request.headers["Authorization"] == f"Bearer {token}"  # personal access token


# --- status --------------------------------------------------------------------------------------


def test_status_maps_status_categories_and_the_wont_do_resolution(
    make_client: Any, mocked: responses.RequestsMock
) -> None:
    mocked.get(
        SEARCH,
        json={
            "isLast": True,
            "issues": [
                issue("1", "new"),
                issue("2", "indeterminate"),
                issue("3", "done", "Done"),
                issue("4", "done", "Won't Do"),
            ],
        },
    )
    refs = [TicketRef(sink="jira", external_id=i) for i in ("4", "3", "2", "1", "5")]

    statuses = make_client().status(refs)

    assert [s.state for s in statuses] == ["won't do", "done", "in progress", "open", "missing"]
    assert [s.ref for s in statuses] == refs
    assert statuses[0].changed_at == datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    assert statuses[4].changed_at is None  # not visible any more
    query = parse_qs(urlparse(mocked.calls[0].request.url).query)
    assert query["reconcileIssues"] == ["4", "3", "2", "1", "5"]  # read-after-write for these ids
    assert query["jql"] == ["id in (4, 3, 2, 1, 5)"]
