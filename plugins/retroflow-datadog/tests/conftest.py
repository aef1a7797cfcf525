"""Shared fixtures: keys in the environment, a config, replies from the fixture files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from retroflow_datadog import DatadogSource

FIXTURES = Path(__file__).parent / "fixtures"
API_KEY = "dd-api-key-0123456789abcdef"
APP_KEY = "dd-app-key-fedcba9876543210"
#: "now" for the source: long after the test incidents.
NOW = datetime(2026, 11, 3, tzinfo=UTC)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DD_API_KEY", API_KEY)
    monkeypatch.setenv("DD_APP_KEY", APP_KEY)


def source(session: requests.Session | None = None, sleep: Any = None) -> DatadogSource:
    return DatadogSource(session=session, sleep=sleep or (lambda s: None), now=lambda: NOW)


LIVE = '[plugins.datadog]\napi_key = "env:DD_API_KEY"\napp_key = "env:DD_APP_KEY"\n'
