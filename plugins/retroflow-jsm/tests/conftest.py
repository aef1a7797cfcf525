"""Shared fixtures: the token in the environment, configs, replies from the fixture files."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

from retroflow_jsm import JsmSource

from retroflow.testing import environment_fixture, json_fixtures, make_source

FIXTURES = Path(__file__).parent / "fixtures"
TOKEN = "atlassian-api-token-0123456789abcdef"
GENIE_KEY = "eb243592-faa2-4ba2-a551-1afdf565c889"
CLOUD_ID = "a436116f-02ce-4520-8fbb-7301462a1674"
JSM_LIVE = f'[plugins.jsm]\ncloud_id = "{CLOUD_ID}"\nemail = "retro@acme.com"\ntoken = "env:JSM_TOKEN"\n'
OPSGENIE_LIVE = '[plugins.jsm]\napi = "opsgenie"\ntoken = "env:OPSGENIE_KEY"\n'
JSM_ALERTS = f"https://api.atlassian.com/jsm/ops/api/{CLOUD_ID}/v1/alerts"
OPSGENIE_ALERTS = "https://api.opsgenie.com/v2/alerts"
fixture = json_fixtures(FIXTURES)
#: The source on a test session; its clock says retroflow.testing.NOW, long after the test alerts.
source = partial(make_source, JsmSource)


secrets = environment_fixture(JSM_TOKEN=TOKEN, OPSGENIE_KEY=GENIE_KEY)


def save(directory: Path, files: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, body in files.items():
        (directory / name).write_text(json.dumps(body), encoding="utf-8")
    return directory
