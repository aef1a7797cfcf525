"""Talking to the Honeycomb API over plain ``requests``: bounded retries, one list per call.

``GET /1/markers/{dataset}`` and ``GET /1/triggers/{dataset}`` each answer with the whole
list (no paging, no time filter), so a retro costs one request per dataset for markers and
one for triggers. Retries come from :mod:`retroflow.http`, as for every retroflow client.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import requests
import structlog

from retroflow import SourceError
from retroflow.http import backoff, retry_after_seconds
from retroflow.sources import SourceApi

from .replies import Replies
from .settings import TABLE, HoneycombSettings

__all__ = ["DatasetNotFound", "HoneycombApi"]

log = structlog.get_logger(__name__)
_KEY = f"[plugins.{TABLE}] api_key"
_RESET = re.compile(r"\breset=(\d+)")


class DatasetNotFound(SourceError):
    """Honeycomb does not know the dataset (HTTP 404)."""


class HoneycombApi(SourceApi):
    """GET requests to one Honeycomb environment, with its configuration key."""

    service = "Honeycomb"
    table = TABLE
    not_found = DatasetNotFound

    def credentials(self, session: requests.Session) -> dict[str, str]:
        settings: HoneycombSettings = self.settings
        if settings.api_key is None:
            raise SourceError(f"{_KEY} is not set")
        return {"X-Honeycomb-Team": settings.api_key.reveal()}

    def wait(self, response: requests.Response, attempt: int) -> float:
        """``Retry-After``, else the reset of the ``RateLimit`` headers, else back-off."""
        asked = retry_after_seconds(response.headers.get("Retry-After"), self._clock)
        if asked is not None:
            return asked
        reset = response.headers.get("RateLimit-Reset", "").strip()
        if reset.isdigit():
            return float(reset)
        match = _RESET.search(response.headers.get("RateLimit", ""))
        return float(match.group(1)) if match else backoff(attempt)

    def said(self, body: Any) -> str:
        """Honeycomb's ``error``, or its ``detail`` or ``title``."""
        return str(body.get("error") or body.get("detail") or body.get("title") or "") if isinstance(body, dict) else ""

    def hint(self, status: int) -> str:
        return (
            f"check {_KEY} and api (us or eu); "
            "a configuration key of this environment that may read markers and triggers is needed"
        )

    def collect(self, datasets: Iterable[str], *, triggers: bool) -> Replies:
        """The markers (and triggers) of every dataset; a dataset Honeycomb does not know
        is noted, not fatal."""
        replies = Replies()
        for dataset in datasets:
            slug = quote(dataset, safe="")
            try:
                replies.markers[dataset] = self.get_json(
                    f"{self.settings.api}/1/markers/{slug}", what=f"markers of {dataset}"
                )
                if triggers:
                    replies.triggers[dataset] = self.get_json(
                        f"{self.settings.api}/1/triggers/{slug}", what=f"triggers of {dataset}"
                    )
            except DatasetNotFound:
                replies.missing.append(f"dataset {dataset!r} not found (HTTP 404): check [plugins.{TABLE}] datasets")
        return replies
