"""Shared fixtures: keys in the environment, a config, replies from the fixture files."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from retroflow_datadog import DatadogSource

from retroflow.testing import environment_fixture, json_fixtures, make_source

FIXTURES = Path(__file__).parent / "fixtures"
API_KEY = "dd-api-key-0123456789abcdef"
APP_KEY = "dd-app-key-fedcba9876543210"
fixture = json_fixtures(FIXTURES)
#: The source on a test session; its clock says retroflow.testing.NOW, long after the test incidents.
source = partial(make_source, DatadogSource)
keys = environment_fixture(DD_API_KEY=API_KEY, DD_APP_KEY=APP_KEY)
LIVE = '[plugins.datadog]\napi_key = "env:DD_API_KEY"\napp_key = "env:DD_APP_KEY"\n'
