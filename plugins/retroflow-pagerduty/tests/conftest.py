"""Shared fixtures: PagerDuty's published payloads, a fake API around them, a config."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from retroflow_pagerduty import PagerDutySource
from retroflow_pagerduty.testing import FakePagerDuty

from retroflow import Config
from retroflow.testing import make_config, make_plugins

FIXTURES = Path(__file__).parent / "fixtures"
TOKEN = "test-token-0123456789"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class Sleeps(list[float]):
    """A ``sleep`` that records how long it was asked to wait, and returns at once."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture(autouse=True)
def token_env(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PAGERDUTY_TOKEN", TOKEN)
    return TOKEN


def spec_incident() -> dict[str, Any]:
    """The spec's incident PT4KHLK (#1234), verbatim."""
    return dict(load("pd_incident.spec.json"))


def published_log_entries(*, verbatim: bool = False) -> list[dict[str, Any]]:
    """Every published log entry: the spec's trigger, and the developer docs' four. The
    docs' four are of their own incident (PRORDTY); unless ``verbatim``, they are given as
    the spec incident's (PT4KHLK), so that one incident has them all."""
    entries = list(load("pd_incident_log_entries.spec.json")["log_entries"])
    docs = list(load("pd_log_entries_all.devdocs_v2webhook.json").values())
    if not verbatim:
        docs = [{**entry, "incident": {**entry["incident"], "id": "PT4KHLK"}} for entry in docs]
    return entries + docs


def fake_account(**kwargs: Any) -> FakePagerDuty:
    """The spec's incident with every published log entry, alert and note."""
    incident = spec_incident()
    return FakePagerDuty(
        [incident],
        log_entries={incident["id"]: published_log_entries()},
        alerts={incident["id"]: load("pd_incident_alerts.spec.json")["alerts"]},
        notes={incident["id"]: load("pd_incident_notes.spec.json")["notes"]},
        token=TOKEN,
        **kwargs,
    )


def many(template: dict[str, Any], count: int, start: datetime, prefix: str) -> list[dict[str, Any]]:
    """``count`` copies of a published record with their own ids and times."""
    records = []
    for n in range(count):
        record = copy.deepcopy(template)
        record["id"] = f"{prefix}{n:06d}"
        record["created_at"] = (start + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
        records.append(record)
    return records


def big_account(log_entries: int, alerts: int, notes: int = 2, **kwargs: Any) -> FakePagerDuty:
    incident = spec_incident()
    if log_entries:  # the incident's first trigger is the first of the log entries made here
        incident["first_trigger_log_entry"] = {**incident["first_trigger_log_entry"], "id": "QLOG000000"}
    start = datetime(2015, 10, 6, 21, 30, 42, tzinfo=UTC)
    entry = load("pd_incident_log_entries.spec.json")["log_entries"][0]
    alert = load("pd_incident_alerts.spec.json")["alerts"][0]
    note = load("pd_incident_notes.spec.json")["notes"][0]
    return FakePagerDuty(
        [incident],
        log_entries={incident["id"]: many(entry, log_entries, start, "QLOG")},
        alerts={incident["id"]: many(alert, alerts, start, "PALR")},
        notes={incident["id"]: many(note, notes, start, "PNOT")},
        token=TOKEN,
        **kwargs,
    )


SETTINGS = """
[plugins.pagerduty]
token = "env:PAGERDUTY_TOKEN"
history_days = 0
"""


@pytest.fixture
def source_for(sleeps: Sleeps) -> Callable[..., tuple[PagerDutySource, Config]]:
    """``source_for(fake, toml=SETTINGS)``: a plugin on the fake API and its config."""

    def make(fake: FakePagerDuty, toml: str = SETTINGS) -> tuple[PagerDutySource, Config]:
        source = PagerDutySource(transport=fake.transport, sleep=sleeps)
        config = make_config(toml, plugins=make_plugins(source, default_plugins=False), base_dir=FIXTURES)
        return source, config

    return make
