"""Shared fixtures: the key in the environment, a config, replies from the fixture files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from retroflow_honeycomb import HoneycombSource

FIXTURES = Path(__file__).parent / "fixtures"
API_KEY = "hcxik_01hqk4k4hyz0123456789abcdef"
NOW = datetime(2026, 11, 3, tzinfo=UTC)
LIVE = '[plugins.honeycomb]\napi_key = "env:HONEYCOMB_API_KEY"\n'


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HONEYCOMB_API_KEY", API_KEY)


def source(session: requests.Session | None = None, sleep: Any = None) -> HoneycombSource:
    return HoneycombSource(session=session, sleep=sleep or (lambda s: None), now=lambda: NOW)
