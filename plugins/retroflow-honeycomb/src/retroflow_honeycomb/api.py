"""Talking to the Honeycomb API over plain ``requests``: bounded retries, one list per call.

``GET /1/markers/{dataset}`` and ``GET /1/triggers/{dataset}`` each answer with the whole
list (no paging, no time filter), so a retro costs one request per dataset for markers and
one for triggers. Retries come from :mod:`retroflow.http`, as for every retroflow client.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests
import structlog

from retroflow import SourceError, utcnow
from retroflow.http import SourceClient, backoff, json_or_none, retry_after_seconds

from .replies import Replies
from .settings import TABLE, HoneycombSettings

__all__ = ["DatasetNotFound", "HoneycombApi"]

log = structlog.get_logger(__name__)
_KEY = f"[plugins.{TABLE}] api_key"
_RESET = re.compile(r"\breset=(\d+)")


class DatasetNotFound(SourceError):
    """Honeycomb does not know the dataset (HTTP 404)."""


class HoneycombApi(SourceClient[requests.Response]):
    """GET requests to one Honeycomb environment, with its configuration key.

    :param session: a :class:`requests.Session` (tests pass one ``responses`` serves).
    :param sleep: how to wait before trying again (tests pass a recorder).
    :param clock: the current time, for ``Retry-After`` dates.
    """

    def __init__(
        self,
        settings: HoneycombSettings,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if settings.api_key is None:
            raise SourceError(f"{_KEY} is not set")
        self.settings = settings
        key = settings.api_key.reveal()
        super().__init__(
            "Honeycomb",
            TABLE,
            settings,
            session=session or requests.Session(),
            headers={"Accept": "application/json", "User-Agent": "retroflow-honeycomb", "X-Honeycomb-Team": key},
            sleep=sleep,
            clock=clock,
            transport_errors=(requests.RequestException,),
            wait=self._wait,
        )

    def get(self, path: str, *, what: str) -> Any:
        """The decoded JSON of ``GET path``; 429, 5xx and network failures are tried again
        within the budget.

        :raises DatasetNotFound: 404.
        :raises SourceError: refused (naming the setting, never the key), or still failing
            when the budget is spent.
        """
        response = self.send_get(self.settings.api + path, what=what)
        if response.status_code < 300:
            return json_or_none(response)
        if response.status_code == 404:
            raise DatasetNotFound(f"{what}: not found (HTTP 404)")
        raise SourceError(_refusal(response, what))

    def _wait(self, response: requests.Response, attempt: int) -> float:
        """``Retry-After``, else the reset of the ``RateLimit`` headers, else back-off."""
        asked = retry_after_seconds(response.headers.get("Retry-After"), self._clock)
        if asked is not None:
            return asked
        reset = response.headers.get("RateLimit-Reset", "").strip()
        if reset.isdigit():
            return float(reset)
        match = _RESET.search(response.headers.get("RateLimit", ""))
        return float(match.group(1)) if match else backoff(attempt)

    def collect(self, datasets: Iterable[str], *, triggers: bool) -> Replies:
        """The markers (and triggers) of every dataset; a dataset Honeycomb does not know
        is noted, not fatal."""
        replies = Replies()
        for dataset in datasets:
            slug = quote(dataset, safe="")
            try:
                replies.markers[dataset] = self.get(f"/1/markers/{slug}", what=f"markers of {dataset}")
                if triggers:
                    replies.triggers[dataset] = self.get(f"/1/triggers/{slug}", what=f"triggers of {dataset}")
            except DatasetNotFound:
                replies.missing.append(f"dataset {dataset!r} not found (HTTP 404): check [plugins.{TABLE}] datasets")
        return replies


def _refusal(response: requests.Response, what: str) -> str:
    """Honeycomb's own words (``error``, or ``title``/``detail``), never the key."""
    status = response.status_code
    body = json_or_none(response)
    said = ""
    if isinstance(body, dict):
        said = str(body.get("error") or body.get("detail") or body.get("title") or "")[:300]
    said = f": {said}" if said else ""
    if status in (401, 403):
        hint = "a configuration key of this environment that may read markers and triggers is needed"
        return f"Honeycomb refused {what} (HTTP {status}){said}: check {_KEY} and api (us or eu); {hint}"
    return f"Honeycomb refused {what} (HTTP {status}){said}"
