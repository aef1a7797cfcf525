"""Helpers for the ``github-deploys`` source's tests: replies built from the spec's own
examples (dates moved around the test incident), the incident, the config."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from retroflow_github.deploys import GitHubDeploySource

from retroflow import Config, Incident, Timeline
from retroflow.testing import T0, RecordingSleep, make_config, make_event, make_plugins

from .openapi import Spec

DEPLOYS_SPEC = Spec("github-deploys")
API = "https://api.github.com"
REPO = f"{API}/repos/acme/payments"
#: The incident: first signal at T0, resolved an hour later; the default window is the
#: 24 hours before T0 until T0 + 1 h.
SIGNAL = T0
RESOLVED = T0 + timedelta(hours=1)


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def minutes(offset: float) -> str:
    """The timestamp ``offset`` minutes from the first signal."""
    return stamp(SIGNAL + timedelta(minutes=offset))


def deployment(number: int, created: float, *, environment: str = "production", **fields: Any) -> dict[str, Any]:
    item = copy.deepcopy(DEPLOYS_SPEC.example("deployment-items")[0])
    item.update(
        id=number,
        created_at=minutes(created),
        updated_at=minutes(created),
        environment=environment,
        url=f"{REPO}/deployments/{number}",
        statuses_url=f"{REPO}/deployments/{number}/statuses",
        **fields,
    )
    return item


def status(number: int, state: str, created: float, **fields: Any) -> dict[str, Any]:
    item = copy.deepcopy(DEPLOYS_SPEC.example("deployment-status-items")[0])
    item.update(id=number, state=state, created_at=minutes(created), updated_at=minutes(created), **fields)
    return item


def release(number: int, tag: str, published: float | None, **fields: Any) -> dict[str, Any]:
    item = copy.deepcopy(DEPLOYS_SPEC.example("release-items")[0])
    created = published if published is not None else fields.pop("created", -60)
    item.update(
        id=number,
        tag_name=tag,
        name=tag,
        created_at=minutes(created - 5),
        published_at=minutes(published) if published is not None else None,
        draft=published is None,
        **fields,
    )
    return item


def run(number: int, created: float, *, updated: float, branch: str = "main", **fields: Any) -> dict[str, Any]:
    item = copy.deepcopy(DEPLOYS_SPEC.example("workflow-run-paginated")["workflow_runs"][0])
    item.update(
        id=number,
        name="Deploy",
        run_number=number,
        head_branch=branch,
        created_at=minutes(created),
        run_started_at=minutes(created),
        updated_at=minutes(updated),
        html_url=f"https://github.com/acme/payments/actions/runs/{number}",
        **fields,
    )
    return item


def runs_page(*runs: dict[str, Any]) -> dict[str, Any]:
    return {"total_count": len(runs), "workflow_runs": list(runs)}


def repository(default_branch: str = "main") -> dict[str, Any]:
    item = copy.deepcopy(DEPLOYS_SPEC.example("full-repository-default-response"))
    # The spec's own example lacks "language", which its schema requires (nullable).
    item.update(default_branch=default_branch, language=None)
    return item


def incident() -> Incident:
    return Incident(id="PAY-7", services=("payments-api",))


def timeline() -> Timeline:
    return Timeline.from_events(
        [
            make_event("alert", 0, service="payments-api", native_id="sig"),
            make_event("resolution", 60, native_id="res"),
        ]
    )


def source(sleep: RecordingSleep | None = None, clock: datetime = RESOLVED + timedelta(days=2)) -> GitHubDeploySource:
    return GitHubDeploySource(sleep=sleep or RecordingSleep(), clock=lambda: clock)


def config(
    repos: str = '{repo = "acme/payments", service = "payments-api", releases = false}',
    extra: str = 'token = "env:GITHUB_TOKEN"\n',
    base_dir: Path | None = None,
) -> Config:
    text = f"[plugins.github-deploys]\nrepos = [{repos}]\n{extra}"
    return make_config(text, plugins=make_plugins(GitHubDeploySource(), default_plugins=False), base_dir=base_dir)
