"""The GitHub Issues client behind the sink: create, find by key marker, status.

GitHub has no bulk issue create, so :meth:`GitHubClient.create` sends one request per draft.
The idempotency key travels twice: a marker label (``retroflow`` by default) and a hidden
``<!-- retroflow:KEY -->`` line in the body. :meth:`find` lists the repository's issues
with the marker label (the list endpoint trails a create by a moment at most; the search
API's index trails by minutes) and matches the body marker.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import requests
import structlog

from retroflow import ConfigError, TicketDraft, TicketRef, TicketStatus, TrackerError
from retroflow.http import json_or_none, looks_like_url, timestamp_or_none
from retroflow.trackers import ClientBase, create_each, parse_owner_map
from retroflow_github import GitHubSettings, GitHubSink, _text
from retroflow_github._http import Access, GitHubFailure, GitHubHttp

log = structlog.get_logger(__name__)

SINK = GitHubSink.name
PAGE_SIZE = 100


class GitHubClient(ClientBase[GitHubSettings]):
    """A connection to one repository's issues with validated settings (:class:`GitHubSettings`)."""

    def setup(self, session: requests.Session | None) -> None:
        settings, where = self.settings, self._where
        owner, sep, name = settings.repo.partition("/")
        if not sep or not owner or not name or "/" in name:
            raise ConfigError(f'{where} repo: expected "owner/name", got {settings.repo!r}')
        api = settings.api_url.rstrip("/")
        if not looks_like_url(api):
            raise ConfigError(f"{where} api_url: expected a URL like https://api.github.com")
        if not settings.marker_label.strip():
            raise ConfigError(f"{where} marker_label: must not be empty")
        self._assignees = parse_owner_map(settings.assignees, where, user="login")
        access = Access(table=SINK, where=where, needs="Issues read and write access", gone="issues are disabled on")
        self._issues = f"{api}/repos/{owner}/{name}/issues"
        self._http = GitHubHttp(
            api,
            token=settings.token,
            limits=settings,
            access=access,
            sleep=self._sleep,
            clock=self._clock,
            session=session,
        )

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
        response = self._http.request(
            "POST", self._issues, what="create an issue", repo=self.settings.repo, body=self.preview(draft)
        )
        issue = json_or_none(response)
        if not isinstance(issue, dict) or "number" not in issue:
            # GitHub said 201 but the answer cannot be read: the issue may well exist.
            raise GitHubFailure(
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
        params = {
            "labels": self.settings.marker_label,
            "state": "all",
            "sort": "created",
            "direction": "asc",
            "per_page": PAGE_SIZE,
        }
        pages = self._http.pages(self._issues, what="list issues", repo=self.settings.repo, params=params)
        for response, page in pages:
            if not isinstance(page, list):
                raise TrackerError(f"GitHub answered the issue list with HTTP {response.status_code} and no list")
            for issue in page:
                if isinstance(issue, dict) and "pull_request" not in issue and _text.has_marker(issue.get("body"), key):
                    return self._ref(issue, key)
        return None

    def status(self, refs: Sequence[TicketRef]) -> Sequence[TicketStatus]:
        statuses = []
        for ref in refs:
            url, what = f"{self._issues}/{ref.external_id}", f"read issue #{ref.external_id}"
            try:
                issue = json_or_none(self._http.request("GET", url, what=what, repo=self.settings.repo))
            except GitHubFailure as exc:
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
            self._http.request("GET", self._issues, what="list issues", repo=self.settings.repo, params={"per_page": 1})
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
