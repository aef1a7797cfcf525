"""Contract with Opsgenie's OpenAPI spec (an extract of ../shared/specs/opsgenie/): every
request the plugin sends is one the spec declares, and every field it reads is one the spec
defines."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
import responses
from retroflow_jsm.mapping import AlertContext, Skips, incident_of, timeline
from retroflow_jsm.replies import unwrap
from retroflow_jsm.settings import ServiceMap

from .conftest import OPSGENIE_ALERTS, OPSGENIE_LIVE, fixture
from .scenario import opsgenie_alert, opsgenie_logs, opsgenie_notes
from .test_source import DOCS_ID, collect, source

SPEC = fixture("opsgenie_spec_extract.json")


def _operation(path: str) -> dict[str, Any]:
    for operation in SPEC["operations"]:
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", operation["path"]) + "$"
        if re.match(pattern, path):
            return dict(operation)
    raise AssertionError(f"the spec has no GET {path}")


def check_request(url: str) -> None:
    parts = urlsplit(url)
    assert parts.netloc == SPEC["host"]
    declared = {p["name"]: p for p in _operation(parts.path)["parameters"] if p["in"] == "query"}
    for name, values in parse_qs(parts.query).items():
        assert name in declared, f"GET {parts.path}: {name} is not a parameter of the spec"
        parameter = declared[name]
        for value in values:
            if "enum" in parameter:
                assert value in parameter["enum"], f"{name}={value}: not one of {parameter['enum']}"
            if parameter.get("type") == "integer":
                assert parameter.get("minimum", 0) <= int(value) <= parameter.get("maximum", 10**9), name


@responses.activate
def test_every_request_is_one_the_spec_declares(tmp_path: Path) -> None:
    full = {"data": [{**opsgenie_logs()[5], "offset": f"o{i:03d}"} for i in range(100)]}
    responses.get(f"{OPSGENIE_ALERTS}/1791", json=fixture("og_alert.docs.json"))
    responses.get(f"{OPSGENIE_ALERTS}/{DOCS_ID}/logs", json=full)
    responses.get(f"{OPSGENIE_ALERTS}/{DOCS_ID}/logs", json=fixture("og_logs.docs.json"))
    responses.get(f"{OPSGENIE_ALERTS}/{DOCS_ID}/notes", json={"data": opsgenie_notes()})
    with requests.Session() as session:
        assert collect(source(session), OPSGENIE_LIVE, tmp_path, "#1791") is not None
    assert len(responses.calls) == 4  # alert (by tiny id), two pages of logs, notes
    for call in responses.calls:
        check_request(call.request.url)
    assert parse_qs(urlsplit(responses.calls[2].request.url).query)["offset"] == ["o099"]


def test_the_genie_key_goes_where_the_spec_says() -> None:
    assert SPEC["security"] == {"GenieKey": {"type": "apiKey", "name": "Authorization", "in": "header"}}


class Reads(dict[str, Any]):
    """A JSON object that records the keys read from it (and from the objects in it)."""

    def __init__(self, data: dict[str, Any], name: str, seen: set[tuple[str, str]]) -> None:
        super().__init__({k: _wrap(v, f"{name}.{k}", seen) for k, v in data.items()})
        self._name = name
        self._seen = seen

    def get(self, key: str, default: Any = None) -> Any:
        self._seen.add((self._name, key))
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self._seen.add((self._name, key))
        return super().__getitem__(key)


def _wrap(value: Any, name: str, seen: set[tuple[str, str]]) -> Any:
    if isinstance(value, dict):
        return Reads(value, name, seen)
    if isinstance(value, list):
        return [_wrap(v, f"{name}[]", seen) for v in value]
    return value


#: Where each object read sits in the spec's definitions.
DEFINITION_OF = {
    "alert": "Alert",
    "alert.integration": "AlertIntegration",
    "alert.report": "AlertReport",
    "alert.responders[]": "Responder",
    "log": "AlertLog",
    "note": "AlertNote",
}


def test_every_field_read_is_one_the_spec_defines() -> None:
    seen: set[tuple[str, str]] = set()
    alert = Reads({**unwrap(fixture("og_alert.docs.json")), **opsgenie_alert(), "details": {"service": "x"}},
                  "alert", seen)  # fmt: skip
    logs = [Reads(entry, "log", seen) for entry in opsgenie_logs()]
    notes = [Reads(note, "note", seen) for note in opsgenie_notes()]
    context = AlertContext.of(alert, ServiceMap())
    events = timeline(alert, logs, notes, context, Skips())
    incident_of(alert, events, context)
    read = {(name, key) for name, key in seen if not name.startswith("alert.details")}
    assert {name for name, _ in read} <= set(DEFINITION_OF)
    for name, key in sorted(read):
        assert key in SPEC["definitions"][DEFINITION_OF[name]], f"{name}.{key} is not in the spec"
    assert ("log", "offset") in read and ("alert", "report") in read  # the test reads what matters
