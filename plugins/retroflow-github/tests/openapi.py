"""Checking requests and replies against an extract of GitHub's OpenAPI description."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import jsonschema

SPECS = Path(__file__).parent / "spec"


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


class Spec:
    """One extract (``spec/<name>.extract.json``)."""

    def __init__(self, name: str) -> None:
        self.doc = json.loads((SPECS / f"{name}.extract.json").read_text(encoding="utf-8"))

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        ref = node.get("$ref")
        if not ref:
            return node
        _, _, kind, name = ref.split("/", 3)
        return self.resolve(self.doc["components"][kind][name])

    def example(self, name: str) -> Any:
        return self.doc["components"]["examples"][name]["value"]

    def check(self, schema: dict[str, Any], instance: Any, what: str) -> None:
        root = {**json_schema(schema), "components": json_schema(self.doc["components"])}
        errors = sorted(jsonschema.Draft7Validator(root).iter_errors(instance), key=str)
        assert not errors, f"{what}: {errors[0].message} at {list(errors[0].absolute_path)}"

    def operation(self, method: str, url: str) -> dict[str, Any]:
        path = urlparse(url).path
        for template, operations in self.doc["paths"].items():
            pattern = "^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$"
            if re.match(pattern, path) and method.lower() in operations:
                return dict(operations[method.lower()])
        raise AssertionError(f"{method} {path} is not an operation of the spec extract")

    def check_call(self, method: str, url: str, body: Any, status: int, reply: Any) -> str:
        """The request is an operation with known, valid query parameters and a valid body,
        and a successful reply matches its schema. Returns the operation id."""
        op = self.operation(method, url)
        params = [self.resolve(p) for p in op.get("parameters", [])]
        known = {p["name"] for p in params if p["in"] == "query"}
        query = parse_qs(urlparse(url).query)
        assert set(query) <= known, f"{op['operationId']}: unknown query parameters {set(query) - known}"
        for param in params:
            if param["in"] == "query" and param["name"] in query:
                value: Any = query[param["name"]][0]
                if param["schema"].get("type") == "integer":
                    value = int(value)
                elif param["schema"].get("type") == "boolean":
                    value = {"true": True, "false": False}.get(value, value)
                self.check(param["schema"], value, f"{op['operationId']} ?{param['name']}")
        if body:
            schema = op["requestBody"]["content"]["application/json"]["schema"]
            self.check(schema, json.loads(body), f"{op['operationId']} request")
        if status < 300:
            answer = self.resolve(op["responses"][str(status)])
            self.check(answer["content"]["application/json"]["schema"], reply, f"{op['operationId']} reply")
        return str(op["operationId"])
