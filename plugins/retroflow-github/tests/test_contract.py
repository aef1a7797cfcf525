"""Every request the sink makes is an operation of GitHub's OpenAPI description, with known
query parameters and a body its schema accepts; the fake replies match the reply schemas."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import jsonschema
import responses

SPEC = json.loads((Path(__file__).parent / "spec" / "github-issues.extract.json").read_text(encoding="utf-8"))
API = "https://api.github.com"
ISSUES = f"{API}/repos/acme/shop/issues"


def json_schema(node: Any) -> Any:
    """OpenAPI 3.0 → JSON Schema: ``nullable: true`` becomes "or null"."""
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if not ref:
        return node
    _, _, kind, name = ref.split("/", 3)
    return resolve(SPEC["components"][kind][name])


def check(schema: dict[str, Any], instance: Any, what: str) -> None:
    root = {**json_schema(schema), "components": json_schema(SPEC["components"])}
    errors = sorted(jsonschema.Draft7Validator(root).iter_errors(instance), key=str)
    assert not errors, f"{what}: {errors[0].message} at {list(errors[0].absolute_path)}"


def operation(method: str, url: str) -> dict[str, Any]:
    path = urlparse(url).path
    for template, operations in SPEC["paths"].items():
        pattern = "^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in operations:
            return dict(operations[method.lower()])
    raise AssertionError(f"{method} {path} is not an operation of the spec extract")


def example_issue(number: int, body: str) -> dict[str, Any]:
    issue = copy.deepcopy(SPEC["components"]["examples"]["issue"]["value"])
    issue.pop("pull_request", None)
    issue.update(number=number, body=body, labels=[{"id": 1, "name": "retroflow", "color": "ededed"}])
    return issue


def test_every_request_of_a_full_export_is_a_spec_operation(
    make_client: Any, retro_with: Any, drafts: Any, mocked: responses.RequestsMock
) -> None:
    client = make_client()
    mocked.post(ISSUES, status=429, headers={"retry-after": "1"})
    mocked.post(ISSUES, json=example_issue(7, "<!-- retroflow:k-act000 -->"), status=201)
    page2 = f"{ISSUES}?labels=retroflow&state=all&per_page=100&page=2"
    mocked.get(ISSUES, json=[example_issue(3, "")], headers={"Link": f'<{page2}>; rel="next"'})
    mocked.get(page2, json=[example_issue(7, "<!-- retroflow:k-act000 -->")])
    mocked.get(f"{ISSUES}/7", json=example_issue(7, "<!-- retroflow:k-act000 -->"))

    (ref,) = client.create(drafts(retro_with(1)))
    assert client.find("k-act000") == ref
    client.status([ref])  # type: ignore[list-item]

    assert len(mocked.calls) == 5
    for call in mocked.calls:
        op = operation(call.request.method, call.request.url)
        params = [resolve(p) for p in op.get("parameters", [])]
        known = {p["name"] for p in params if p["in"] == "query"}
        query = parse_qs(urlparse(call.request.url).query)
        assert set(query) <= known, f"{op['operationId']}: unknown query parameters {set(query) - known}"
        for param in params:
            if param["in"] == "query" and param["name"] in query:
                value: Any = query[param["name"]][0]
                if param["schema"].get("type") == "integer":
                    value = int(value)
                check(param["schema"], value, f"{op['operationId']} ?{param['name']}")
        if call.request.body:
            schema = op["requestBody"]["content"]["application/json"]["schema"]
            check(schema, json.loads(call.request.body), f"{op['operationId']} request")
        if call.response.status_code < 300:
            reply = resolve(op["responses"][str(call.response.status_code)])
            check(reply["content"]["application/json"]["schema"], call.response.json(), f"{op['operationId']} reply")
