"""Every request the plugin makes is an operation of PagerDuty's official spec.

``fixtures/spec_operations.json`` is an extract of ``REST_openapiv3.json`` (see
``fixtures/PROVENANCE.md``): method, path template, and the query parameters with their
types and enums. The plugin's requests, in every mode it has, are checked against it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from retroflow import RetroRequest


def _operations(kit):
    operations = []
    for op in kit.load("spec_operations.json")["operations"]:
        pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", op["path"]) + "$")
        operations.append((op["method"], pattern, op))
    return operations


def check_request(operations, request) -> str:
    """The operationId ``request`` is an instance of; fails naming what does not fit."""
    matches = [op for method, pattern, op in operations if method == request.method and pattern.match(request.url.path)]
    assert matches, f"{request.method} {request.url.path} is not an operation of the spec extract"
    op = max(matches, key=lambda o: len(o["path"]))  # the most specific template
    params = request.url.params
    for name in params:
        assert name in op["query"], f"{op['operationId']}: query parameter {name!r} is not in the spec"
        declared = op["query"][name]
        for value in params.get_list(name):
            if "enum" in declared:
                assert value in declared["enum"], f"{op['operationId']}: {name}={value!r} not in {declared['enum']}"
            if declared["type"] == "integer":
                assert value.isdigit(), f"{op['operationId']}: {name}={value!r} is not an integer"
            if declared["type"] == "boolean":
                assert value in ("true", "false"), f"{op['operationId']}: {name}={value!r} is not a boolean"
        if declared["type"] != "array" and not name.endswith("[]"):
            assert len(params.get_list(name)) == 1, f"{op['operationId']}: {name} given more than once"
    if "limit" in params:
        assert int(params["limit"]) <= 100, "the API serves at most 100 per page"
        assert int(params.get("offset", 0)) + int(params["limit"]) <= 10_000, "offset+limit must be ≤ 10000"
    return str(op["operationId"])


def test_the_extract_holds_the_five_operations_the_plugin_uses(kit):
    ids = {op["operationId"] for op in kit.load("spec_operations.json")["operations"]}
    assert ids == {"listIncidents", "getIncident", "listIncidentLogEntries", "listIncidentAlerts", "listIncidentNotes"}


@pytest.mark.parametrize("ref", ["PT4KHLK", "1234", "https://subdomain.pagerduty.com/incidents/PT4KHLK"])
def test_every_request_of_a_retro_is_an_operation_of_the_spec(kit, source_for, ref):
    fake = kit.big_account(250, 130)
    created = datetime(2015, 10, 6, 21, 30, 42, tzinfo=UTC)
    past = kit.spec_incident()
    past.update(id="PPAST1", incident_number=7, created_at=(created - timedelta(days=3)).isoformat())
    fake.incidents.append(past)
    source, config = source_for(fake, kit.SETTINGS.replace("history_days = 0", "history_days = 365"))
    result = source.retroflow_timeline_source(RetroRequest(ref), config)
    assert [i.id for i in result.history] == ["PPAST1"]
    operations = _operations(kit)
    used = [check_request(operations, request) for request in fake.requests]
    assert set(used) == {
        "listIncidents",
        "getIncident",
        "listIncidentLogEntries",
        "listIncidentAlerts",
        "listIncidentNotes",
    }
    assert all(request.method == "GET" for request in fake.requests)


def test_the_incident_is_asked_with_the_useful_includes(kit, source_for):
    fake = kit.fake_account()
    source, config = source_for(fake)
    source.retroflow_timeline_source(RetroRequest("PT4KHLK"), config)
    (incident_request,) = [r for r in fake.requests if r.url.path == "/incidents/PT4KHLK"]
    assert set(incident_request.url.params.get_list("include[]")) >= {
        "assignees",
        "acknowledgers",
        "escalation_policies",
        "priorities",
        "services",
        "teams",
        "first_trigger_log_entries",
        "conference_bridge",  # the bridge the responders talked on, for the retro's links
    }


def test_the_check_catches_a_parameter_the_spec_does_not_have(kit):
    import httpx2

    bad = httpx2.Request("GET", "https://api.pagerduty.com/incidents/P1/notes?limit=100")
    with pytest.raises(AssertionError, match="limit"):
        check_request(_operations(kit), bad)
    bad = httpx2.Request("GET", "https://api.pagerduty.com/incidents/P1/log_entries?include[]=users")
    with pytest.raises(AssertionError, match="users"):
        check_request(_operations(kit), bad)
