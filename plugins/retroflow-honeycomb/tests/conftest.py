"""Shared fixtures: the key in the environment, a config, replies from the fixture files."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from retroflow_honeycomb import HoneycombSource

from retroflow.testing import environment_fixture, json_fixtures, make_source

FIXTURES = Path(__file__).parent / "fixtures"
API_KEY = "hcxik_01hqk4k4hyz0123456789abcdef"
LIVE = '[plugins.honeycomb]\napi_key = "env:HONEYCOMB_API_KEY"\n'
fixture = json_fixtures(FIXTURES)
#: The source on a test session; its clock says retroflow.testing.NOW, long after the test incidents.
source = partial(make_source, HoneycombSource)


key = environment_fixture(HONEYCOMB_API_KEY=API_KEY)
