"""Every request the sink makes is an operation of Atlassian's OpenAPI document.

The sink talks REST v2 (plain-text descriptions); v2 and v3 share their operations, paths
and parameters, and differ in rich-text fields only, so requests are checked against the v3
document with the version swapped. Request bodies and the fake replies the other tests use
are validated against the operation's schemas.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import jsonschema
import pytest
import responses

SPEC = json.loads((Path(__file__).parent / "spec" / "jira-platform-v3.extract.json").read_text(encoding="utf-8"))
SITE = "https://example.atlassian.net"
API = f"{SITE}/rest/api/2"


def operation(method: str, url: str) -> tuple[str, dict[str, Any]]:
    path = urlparse(url).path.replace("/rest/api/2/", "/rest/api/3/", 1)
    for template, operations in SPEC["paths"].items():
        pattern = "^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in operations:
            return template, operations[method.lower()]
    raise AssertionError(f"{method} {path} is not an operation of the spec extract")


def check_body(schema: dict[str, Any], body: Any) -> None:
    ref = schema.get("$ref", "")
    name = ref.rsplit("/", 1)[-1]
    component = {**SPEC["components"]["schemas"][name], "components": SPEC["components"]}
    errors = sorted(jsonschema.Draft4Validator(component).iter_errors(body), key=str)
    assert not errors, f"{name}: {errors[0].message}"


def test_every_request_of_a_full_export_is_a_spec_operation(
    make_client: Any, retro_with: Any, drafts: Any, mocked: responses.RequestsMock
) -> None:
    client = make_client()
    created = {"issues": [{"id": "10000", "key": "OPS-1", "self": f"{API}/issue/10000"}], "errors": []}
    mocked.post(f"{API}/issue/bulk", status=429, headers={"Retry-After": "1"})
    mocked.post(f"{API}/issue/bulk", json=created, status=201)
    mocked.post(f"{API}/issue/10000/remotelink", json={"id": 10000, "self": f"{API}/issue/OPS-1/remotelink/1"})
    found = {"isLast": True, "issues": [{"id": "10000", "key": "OPS-1", "fields": {"status": {"name": "Open"}}}]}
    mocked.get(f"{API}/search/jql", json=found)

    (ref,) = client.create(drafts(retro_with(1)))
    client.find("k-act000")
    client.status([ref])  # type: ignore[list-item]

    assert len(mocked.calls) == 6
    for call in mocked.calls:
        template, op = operation(call.request.method, call.request.url)
        known = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
        sent = set(parse_qs(urlparse(call.request.url).query))
        assert sent <= known, f"{template}: unknown query parameters {sent - known}"
        if call.request.body:
            schema = op["requestBody"]["content"]["application/json"]["schema"]
            check_body(schema, json.loads(call.request.body))
        if call.response.status_code < 300 and call.response.content:
            reply = op["responses"][str(call.response.status_code)]["content"]["application/json"]["schema"]
            check_body(reply, call.response.json())


@pytest.mark.parametrize("status", ["201", "400"])
def test_the_fake_bulk_replies_match_the_spec_examples(status: str) -> None:
    media = SPEC["paths"]["/rest/api/3/issue/bulk"]["post"]["responses"][status]["content"]["application/json"]
    example = json.loads(media["example"])
    check_body(media["schema"], example)
    assert {"issues", "errors"} <= set(example)
    for error in example["errors"]:
        assert {"failedElementNumber", "elementErrors", "status"} <= set(error)
