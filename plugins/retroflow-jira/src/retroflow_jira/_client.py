"""The Jira client behind the sink: bulk create, find by idempotency label, status.

It builds a :class:`jira.JIRA` for authentication and session settings, with the
constructor's ``serverInfo`` call and the client's own retries turned off, and sends the few
REST v2 requests it needs through that client's session. Reasons: ``create_issues`` drops
Jira's per-item ``errorMessages`` and fails on a 400 that is not JSON,
``enhanced_search_issues`` fetches ``/field`` before every search, ``add_remote_link``
fetches ``/applicationlinks`` first, and the client's retry waits twice ``Retry-After``
(up to 60 s, with a real sleep) and crashes on a ``Retry-After`` given as an HTTP date.
Rate limits are handled here instead, bounded, with an injectable sleep.

Never put a :class:`jira.JIRAError` into a message: its ``str`` includes the request
headers, credentials included.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import requests
import structlog
from jira import JIRA, JIRAError
from jira.resilientsession import parse_error_msg

from retroflow import ConfigError, TicketDraft, TicketRef, TicketStatus, TrackerError
from retroflow.http import (
    RetryBudget,
    asked_or_backoff,
    error_text,
    json_or_none,
    looks_like_url,
    sending,
    transport_failure,
)
from retroflow.trackers import ClientBase, not_sent_after, parse_owner_map, statuses_in_order
from retroflow_jira import JiraSettings, JiraSink, _text

log = structlog.get_logger(__name__)

SINK = JiraSink.name
BULK_LIMIT = 50
#: Most ids Jira reconciles (read-after-write) in one search.
RECONCILE_LIMIT = 50
STATUS_FIELDS = "status,resolution,statuscategorychangedate,resolutiondate,updated"


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _jql_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _jql_id(value: str) -> str:
    """An issue id or key as JQL takes it: bare when it is one, quoted otherwise."""
    return value if re.fullmatch(r"\d+|[A-Za-z][A-Za-z0-9_]*-\d+", value) else _jql_string(value)


def _parse_jira_time(value: Any) -> datetime | None:
    """Jira times look like ``2026-11-02T14:00:00.000+0000``."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


class JiraClient(ClientBase[JiraSettings]):
    """A connection to one Jira site with validated settings (see :class:`JiraSettings`)."""

    def setup(self, session: None) -> None:
        settings, where = self.settings, self._where
        self._base = settings.url.rstrip("/")
        if not looks_like_url(self._base):
            raise ConfigError(f"{where} url: expected the site's base URL like https://example.atlassian.net")
        if not settings.project.strip():
            raise ConfigError(f"{where} project: expected a project key like OPS")
        self._cloud = settings.deployment == "cloud"
        if self._cloud and not settings.email:
            raise ConfigError(f'{where} email: required with deployment = "cloud" (the account of the API token)')
        self._assignees = parse_owner_map(settings.assignees, where, user="accountId")
        auth: dict[str, Any] = (
            {"basic_auth": settings.token.basic_auth(settings.email or "")}
            if self._cloud
            else {"token_auth": settings.token.reveal()}
        )
        self._jira = JIRA(
            server=self._base,
            options={"rest_api_version": "2"},
            get_server_info=False,
            max_retries=0,
            timeout=settings.timeout,
            **auth,
        )

    # --- requests ---------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return f"{self._base}/rest/api/2/{path}"

    def _request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        accept: tuple[int, ...] = (),
    ) -> tuple[int, Any]:
        """Send one request; wait out 429s within the budget; map failures to TrackerError.

        Returns the status and the decoded JSON (``None`` for an empty body). Statuses in
        ``accept`` are returned instead of raised.
        """
        budget = RetryBudget(self.settings, self._sleep)
        data = json.dumps(body) if body is not None else None
        while True:
            # Failures are raised outside the ``except`` blocks, so the library's exception
            # (whose ``str`` can carry request details) is not even the error's context.
            failed: requests.Response | None = None
            status: int | None = None
            transport: TrackerError | None = None
            try:
                response = self._jira._session.request(method, self._url(path), params=params, data=data)
            except JIRAError as exc:
                failed, status = exc.response, exc.status_code or 0
                if not status:
                    transport = TrackerError(f"Jira gave no usable answer ({what})", ambiguous=True)
            except requests.RequestException as exc:
                message, sent = transport_failure("Jira", exc, what, place=f"at {self._base}")
                transport = TrackerError(message, ambiguous=sent)
            if transport is not None:
                raise transport
            if status is None:
                return response.status_code, json_or_none(response)
            if failed is not None and status in accept:
                return status, json_or_none(failed)
            headers = failed.headers if failed is not None else {}
            # 429 always; 503 with Retry-After only for reads (a create may have gone through).
            if status == 429 or (status == 503 and headers.get("Retry-After") and method == "GET"):
                wait = asked_or_backoff(headers, budget.attempt, self._clock)
                budget.wait_out(wait, what, service="Jira", table=SINK, refuse=TrackerError, status=status)
                continue
            raise self._http_error(status, failed, what)

    def _http_error(self, status: int, response: requests.Response | None, what: str) -> TrackerError:
        message = _error_text(response)
        said = f": {message}" if message else ""
        where = self._where
        if status == 401:
            which = "email and token" if self._cloud else "token"
            return TrackerError(f"Jira rejected the credentials (HTTP 401, {what}){said}: check {where} {which}")
        if status == 403:
            return TrackerError(
                f"Jira denied {what} (HTTP 403){said}: the account of {where} token needs the "
                f"Browse and Create issues permissions in project {self.settings.project!r} ({where} project)"
            )
        if status == 404:
            return TrackerError(f"Jira answered 404 Not Found ({what}){said}: check {where} url ({self._base})")
        if status == 410:
            return TrackerError(
                f"Jira answered 410 Gone ({what}){said}: this site has removed the API; check {where} deployment"
            )
        if status >= 500:
            return TrackerError(f"Jira failed with HTTP {status} ({what}){said}", ambiguous=True)
        return TrackerError(f"Jira refused {what} (HTTP {status}){said}")

    # --- create -----------------------------------------------------------------------

    def issue_update(self, draft: TicketDraft) -> dict[str, Any]:
        """The ``issueUpdates`` element for one draft."""
        settings = self.settings
        action = draft.action
        issue_type = settings.issue_type
        fields: dict[str, Any] = {
            "project": {"key": settings.project},
            "issuetype": {"id": issue_type} if issue_type.isdigit() else {"name": issue_type},
            "summary": _text.summary(action),
            "description": _text.description(draft),
            "labels": list(dict.fromkeys([*settings.labels, "retroflow", _text.idempotency_label(draft.key)])),
        }
        priority = _text.priority_name(action) if settings.priority else None
        if priority is not None:
            fields["priority"] = {"name": priority}
        user = self._assignees.get(action.owner) if action.owner else None
        if user is not None:
            fields["assignee"] = {"accountId": user} if self._cloud else {"name": user}
        if action.due is not None and settings.due_date:
            fields["duedate"] = action.due.isoformat()
        return {"fields": fields}

    def preview(self, draft: TicketDraft) -> Mapping[str, Any]:
        """The body of the bulk create request :meth:`create` sends for this draft alone."""
        return {"issueUpdates": [self.issue_update(draft)]}

    def create(self, drafts: Sequence[TicketDraft]) -> Sequence[TicketRef | TrackerError]:
        """Create in bulk requests of at most 50; per-item results in order.

        Raises only while no ticket of the call can exist yet; once one may (a ref, or an
        ambiguous item), a later failure is reported per item (the items of the failed chunk
        get its error, items never sent get an error saying so), so nothing that may have been
        created is reported as certainly not created.
        """
        results: list[TicketRef | TrackerError] = []
        failure: TrackerError | None = None
        for chunk in _chunks(drafts, BULK_LIMIT):
            if failure is not None:
                results.extend(not_sent_after(failure) for _ in chunk)
                continue
            if results:
                sending()  # a later chunk: its search lag counts from now
            try:
                results.extend(self._create_chunk(chunk))
            except TrackerError as exc:
                if not any(isinstance(r, TicketRef) or r.ambiguous for r in results):
                    raise  # no ticket of this call can exist yet
                failure = exc
                results.extend(exc for _ in chunk)
        return results

    def _create_chunk(self, chunk: Sequence[TicketDraft]) -> list[TicketRef | TrackerError]:
        body = {"issueUpdates": [self.issue_update(draft) for draft in chunk]}
        status, data = self._request(
            "POST", "issue/bulk", what=f"bulk create of {len(chunk)} issue(s)", body=body, accept=(400,)
        )
        if not isinstance(data, dict) or not isinstance(data.get("issues", []), list):
            raise TrackerError(
                f"Jira answered the bulk create with HTTP {status} and an unexpected body",
                ambiguous=status < 300,  # a success status: the issues may exist
            )
        failed: dict[int, Mapping[str, Any]] = {}
        for error in data.get("errors") or []:
            number = error.get("failedElementNumber") if isinstance(error, dict) else None
            if isinstance(number, int) and 0 <= number < len(chunk):
                failed[number] = error
        if status == 400 and not failed:
            raise TrackerError(f"Jira refused the bulk create (HTTP 400): {_collection_text(data)}")
        created = iter(data.get("issues") or [])
        results: list[TicketRef | TrackerError] = []
        for index, draft in enumerate(chunk):
            if index in failed:
                error = failed[index]
                results.append(
                    TrackerError(
                        f"Jira refused the issue for action {draft.action.id} "
                        f"(HTTP {error.get('status', status)}): {_collection_text(error.get('elementErrors') or {})}"
                    )
                )
                continue
            issue = next(created, None)
            if not isinstance(issue, dict) or "id" not in issue or "key" not in issue:
                results.append(
                    TrackerError(f"Jira's bulk answer has no issue for action {draft.action.id}", ambiguous=True)
                )
                continue
            ref = TicketRef(
                sink=SINK, external_id=str(issue["id"]), url=f"{self._base}/browse/{issue['key']}", key=draft.key
            )
            results.append(ref)
            self._link(ref, str(issue["key"]), draft)
        return results

    def _link(self, ref: TicketRef, issue_key: str, draft: TicketDraft) -> None:
        """Remote links to the incident and the retro. The ticket exists already, so a failure
        here is logged, never raised; ``globalId`` makes a repeated link an update."""
        if not self.settings.remote_link:
            return
        incident = draft.retro.incident
        targets = []
        if incident.links:
            title = f"Incident {incident.id}" + (f": {incident.title}" if incident.title else "")
            targets.append(("incident", incident.links[0], title))
        if draft.retro_url:
            targets.append(("retro", draft.retro_url, f"Retrospective of incident {incident.id}"))
        for kind, url, title in targets:
            body = {
                "globalId": f"retroflow:{draft.key}:{kind}",
                "relationship": "incident" if kind == "incident" else "retrospective",
                "object": {"url": url, "title": title[:255]},
            }
            try:
                self._request("POST", f"issue/{ref.external_id}/remotelink", what="add a remote link", body=body)
            except TrackerError as exc:
                log.warning("jira remote link failed", issue=issue_key, link=kind, error=str(exc))

    # --- find and status --------------------------------------------------------------

    def _search(self, jql: str, *, fields: str, max_results: int, reconcile: Sequence[int] = ()) -> list[Any]:
        """All issues matching ``jql``: ``/search/jql`` with ``nextPageToken`` on Cloud,
        ``/search`` with ``startAt`` on Server/Data Center."""
        issues: list[Any] = []
        params: dict[str, Any] = {"jql": jql, "fields": fields, "maxResults": max_results}
        if self._cloud:
            if reconcile:
                params["reconcileIssues"] = list(reconcile)
            while True:
                _, data = self._request("GET", "search/jql", what="search issues", params=params)
                page = data.get("issues", []) if isinstance(data, dict) else []
                issues.extend(page)
                token = data.get("nextPageToken") if isinstance(data, dict) else None
                if not token or not page:
                    return issues
                params = {**params, "nextPageToken": token}
        start = 0
        while True:
            _, data = self._request("GET", "search", what="search issues", params={**params, "startAt": start})
            page = data.get("issues", []) if isinstance(data, dict) else []
            issues.extend(page)
            start += len(page)
            total = data.get("total", 0) if isinstance(data, dict) else 0
            if not page or start >= total:
                return issues

    def find(self, key: str) -> TicketRef | None:
        label = _text.idempotency_label(key)
        # Not limited to the project: a ticket moved to another project is still found.
        jql = f"labels = {_jql_string(label)} ORDER BY created ASC"
        issues = self._search(jql, fields="created", max_results=10)
        if not issues:
            return None
        if len(issues) > 1:
            log.warning("jira duplicate tickets for one export", label=label, count=len(issues))
        issue = issues[0]
        return TicketRef(sink=SINK, external_id=str(issue["id"]), url=f"{self._base}/browse/{issue['key']}", key=key)

    def status(self, refs: Sequence[TicketRef]) -> Sequence[TicketStatus]:
        by_id: dict[str, Any] = {}
        for chunk in _chunks(refs, RECONCILE_LIMIT):
            ids = [ref.external_id for ref in chunk]
            jql = "id in (" + ", ".join(_jql_id(i) for i in ids) + ")"
            numeric = [int(i) for i in ids if i.isdigit()]
            for issue in self._search(jql, fields=STATUS_FIELDS, max_results=len(chunk), reconcile=numeric):
                by_id[str(issue.get("id"))] = issue
                by_id[str(issue.get("key"))] = issue
        return statuses_in_order(refs, by_id, self._status_of, sink=SINK)

    def _status_of(self, ref: TicketRef, issue: Mapping[str, Any]) -> TicketStatus:
        fields = issue.get("fields") or {}
        category = ((fields.get("status") or {}).get("statusCategory") or {}).get("key")
        resolution = (fields.get("resolution") or {}).get("name")
        if category == "done":
            won_t = resolution is not None and resolution.casefold() in {
                r.casefold() for r in self.settings.wont_do_resolutions
            }
            state = "won't do" if won_t else "done"
        elif category == "indeterminate":
            state = "in progress"
        else:  # "new", or a category Jira adds later
            state = "open"
        changed = _parse_jira_time(fields.get("statuscategorychangedate"))
        if changed is None:
            changed = _parse_jira_time(fields.get("resolutiondate") if state in ("done", "won't do") else None)
        if changed is None:
            changed = _parse_jira_time(fields.get("updated"))
        return TicketStatus(ref=ref, state=state, changed_at=changed)


def _error_text(response: requests.Response | None) -> str:
    if response is None:
        return ""
    try:
        text = parse_error_msg(response)
    except Exception:  # an unexpected body must not hide the HTTP error itself
        text = ""
    return error_text(text)


def _collection_text(collection: Mapping[str, Any]) -> str:
    """Jira's ErrorCollection (``errorMessages`` and ``errors`` by field) as one line."""
    parts = [str(m) for m in collection.get("errorMessages") or []]
    errors = collection.get("errors")
    if isinstance(errors, dict):
        parts += [f"{field}: {message}" for field, message in errors.items()]
    return error_text("; ".join(parts)) or "no reason given"
