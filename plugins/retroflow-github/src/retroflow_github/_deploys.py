"""Reading deploy history from GitHub (or saved replies) and mapping it to ``change`` events.

Per repository, per retro:

* ``GET /repos/{repo}/deployments?environment=E&per_page=100`` for each environment, newest
  first, page by page until a page reaches past the window's start (deployments have no
  time filter), then ``GET …/deployments/{id}/statuses?per_page=100`` for each deployment
  created in the window;
* ``GET /repos/{repo}/releases?per_page=100``, the same way;
* for deploy workflows: ``GET /repos/{repo}`` (the default branch, unless ``branch`` is
  set) and ``GET …/actions/workflows/{workflow}/runs?branch=B&created=SINCE..UNTIL&per_page=100``.

Every list stops after ``max_pages`` pages; what that leaves out is a gap, said in words.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

import attrs
import requests

from retroflow import Event, EventKind, Gap, RetroflowError, SourceResult, parse_timestamp
from retroflow.http import json_or_none
from retroflow.sources import ChangeWindow as Window

from ._http import Access, GitHubHttp
from ._saved import SavedReplies
from .deploy_settings import DeployRepo, GitHubDeploySettings
from .deploys import TABLE

__all__ = ["SOURCE", "DeployHistory", "deployment_events", "release_event", "release_events", "run_events"]

#: ``Event.source`` of every event.
SOURCE = "github"
PAGE_SIZE = 100

_STATE_WORDS = {
    "in_progress": "started",
    "success": "succeeded",
    "failure": "failed",
    "error": "errored",
    "queued": "queued",
    "pending": "pending",
    "inactive": "made inactive",
}
_CONCLUSION_WORDS = {
    "success": "succeeded",
    "failure": "failed",
    "cancelled": "was cancelled",
    "timed_out": "timed out",
    "action_required": "waits for approval",
    "startup_failure": "failed to start",
}


class BadRecord(ValueError):
    """A record without a field the mapping needs (counted and skipped, never fatal)."""


@attrs.frozen
class _Limits:
    """The request settings :class:`GitHubHttp` reads (``timeout``: one request)."""

    timeout: float
    max_retry_wait: float
    max_retries: int


def _login(user: Any) -> str | None:
    login = user.get("login") if isinstance(user, Mapping) else None
    return str(login) if login else None


def _time(record: Mapping[str, Any], *keys: str) -> datetime:
    """The first of ``keys`` the record has, as aware UTC."""
    for key in keys:
        value = record.get(key)
        if isinstance(value, str) and value:
            try:
                return parse_timestamp(value)
            except ValueError:
                raise BadRecord(f"{key} {value!r} is not a timestamp") from None
    raise BadRecord(f"no {' or '.join(keys)}")


def _need(record: Mapping[str, Any], key: str) -> Any:
    value = record.get(key)
    if value is None or value == "":
        raise BadRecord(f"no {key}")
    return value


# --- mapping -------------------------------------------------------------------------------


def deployment_events(
    deployment: Mapping[str, Any], statuses: list[Any], repo: DeployRepo, window: Window, states: list[str]
) -> list[Event]:
    """A deployment's statuses in ``window`` whose state is one of ``states``; a deployment
    without any status is one event, when it was created."""
    number = _need(deployment, "id")
    sha = str(_need(deployment, "sha"))
    ref = str(deployment.get("ref") or sha[:7])
    environment = str(deployment.get("environment") or "")
    details = {
        "change": "deployment",
        "deployment_id": number,
        "environment": environment,
        "sha": sha,
        "ref": ref,
        "task": deployment.get("task"),
        "description": deployment.get("description") or "",
        "creator": _login(deployment.get("creator")),
    }
    target = f"{ref} ({sha[:7]})" if ref != sha else sha[:7]
    base = f"{repo.repo}/deployment/{number}"
    if not statuses:
        at = _time(deployment, "created_at")
        if at not in window:
            return []
        summary = f"{repo.service}: deploy of {target} to {environment} requested"
        return [_event(at, summary, base, repo, details["creator"], None, {**details, "state": "created"})]
    events = []
    for status in statuses:
        if not isinstance(status, Mapping):
            raise BadRecord("a status that is not an object")
        state = str(status.get("state") or "")
        at = _time(status, "created_at")
        if state not in states or at not in window:
            continue
        summary = f"{repo.service}: deploy of {target} to {environment} {_STATE_WORDS.get(state, state)}"
        link = status.get("log_url") or status.get("target_url") or status.get("environment_url") or None
        more = {"state": state, "status_creator": _login(status.get("creator"))}
        if status.get("description"):
            more["status_description"] = status["description"]
        native = f"{base}/status/{_need(status, 'id')}"
        events.append(_event(at, summary, native, repo, details["creator"], link, {**details, **more}))
    return events


def release_event(release: Mapping[str, Any], repo: DeployRepo, window: Window) -> Event | None:
    """A published release in ``window`` (drafts have not been published)."""
    if release.get("draft") or not release.get("published_at"):
        return None
    at = _time(release, "published_at")
    if at not in window:
        return None
    tag = str(_need(release, "tag_name"))
    name = str(release.get("name") or tag)
    pre = " (pre-release)" if release.get("prerelease") else ""
    summary = (
        f"{repo.service}: released {name}{pre}" if name == tag else f"{repo.service}: released {name} ({tag}){pre}"
    )
    details = {
        "change": "release",
        "release_id": _need(release, "id"),
        "tag": tag,
        "name": name,
        "prerelease": bool(release.get("prerelease")),
        "target": release.get("target_commitish"),
    }
    native = f"{repo.repo}/release/{details['release_id']}"
    return _event(at, summary, native, repo, _login(release.get("author")), release.get("html_url"), details)


def release_events(release: Mapping[str, Any], repo: DeployRepo, window: Window) -> list[Event]:
    event = release_event(release, repo, window)
    return [event] if event is not None else []


def run_events(run: Mapping[str, Any], repo: DeployRepo, window: Window) -> list[Event]:
    """A deploy workflow run's start and, once completed, its conclusion (each if in ``window``)."""
    number = _need(run, "id")
    attempt = run.get("run_attempt") or 1
    sha = str(run.get("head_sha") or "")
    name = str(run.get("name") or run.get("path") or "workflow")
    label = f"{name} #{run.get('run_number', '?')}"
    actor = _login(run.get("triggering_actor")) or _login(run.get("actor"))
    details = {
        "change": "workflow run",
        "workflow": name,
        "workflow_path": run.get("path"),
        "run_id": number,
        "run_number": run.get("run_number"),
        "attempt": attempt,
        "event": run.get("event"),
        "branch": run.get("head_branch"),
        "sha": sha,
        "title": run.get("display_title"),
    }
    base = f"{repo.repo}/run/{number}/{attempt}"
    link = run.get("html_url")
    events = []
    started = _time(run, "run_started_at", "created_at")
    if started in window:
        summary = f"{repo.service}: {label} started on {run.get('head_branch')} ({sha[:7]})"
        events.append(_event(started, summary, f"{base}/started", repo, actor, link, {**details, "status": "started"}))
    conclusion = run.get("conclusion")
    if run.get("status") == "completed" and conclusion:
        ended = _time(run, "updated_at")
        if ended in window:
            word = _CONCLUSION_WORDS.get(str(conclusion), str(conclusion))
            summary = f"{repo.service}: {label} {word} ({sha[:7]})"
            more = {"status": "completed", "conclusion": conclusion}
            events.append(_event(ended, summary, f"{base}/completed", repo, actor, link, {**details, **more}))
    return events


def _event(
    at: datetime, summary: str, native_id: str, repo: DeployRepo, actor: str | None, link: Any, details: dict[str, Any]
) -> Event:
    return Event(
        at=at,
        source=SOURCE,
        kind=EventKind.CHANGE,
        summary=summary,
        native_id=native_id,
        actor=actor,
        service=repo.service,
        link=str(link) if link else None,
        details={key: value for key, value in details.items() if value is not None},
    )


# --- reading -------------------------------------------------------------------------------


class DeployHistory:
    """The reads of one retro: every configured repository in one window."""

    def __init__(self, http: GitHubHttp, settings: GitHubDeploySettings) -> None:
        self._http = http
        self._settings = settings
        self._skipped: Counter[str] = Counter()
        self._first_problem: dict[str, str] = {}
        self._limits: list[str] = []

    @classmethod
    def open(
        cls,
        settings: GitHubDeploySettings,
        *,
        where: str,
        session: requests.Session | None,
        sleep: Callable[[float], None],
        clock: Callable[[], datetime],
    ) -> DeployHistory:
        """Live from the API, or from ``settings.replies`` (then no token is sent)."""
        session = session or requests.Session()
        token = settings.token
        if settings.replies is not None:
            session.mount(settings.api_url.rstrip("/") + "/", SavedReplies(settings.replies, settings.api_url))
            token = None
        access = Access(
            table=TABLE,
            where=where,
            needs="read access to deployments, contents and actions",
            repo_key="repos",
            gone="the API is disabled on",
        )
        limits = _Limits(settings.request_timeout, settings.max_retry_wait, settings.max_retries)
        http = GitHubHttp(
            settings.api_url, token=token, limits=limits, access=access, sleep=sleep, clock=clock, session=session
        )
        return cls(http, settings)

    def collect(self, window: Window) -> SourceResult:
        events: list[Event] = []
        gaps: list[Gap] = []
        for repo in self._settings.repos:
            parts: list[tuple[str, Callable[[DeployRepo, Window], list[Event]]]] = [("deployments", self._deployments)]
            if repo.releases:
                parts.append(("releases", self._releases))
            if repo.workflows:
                parts.append(("deploy workflow runs", self._runs))
            for part, read in parts:
                try:
                    events += read(repo, window)
                except RetroflowError as exc:
                    gaps.append(Gap(TABLE, "collect", "error", f"{repo.service} ({repo.repo}) {part}: {exc}"))
        gaps += [Gap(TABLE, "collect", "skipped", note) for note in self._limits]
        gaps += [
            Gap(TABLE, "collect", "skipped", f"{what}: {count} record(s) skipped ({self._first_problem[what]})", count)
            for what, count in sorted(self._skipped.items())
        ]
        if not events and not gaps:
            looked = ", ".join(
                f"{r.repo} ({', '.join(r.environments) or 'all environments'})" for r in self._settings.repos
            )
            gaps.append(
                Gap(TABLE, "collect", "skipped", f"no deployments, releases or deploy runs in {window} in {looked}")
            )
        return SourceResult(events=events, gaps=gaps)

    def _listed(
        self, url: str, what: str, repo: DeployRepo, window: Window, params: dict[str, Any]
    ) -> Iterator[Mapping[str, Any]]:
        """The items of a newest-first list, page by page; reading stops after the first
        page reaching past the window's start (by ``created_at``), or after ``max_pages``.
        The caller keeps what falls in the window by the time that matters to it."""
        pages = self._http.pages(url, what=what, repo=repo.repo, params={**params, "per_page": PAGE_SIZE})
        for number, (response, page) in enumerate(pages, start=1):
            items = page.get("workflow_runs") if isinstance(page, Mapping) else page
            if not isinstance(items, list):
                raise RetroflowError(f"GitHub answered {what} with HTTP {response.status_code} and no list")
            oldest = None
            for item in items:
                try:
                    created = _time(item, "created_at") if isinstance(item, Mapping) else None
                except BadRecord as exc:
                    self._skip(repo, what, str(exc))
                    continue
                if created is None:
                    self._skip(repo, what, "an item that is not an object")
                    continue
                oldest = created if oldest is None else min(oldest, created)
                yield item
            if oldest is not None and oldest < window.since:
                return
            if number >= self._settings.max_pages and response.links.get("next"):
                self._limits.append(
                    f"{repo.repo} {what}: stopped after {number} pages of {PAGE_SIZE} without reaching "
                    f"{window.since:%Y-%m-%d %H:%M} UTC; older ones are missing (raise max_pages)"
                )
                return

    def _skip(self, repo: DeployRepo, what: str, problem: str) -> None:
        key = f"{repo.repo} {what}"
        self._skipped[key] += 1
        self._first_problem.setdefault(key, problem)

    def _mapped(self, repo: DeployRepo, what: str, produce: Callable[..., list[Event]], *args: Any) -> list[Event]:
        """``produce(*args)``; a record it cannot read is counted and skipped."""
        try:
            return produce(*args)
        except BadRecord as exc:
            self._skip(repo, what, str(exc))
            return []

    def _deployments(self, repo: DeployRepo, window: Window) -> list[Event]:
        base = f"{self._http.api}/repos/{repo.repo}"
        events: list[Event] = []
        environments: list[str | None] = [*repo.environments] or [None]
        for environment in environments:
            params = {"environment": environment} if environment else {}
            what = f"deployments to {environment}" if environment else "deployments"
            for deployment in self._listed(f"{base}/deployments", what, repo, window, params):
                if environment and deployment.get("environment") != environment:
                    continue  # saved replies may hold every environment
                if _time(deployment, "created_at") not in window:
                    continue  # its statuses come after it: none can be in the window
                statuses = self._statuses(base, deployment, repo)
                events += self._mapped(
                    repo, what, deployment_events, deployment, statuses, repo, window, self._settings.states
                )
        return events

    def _statuses(self, base: str, deployment: Mapping[str, Any], repo: DeployRepo) -> list[Any]:
        url = f"{base}/deployments/{deployment.get('id')}/statuses"
        what = f"statuses of deployment {deployment.get('id')}"
        response = self._http.request("GET", url, what=what, repo=repo.repo, params={"per_page": PAGE_SIZE})
        page = json_or_none(response)
        if not isinstance(page, list):
            raise RetroflowError(f"GitHub answered {what} with HTTP {response.status_code} and no list")
        return page

    def _releases(self, repo: DeployRepo, window: Window) -> list[Event]:
        url = f"{self._http.api}/repos/{repo.repo}/releases"
        events = []
        for release in self._listed(url, "releases", repo, window, {}):
            # Listed by creation; what counts is when it was published (at or after that).
            events += self._mapped(repo, "releases", release_events, release, repo, window)
        return events

    def _runs(self, repo: DeployRepo, window: Window) -> list[Event]:
        branch = repo.branch or self._default_branch(repo)
        created = f"{window.since:%Y-%m-%dT%H:%M:%SZ}..{window.until:%Y-%m-%dT%H:%M:%SZ}"
        events = []
        for workflow in repo.workflows:
            url = f"{self._http.api}/repos/{repo.repo}/actions/workflows/{workflow}/runs"
            params = {"branch": branch, "created": created, "exclude_pull_requests": "true"}
            what = f"runs of {workflow}"
            for run in self._listed(url, what, repo, window, params):
                if run.get("head_branch") == branch:
                    events += self._mapped(repo, what, run_events, run, repo, window)
        return events

    def _default_branch(self, repo: DeployRepo) -> str:
        response = self._http.request(
            "GET", f"{self._http.api}/repos/{repo.repo}", what="read the repository", repo=repo.repo
        )
        data = json_or_none(response)
        branch = data.get("default_branch") if isinstance(data, Mapping) else None
        if not branch:
            raise RetroflowError(f"GitHub's reply for {repo.repo} names no default branch: set branch for it")
        return str(branch)
