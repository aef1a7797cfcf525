"""Requests to GitHub's REST API, shared by the issue sink and the deploy-history source.

One policy for both: ``Accept: application/vnd.github+json`` and ``X-GitHub-Api-Version``;
rate limits — 429, or 403 with ``retry-after`` (secondary limits) or
``x-ratelimit-remaining: 0`` (the primary limit, until ``x-ratelimit-reset``) — waited out
within a budget (``max_retries``, ``max_retry_wait``), and a request that would certainly
hit an exhausted primary limit is held until its reset rather than sent; failures mapped
to messages that name the setting to check and never the token.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

import attrs
import requests

from retroflow import Secret
from retroflow.http import (
    RequestSettings,
    RetryBudget,
    backoff,
    error_text,
    json_or_none,
    retry_after_seconds,
    transport_failure,
)
from retroflow.trackers import RequestFailure

API_VERSION = "2022-11-28"
#: Failures that say nothing about one request in particular: the next would fail too.
_WHOLE_CALL_STATUSES = frozenset({401, 403, 404, 410})


class GitHubFailure(RequestFailure):
    """A RequestFailure with GitHub's HTTP status (``None``: no answer, about the whole call)."""

    def __init__(self, message: str, *, status: int | None, ambiguous: bool = False, retry_after: float | None = None):
        whole_call = status is None or status in _WHOLE_CALL_STATUSES or status == 429
        super().__init__(message, whole_call=whole_call, ambiguous=ambiguous, retry_after=retry_after)
        self.status = status


@attrs.frozen
class Access:
    """What a configuration table means to GitHub, for error messages.

    :ivar table: the table's name (``github``), for ``[plugins.<table>] max_retry_wait``.
    :ivar where: the table as errors name it (``retroflow.toml: [plugins.github]``).
    :ivar needs: what the token needs, in GitHub's words ("Issues read and write access").
    :ivar repo_key: the key naming the repository (``repo``, or ``repos`` for a list).
    :ivar gone: what a 410 Gone means ("issues are disabled on").
    """

    table: str
    where: str
    needs: str
    repo_key: str = "repo"
    gone: str = "the feature is disabled on"


class GitHubHttp:
    """A session on one GitHub API root (``api``) with the policy above.

    :param token: sent as ``Authorization: Bearer``; ``None`` sends none (saved replies).
    :param limits: ``timeout`` of one request, ``max_retries`` and ``max_retry_wait``.
    """

    def __init__(
        self,
        api: str,
        *,
        token: Secret | None,
        limits: RequestSettings,
        access: Access,
        sleep: Callable[[float], None],
        clock: Callable[[], datetime],
        session: requests.Session | None = None,
    ) -> None:
        self.api = api.rstrip("/")
        self.access = access
        self._limits = limits
        self._sleep = sleep
        self._clock = clock
        self._reset_at: float | None = None  # the primary limit is spent until then
        self.session = session or requests.Session()
        self.session.headers.update(
            {
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "retroflow-github",
            }
        )
        if token is not None:
            self.session.headers["Authorization"] = f"Bearer {token.reveal()}"

    def request(
        self,
        method: str,
        url: str,
        *,
        what: str,
        repo: str,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> requests.Response:
        """Send one request; wait out rate limits within the budget; map failures."""
        budget = RetryBudget(self._limits, self._sleep)
        self._hold_for_reset(budget, what)
        while True:
            try:
                response = self.session.request(method, url, params=params, json=body, timeout=self._limits.timeout)
            except requests.RequestException as exc:
                message, sent = transport_failure("GitHub", exc, what, place=f"at {self.api}")
                raise GitHubFailure(message, status=None, ambiguous=sent) from None
            if response.ok:
                self._note_remaining(response)
                return response
            wait = self._rate_limit_wait(response, budget.attempt)
            if wait is None:
                raise self._http_error(response, what, repo)
            self._spend(budget, wait, what, response.status_code)

    def pages(
        self, url: str, *, what: str, repo: str, params: Mapping[str, Any] | None = None
    ) -> Iterator[tuple[requests.Response, Any]]:
        """Each page of a list (its response and decoded JSON), following ``Link: next``;
        the caller stops when it has read enough."""
        next_url: str | None = url
        while next_url is not None:
            response = self.request("GET", next_url, what=what, repo=repo, params=params)
            yield response, json_or_none(response)
            next_url = response.links.get("next", {}).get("url")
            params = None  # the next link carries them

    def _spend(self, budget: RetryBudget, wait: float, what: str, status: int | None = None) -> None:
        refuse = functools.partial(GitHubFailure, status=429)
        budget.wait_out(wait, what, service="GitHub", table=self.access.table, refuse=refuse, status=status)

    def _note_remaining(self, response: requests.Response) -> None:
        reset = response.headers.get("x-ratelimit-reset", "")
        if response.headers.get("x-ratelimit-remaining") == "0" and reset.isdigit():
            self._reset_at = float(reset)

    def _hold_for_reset(self, budget: RetryBudget, what: str) -> None:
        """The last answer said no requests are left until the reset: wait for it (within
        the budget) instead of sending a request bound to be refused."""
        if self._reset_at is None:
            return
        wait = self._reset_at - self._clock().timestamp()
        self._reset_at = None
        if wait > 0:
            self._spend(budget, wait, what)

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

    def _http_error(self, response: requests.Response, what: str, repo: str) -> GitHubFailure:
        status = response.status_code
        said = _error_text(response)
        said = f": {said}" if said else ""
        where, key = self.access.where, self.access.repo_key
        if status == 401:
            return GitHubFailure(
                f"GitHub rejected the token (HTTP 401, {what}){said}: check {where} token", status=status
            )
        if status == 403:
            return GitHubFailure(
                f"GitHub denied {what} (HTTP 403){said}: the token of {where} token needs "
                f"{self.access.needs} to {repo} ({where} {key})",
                status=status,
            )
        if status == 404:
            return GitHubFailure(
                f"GitHub answered 404 Not Found ({what}){said}: check {where} {key} ({repo}) "
                f"and api_url; a token without access to a private repository also gets 404",
                status=status,
            )
        if status == 410:
            return GitHubFailure(
                f"GitHub answered 410 Gone ({what}){said}: {self.access.gone} {repo} ({where} {key})", status=status
            )
        if status >= 500:
            return GitHubFailure(f"GitHub failed with HTTP {status} ({what}){said}", status=status, ambiguous=True)
        return GitHubFailure(f"GitHub refused {what} (HTTP {status}){said}", status=status)


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
