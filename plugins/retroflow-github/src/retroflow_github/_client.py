"""The GitHub Issues client behind the sink: create, find by key marker, status.

GitHub has no bulk issue create, so :meth:`GitHubClient.create` sends one request per draft.
The idempotency key travels twice: a marker label (``retroflow`` by default) and a hidden
``<!-- retroflow:KEY -->`` line in the body. :meth:`find` lists the repository's issues
with the marker label (the list endpoint trails a create by a moment at most; the search
API's index trails by minutes) and matches the body marker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import requests
import structlog

from retroflow import ConfigError, TicketDraft, TicketRef, TicketStatus, TrackerError
from retroflow.trackers import (
    RequestFailure,
    RetryBudget,
    backoff,
    certainly_not_sent,
    check_request_settings,
    create_each,
    describe,
    error_text,
    json_or_none,
    looks_like_url,
    parse_owner_map,
    rate_limit_error,
    retry_after_seconds,
    timestamp_or_none,
)
from retroflow_github import _text

if TYPE_CHECKING:
    from retroflow_github import GitHubSettings

log = structlog.get_logger(__name__)

SINK = "github"
API_VERSION = "2022-11-28"
PAGE_SIZE = 100
#: Failures that say nothing about one draft in particular: the next draft would fail too.
_WHOLE_CALL_STATUSES = frozenset({401, 403, 404, 410})


class _Failure(RequestFailure):
    """A RequestFailure with GitHub's HTTP status (``None``: no answer, about the whole call)."""

    def __init__(self, message: str, *, status: int | None, ambiguous: bool = False, retry_after: float | None = None):
        whole_call = status is None or status in _WHOLE_CALL_STATUSES or status == 429
        super().__init__(message, whole_call=whole_call, ambiguous=ambiguous, retry_after=retry_after)
        self.status = status


class GitHubClient:
    """A connection to one repository's issues with validated settings (:class:`GitHubSettings`)."""

    def __init__(
        self,
        settings: GitHubSettings,
        *,
        where: str,
        sleep: Callable[[float], None],
        clock: Callable[[], datetime],
        session: requests.Session | None = None,
    ) -> None:
        self.settings = settings
        self._where = where
        self._sleep = sleep
        self._clock = clock
        owner, sep, name = settings.repo.partition("/")
        if not sep or not owner or not name or "/" in name:
            raise ConfigError(f'{where} repo: expected "owner/name", got {settings.repo!r}')
        self._repo_path = f"/repos/{owner}/{name}"
        self._api = settings.api_url.rstrip("/")
        if not looks_like_url(self._api):
            raise ConfigError(f"{where} api_url: expected a URL like https://api.github.com")
        if not settings.marker_label.strip():
            raise ConfigError(f"{where} marker_label: must not be empty")
        check_request_settings(settings, where)
        self._assignees = parse_owner_map(settings.assignees, where, user="login")
        self._session = session or requests.Session()
        self._session.headers.update(
            {
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "retroflow-github",
                "Authorization": f"Bearer {settings.token.reveal()}",
            }
        )

    # --- requests ---------------------------------------------------------------------

    def _request(
        self,
        method: str,
        url: str,
        *,
        what: str,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> requests.Response:
        """Send one request; wait out rate limits within the budget; map failures."""
        budget = RetryBudget(self.settings, self._sleep)
        while True:
            try:
                response = self._session.request(method, url, params=params, json=body, timeout=self.settings.timeout)
            except requests.RequestException as exc:
                sent = not certainly_not_sent(exc)
                detail = "the request may have reached GitHub" if sent else "the request did not reach GitHub"
                raise _Failure(
                    f"GitHub at {self._api} failed ({what}): {describe(exc)}; {detail}",
                    status=None,
                    ambiguous=sent,
                ) from None
            if response.ok:
                return response
            wait = self._rate_limit_wait(response, budget.attempt)
            if wait is None:
                raise self._http_error(response, what)
            if budget.exceeded(wait):
                raise _Failure(
                    rate_limit_error("GitHub", SINK, what, wait, self.settings.max_retry_wait),
                    status=429,
                    retry_after=wait,
                )
            log.warning("github rate limited", what=what, wait=wait, attempt=budget.attempt + 1)
            budget.spend(wait)

    def _rate_limit_wait(self, response: requests.Response, attempt: int) -> float | None:
        """Seconds to wait when ``response`` is a rate limit (primary or secondary), else None.

        GitHub answers 429, or 403 with ``retry-after`` or ``x-ratelimit-remaining: 0``.
        """
        if response.status_code not in (403, 429):
            return None
        delay = retry_after_seconds(response.headers.get("retry-after"), self._clock)
        if delay is not None:
            return delay
        if response.headers.get("x-ratelimit-remaining") == "0":
            reset = response.headers.get("x-ratelimit-reset", "")
            if reset.isdigit():
                return max(0.0, int(reset) - self._clock().timestamp())
            return backoff(attempt)
        return backoff(attempt) if response.status_code == 429 else None

    def _http_error(self, response: requests.Response, what: str) -> _Failure:
        status = response.status_code
        said = _error_text(response)
        said = f": {said}" if said else ""
        where = self._where
        if status == 401:
            return _Failure(f"GitHub rejected the token (HTTP 401, {what}){said}: check {where} token", status=status)
        if status == 403:
            return _Failure(
                f"GitHub denied {what} (HTTP 403){said}: the token of {where} token needs Issues "
                f"read and write access to {self.settings.repo} ({where} repo)",
                status=status,
            )
        if status == 404:
            return _Failure(
                f"GitHub answered 404 Not Found ({what}){said}: check {where} repo ({self.settings.repo}) "
                f"and api_url; a token without access to a private repository also gets 404",
                status=status,
            )
        if status == 410:
            return _Failure(
                f"GitHub answered 410 Gone ({what}){said}: issues are disabled on {self.settings.repo} ({where} repo)",
                status=status,
            )
        if status >= 500:
            return _Failure(f"GitHub failed with HTTP {status} ({what}){said}", status=status, ambiguous=True)
        return _Failure(f"GitHub refused {what} (HTTP {status}){said}", status=status)

    # --- create -----------------------------------------------------------------------

    def preview(self, draft: TicketDraft) -> Mapping[str, Any]:
        """The JSON body :meth:`create` sends for ``draft``."""
        settings = self.settings
        payload: dict[str, Any] = {
            "title": _text.title(draft.action),
            "body": _text.body(draft),
            "labels": list(dict.fromkeys([*settings.labels, settings.marker_label])),
        }
        login = self._assignees.get(draft.action.owner) if draft.action.owner else None
        if login is not None:
            payload["assignees"] = [login]
        return payload

    def create(self, drafts: Sequence[TicketDraft]) -> Sequence[TicketRef | TrackerError]:
        """One request per draft, results in order.

        A certain failure of the first request that is not about the draft itself
        (credentials, repository, rate limit, refused connection) is raised. Otherwise every
        failure is reported for its draft: a draft GitHub rejected (422) does not stop the
        others; after an ambiguous failure (5xx, timeout) or one about the whole call, the
        drafts not yet sent get an error saying they were not sent.
        """
        return create_each(drafts, self._create_one)

    def _create_one(self, draft: TicketDraft) -> TicketRef:
        response = self._request(
            "POST", f"{self._api}{self._repo_path}/issues", what="create an issue", body=self.preview(draft)
        )
        issue = json_or_none(response)
        if not isinstance(issue, dict) or "number" not in issue:
            # GitHub said 201 but the answer cannot be read: the issue may well exist.
            raise _Failure(
                f"GitHub answered HTTP {response.status_code} with an unreadable issue", status=None, ambiguous=True
            )
        names = {label.get("name") if isinstance(label, dict) else label for label in issue.get("labels", [])}
        if self.settings.marker_label not in names:
            log.warning(
                "github dropped the marker label",
                issue=issue.get("number"),
                label=self.settings.marker_label,
                hint="the token's account needs push access, or find() cannot see this ticket",
            )
        return self._ref(issue, draft.key)

    def _ref(self, issue: Mapping[str, Any], key: str | None) -> TicketRef:
        return TicketRef(sink=SINK, external_id=str(issue["number"]), url=issue.get("html_url"), key=key)

    # --- find and status --------------------------------------------------------------

    def find(self, key: str) -> TicketRef | None:
        url: str | None = f"{self._api}{self._repo_path}/issues"
        params: dict[str, Any] | None = {
            "labels": self.settings.marker_label,
            "state": "all",
            "sort": "created",
            "direction": "asc",
            "per_page": PAGE_SIZE,
        }
        while url is not None:
            response = self._request("GET", url, what="list issues", params=params)
            page = json_or_none(response)
            if not isinstance(page, list):
                raise TrackerError(f"GitHub answered the issue list with HTTP {response.status_code} and no list")
            for issue in page:
                if isinstance(issue, dict) and "pull_request" not in issue and _text.has_marker(issue.get("body"), key):
                    return self._ref(issue, key)
            url = response.links.get("next", {}).get("url")
            params = None  # the next link carries them
        return None

    def status(self, refs: Sequence[TicketRef]) -> Sequence[TicketStatus]:
        statuses = []
        for ref in refs:
            url = f"{self._api}{self._repo_path}/issues/{ref.external_id}"
            try:
                issue = json_or_none(self._request("GET", url, what=f"read issue #{ref.external_id}"))
            except _Failure as exc:
                if exc.status not in (404, 410) or not self._repo_visible():
                    raise TrackerError(str(exc), ambiguous=exc.ambiguous, retry_after=exc.retry_after) from None
                log.warning("github issue not found for status", issue=ref.external_id)
                statuses.append(TicketStatus(ref=ref, state="missing", changed_at=None))
                continue
            if not isinstance(issue, dict):
                raise TrackerError(f"GitHub answered issue #{ref.external_id} with an unreadable body")
            statuses.append(self._status_of(ref, issue))
        return statuses

    def _repo_visible(self) -> bool:
        """Whether a 404 is about one deleted issue rather than the repository or the token."""
        try:
            self._request("GET", f"{self._api}{self._repo_path}/issues", what="list issues", params={"per_page": 1})
        except TrackerError:
            return False
        return True

    def _status_of(self, ref: TicketRef, issue: Mapping[str, Any]) -> TicketStatus:
        reason = issue.get("state_reason")
        if issue.get("state") == "closed":
            state = "won't do" if reason in ("not_planned", "duplicate") else "done"
            changed = issue.get("closed_at")
        else:
            names = {label.get("name") for label in issue.get("labels", []) if isinstance(label, dict)}
            progress = {n.casefold() for n in self.settings.in_progress_labels}
            state = "in progress" if any(str(n).casefold() in progress for n in names) else "open"
            # Open and never closed: it changed state when it was created. Reopened, or
            # labelled in progress: GitHub's issue gives no time of that change; updated_at
            # is the closest bound.
            changed = issue.get("created_at") if reason is None and state == "open" else issue.get("updated_at")
        return TicketStatus(ref=ref, state=state, changed_at=timestamp_or_none(changed))


def _error_text(response: requests.Response) -> str:
    """GitHub's ``message`` and validation ``errors`` (basic-error / validation-error)."""
    try:
        data = response.json()
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    parts = [str(data["message"])] if data.get("message") else []
    for error in data.get("errors") or []:
        if isinstance(error, dict):
            parts.append(str(error.get("message") or f"{error.get('field')} {error.get('code')}".strip()))
        else:
            parts.append(str(error))
    return error_text("; ".join(parts))
