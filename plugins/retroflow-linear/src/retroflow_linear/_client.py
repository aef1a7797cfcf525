"""The Linear client behind the sink: GraphQL over ``requests``.

Each issue is created with a client-chosen id derived from the export key
(:func:`retroflow_linear._text.issue_id`), so a retried create collides with the issue it
already made; :meth:`LinearClient.find` looks that id up. When ``issueCreate`` reports an
error, the client looks the id up before reporting a failure: an issue that is there was
created by an earlier attempt.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import requests
import structlog

from retroflow import ConfigError, TicketDraft, TicketRef, TicketStatus, TrackerError
from retroflow.http import (
    RetryBudget,
    backoff,
    error_text,
    json_or_none,
    looks_like_url,
    retry_after_seconds,
    timestamp_or_none,
    transport_failure,
)
from retroflow.trackers import ClientBase, RequestFailure, create_each, parse_owner_map, statuses_in_order
from retroflow_linear import LinearSettings, LinearSink, _text

log = structlog.get_logger(__name__)

#: A failure about the whole call (the next draft would fail the same way).
_WHOLE_CALL = functools.partial(RequestFailure, whole_call=True)

SINK = LinearSink.name
PAGE_SIZE = 50

ISSUE_CREATE = """mutation IssueCreate($input: IssueCreateInput!) {
  issueCreate(input: $input) {
    success
    issue { id identifier url }
  }
}"""

FIND_ISSUE = """query FindIssue($id: ID!) {
  issues(filter: {id: {eq: $id}}, includeArchived: true, first: 1) {
    nodes { id identifier url }
  }
}"""

ISSUE_STATUS = """query IssueStatus($ids: [ID!]!, $first: Int!, $after: String) {
  issues(filter: {id: {in: $ids}}, includeArchived: true, first: $first, after: $after) {
    nodes {
      id identifier url createdAt updatedAt startedAt completedAt canceledAt trashed
      state { type name }
    }
    pageInfo { hasNextPage endCursor }
  }
}"""

#: ``WorkflowState.type`` (schema: triage, backlog, unstarted, started, completed, canceled,
#: duplicate) → retroflow's ticket states.
STATES = {
    "triage": "open",
    "backlog": "open",
    "unstarted": "open",
    "started": "in progress",
    "completed": "done",
    "canceled": "won't do",
    "duplicate": "won't do",
}


class LinearClient(ClientBase[LinearSettings]):
    """A connection to one Linear workspace with validated settings (:class:`LinearSettings`)."""

    def setup(self, session: requests.Session | None) -> None:
        settings, where = self.settings, self._where
        if not settings.team_id.strip():
            raise ConfigError(f"{where} team_id: expected the id of the team issues are created in")
        if not looks_like_url(settings.api_url):
            raise ConfigError(f"{where} api_url: expected a URL like https://api.linear.app/graphql")
        self._assignees = parse_owner_map(settings.assignees, where, user="userId")
        secret = settings.token.reveal()
        self._session = session or requests.Session()
        self._session.headers.update(
            {
                "Content-Type": "application/json",
                "User-Agent": "retroflow-linear",
                # A personal API key goes as is; an OAuth access token as a bearer token.
                "Authorization": f"Bearer {secret}" if settings.auth == "oauth" else secret,
            }
        )

    # --- requests ---------------------------------------------------------------------

    def _graphql(self, body: Mapping[str, Any], *, what: str) -> Mapping[str, Any]:
        """Send one GraphQL request; wait out rate limits within the budget; map failures.

        Returns the reply's ``data``; a reply with ``errors`` raises.
        """
        budget = RetryBudget(self.settings, self._sleep)
        while True:
            try:
                response = self._session.post(self.settings.api_url, json=body, timeout=self.settings.timeout)
            except requests.RequestException as exc:
                message, sent = transport_failure("Linear", exc, what)
                raise RequestFailure(message, whole_call=True, ambiguous=sent) from None
            reply = json_or_none(response)
            errors = reply.get("errors") if isinstance(reply, dict) else None
            codes = {_code(e) for e in errors or []}
            if response.status_code == 429 or "RATELIMITED" in codes:
                wait = self._rate_limit_wait(response, budget.attempt)
                budget.wait_out(
                    wait, what, service="Linear", table=SINK, refuse=_WHOLE_CALL, status=response.status_code
                )
                continue
            if response.status_code in (401, 403) or codes & {"AUTHENTICATION_ERROR", "FORBIDDEN"}:
                raise RequestFailure(
                    f"Linear rejected the credentials (HTTP {response.status_code}, {what})"
                    f"{_said(errors)}: check {self._where} token (and auth)",
                    whole_call=True,
                )
            if response.status_code >= 500:
                raise RequestFailure(
                    f"Linear failed with HTTP {response.status_code} ({what}){_said(errors)}",
                    whole_call=True,
                    ambiguous=True,
                )
            if errors:
                hint = f"; check {self._where} team_id" if "team" in _said(errors).lower() else ""
                raise RequestFailure(f"Linear refused {what}{_said(errors)}{hint}", whole_call=False)
            if not response.ok or not isinstance(reply, dict) or not isinstance(reply.get("data"), dict):
                raise RequestFailure(
                    f"Linear answered {what} with HTTP {response.status_code} and no data",
                    whole_call=True,
                    ambiguous=response.ok,  # a success status: the mutation may have run
                )
            data: Mapping[str, Any] = reply["data"]
            return data

    def _rate_limit_wait(self, response: requests.Response, attempt: int) -> float:
        """``Retry-After`` when given; else the reset time Linear sends in epoch milliseconds
        (``X-RateLimit-Requests-Reset``, or the complexity one); else a short backoff."""
        delay = retry_after_seconds(response.headers.get("Retry-After"), self._clock)
        if delay is not None:
            return delay
        resets = []
        for header in ("X-RateLimit-Requests-Reset", "X-RateLimit-Complexity-Reset"):
            value = response.headers.get(header, "")
            if value.isdigit():
                resets.append(int(value) / 1000 - self._clock().timestamp())
        return max(0.0, *resets) if resets else backoff(attempt)

    # --- create -----------------------------------------------------------------------

    def issue_input(self, draft: TicketDraft) -> dict[str, Any]:
        settings = self.settings
        action = draft.action
        data: dict[str, Any] = {
            "id": _text.issue_id(draft.key),
            "teamId": settings.team_id,
            "title": _text.title(action),
            "description": _text.body(draft),
        }
        if settings.label_ids:
            data["labelIds"] = list(dict.fromkeys(settings.label_ids))
        priority = _text.priority(action)
        if priority is not None:
            data["priority"] = priority
        user = self._assignees.get(action.owner) if action.owner else None
        if user is not None:
            data["assigneeId"] = user
        if action.due is not None:
            data["dueDate"] = action.due.isoformat()
        return data

    def preview(self, draft: TicketDraft) -> Mapping[str, Any]:
        """The JSON body :meth:`create` posts for ``draft``."""
        return {"query": ISSUE_CREATE, "variables": {"input": self.issue_input(draft)}}

    def create(self, drafts: Sequence[TicketDraft]) -> Sequence[TicketRef | TrackerError]:
        """One ``issueCreate`` per draft, results in order.

        A certain failure of the first request that is not about the draft (credentials,
        rate limit, refused connection) is raised; otherwise failures are reported per
        draft, and after an ambiguous one or one about the whole call, the drafts not yet
        sent get an error saying so.
        """
        return create_each(drafts, self._create_one)

    def _create_one(self, draft: TicketDraft) -> TicketRef:
        what = f"creating the issue for action {draft.action.id}"
        try:
            data = self._graphql(self.preview(draft), what=what)
        except RequestFailure as exc:
            if exc.whole_call:
                raise
            # The id is the key's: an issue with it was made by an earlier attempt.
            existing = self._find_quietly(draft.key)
            if existing is None:
                raise
            log.info("linear issue already created", issue=existing.external_id, key=draft.key)
            return existing
        payload = data.get("issueCreate") or {}
        issue = payload.get("issue") if isinstance(payload, dict) else None
        if not isinstance(payload, dict) or not payload.get("success") or not isinstance(issue, dict):
            raise RequestFailure(f"Linear did not report success {what}", whole_call=False, ambiguous=True)
        return self._ref(issue, draft.key)

    def _find_quietly(self, key: str) -> TicketRef | None:
        try:
            return self.find(key)
        except TrackerError:
            return None

    def _ref(self, issue: Mapping[str, Any], key: str | None) -> TicketRef:
        return TicketRef(sink=SINK, external_id=str(issue["id"]), url=issue.get("url"), key=key)

    # --- find and status --------------------------------------------------------------

    def find(self, key: str) -> TicketRef | None:
        body = {"query": FIND_ISSUE, "variables": {"id": _text.issue_id(key)}}
        data = self._graphql(body, what="looking up an issue by id")
        nodes = (data.get("issues") or {}).get("nodes") or []
        return self._ref(nodes[0], key) if nodes else None

    def status(self, refs: Sequence[TicketRef]) -> Sequence[TicketStatus]:
        found: dict[str, Mapping[str, Any]] = {}
        for start in range(0, len(refs), PAGE_SIZE):
            ids = [ref.external_id for ref in refs[start : start + PAGE_SIZE]]
            after: str | None = None
            while True:
                variables = {"ids": ids, "first": PAGE_SIZE, "after": after}
                data = self._graphql({"query": ISSUE_STATUS, "variables": variables}, what="reading issue states")
                connection = data.get("issues") or {}
                for node in connection.get("nodes") or []:
                    found[str(node.get("id"))] = node
                page = connection.get("pageInfo") or {}
                after = page.get("endCursor")
                if not page.get("hasNextPage") or not after:
                    break
        return statuses_in_order(refs, found, _status_of, sink=SINK)


def _status_of(ref: TicketRef, node: Mapping[str, Any]) -> TicketStatus:
    kind = (node.get("state") or {}).get("type")
    state = "won't do" if node.get("trashed") else STATES.get(str(kind), "open")
    if state == "done":
        changed = node.get("completedAt")
    elif state == "won't do":
        changed = node.get("canceledAt")
    elif state == "in progress":
        changed = node.get("startedAt")
    elif not (node.get("startedAt") or node.get("completedAt") or node.get("canceledAt")):
        changed = node.get("createdAt")  # never moved on: it has been open since created
    else:
        changed = None  # moved back to an open state; Linear's issue does not say when
    return TicketStatus(
        ref=ref, state=state, changed_at=timestamp_or_none(changed) or timestamp_or_none(node.get("updatedAt"))
    )


def _code(error: Any) -> str:
    extensions = error.get("extensions") if isinstance(error, dict) else None
    code = extensions.get("code") if isinstance(extensions, dict) else None
    return str(code) if code else ""


def _said(errors: Any) -> str:
    messages = []
    for error in errors or []:
        if isinstance(error, dict):
            extensions = error.get("extensions") or {}
            text = extensions.get("userPresentableMessage") if isinstance(extensions, dict) else None
            messages.append(str(text or error.get("message") or "error"))
    return ": " + error_text("; ".join(messages)) if messages else ""
