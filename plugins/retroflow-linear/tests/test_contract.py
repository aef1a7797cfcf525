"""Every request the sink makes is a valid GraphQL operation against an extract of Linear's
schema, and its variables coerce to the declared input types (so a misspelt field of
``IssueCreateInput`` fails here)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import responses
from graphql import OperationDefinitionNode, build_schema, parse, validate
from graphql.execution.values import get_variable_values

SCHEMA = build_schema((Path(__file__).parent / "spec" / "linear-issues.extract.graphql").read_text(encoding="utf-8"))
GRAPHQL = "https://api.linear.app/graphql"


def check_request(body: dict[str, Any]) -> str:
    document = parse(body["query"])
    errors = validate(SCHEMA, document)
    assert not errors, errors[0].message
    (operation,) = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    coerced = get_variable_values(SCHEMA, operation.variable_definitions, body.get("variables") or {})
    assert not isinstance(coerced, list), coerced[0].message if isinstance(coerced, list) else ""
    return operation.name.value if operation.name else ""


def test_every_request_of_a_full_export_is_valid_against_the_schema(
    make_client: Any, retro_with: Any, drafts: Any, mocked: responses.RequestsMock
) -> None:
    client = make_client()
    batch = drafts(retro_with(2))
    issue = {
        "id": client.preview(batch[0])["variables"]["input"]["id"],
        "identifier": "OPS-1",
        "url": "https://x/OPS-1",
    }
    mocked.post(GRAPHQL, json={"data": {"issueCreate": {"success": True, "issue": issue}}})
    mocked.post(GRAPHQL, json={"errors": [{"message": "already exists", "extensions": {"code": "INVALID_INPUT"}}]})
    mocked.post(GRAPHQL, json={"data": {"issues": {"nodes": [issue]}}})  # the collision's look-up
    mocked.post(GRAPHQL, json={"data": {"issues": {"nodes": [issue]}}})
    status = {**issue, "createdAt": "2026-11-03T10:00:00.000Z", "updatedAt": "2026-11-03T10:00:00.000Z"}
    status |= {"startedAt": None, "completedAt": None, "canceledAt": None, "trashed": None}
    status["state"] = {"type": "unstarted", "name": "Todo"}
    mocked.post(GRAPHQL, json={"data": {"issues": {"nodes": [status], "pageInfo": {"hasNextPage": False}}}})

    refs = client.create(batch)
    client.find(batch[0].key)
    client.status([refs[0]])  # type: ignore[list-item]

    operations = []
    for call in mocked.calls:
        assert call.request.method == "POST"
        assert urlparse(call.request.url).path == "/graphql"
        operations.append(check_request(json.loads(call.request.body)))
    assert operations == ["IssueCreate", "IssueCreate", "FindIssue", "FindIssue", "IssueStatus"]


def test_a_misspelt_input_field_would_fail_the_contract(make_client: Any, retro_with: Any, drafts: Any) -> None:
    body = make_client().preview(drafts(retro_with(1))[0])
    broken = {**body, "variables": {"input": {**body["variables"]["input"], "teamID": "x"}}}
    coerced = get_variable_values(
        SCHEMA,
        next(
            d for d in parse(broken["query"]).definitions if isinstance(d, OperationDefinitionNode)
        ).variable_definitions,
        broken["variables"],
    )
    assert isinstance(coerced, list) and "teamID" in coerced[0].message
