"""``[plugins.jsm]``: the settings of the Jira Service Management Operations / Opsgenie source."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal

import attrs

from retroflow import Secret, at_least_one
from retroflow.sources import HttpSourceSettings, parsed_by, service_entries

from . import TABLE

__all__ = ["TABLE", "JsmSettings", "ServiceMap"]


#: Where each API lives. JSM Operations adds ``/{cloudId}``.
API_URLS = {
    "jsm": "https://api.atlassian.com/jsm/ops/api",
    "opsgenie": "https://api.opsgenie.com",
    "opsgenie-eu": "https://api.eu.opsgenie.com",
}

Api = Literal["jsm", "opsgenie", "opsgenie-eu"]


def _selector(selector: str) -> tuple[str, str] | None:
    """``tag:<tag>`` or ``team:<team>``; ``None`` when it is neither."""
    key, colon, value = (part.strip() for part in selector.partition(":"))
    return (key, value) if colon and value and key in ("tag", "team") else None


@attrs.frozen
class ServiceMap:
    """Which alerts belong to which service: ``"service=tag:<tag>"`` or
    ``"service=team:<team id or name>"`` entries."""

    tags: Mapping[str, str] = attrs.field(factory=dict)  # tag → service
    teams: Mapping[str, str] = attrs.field(factory=dict)  # team id or name → service

    @classmethod
    def parse(cls, entries: Sequence[str]) -> ServiceMap:
        """:raises ValueError: an entry that is not ``service=tag:…`` or ``service=team:…``."""
        pairs = service_entries(entries, "services", '"service=tag:<tag>" or "service=team:<team>"', _selector)
        tags = {value: service for service, (key, value) in pairs if key == "tag"}
        teams = {value: service for service, (key, value) in pairs if key == "team"}
        return cls(tags, teams)

    def service_of(self, tags: Iterable[str], teams: Iterable[str]) -> str | None:
        """The service of the first mapped team, else of the first mapped tag."""
        for team in teams:
            if team in self.teams:
                return self.teams[team]
        for tag in tags:
            if tag in self.tags:
                return self.tags[tag]
        return None


@attrs.frozen
class JsmSettings(HttpSourceSettings):
    """``[plugins.jsm]``. The source runs when ``token`` or ``replies`` is set.

    ``timeout``, ``request_timeout``, ``max_retries`` and ``max_retry_wait`` come from
    :class:`~retroflow.sources.HttpSourceSettings`.

    :ivar api: ``"jsm"`` (Jira Service Management Operations, the default), ``"opsgenie"``
        or ``"opsgenie-eu"`` (the Opsgenie API, until it stops on 2027-04-05).
    :ivar cloud_id: the Atlassian site's cloud id (JSM only; from
        ``https://<site>.atlassian.net/_edge/tenant_info``).
    :ivar email: the Atlassian account the API token belongs to (JSM only).
    :ivar token: an Atlassian API token (JSM) or an Opsgenie API key (``GenieKey``), as an
        environment reference.
    :ivar services: ``"service=tag:<tag>"`` or ``"service=team:<team>"`` entries saying which
        alerts are which service; else an alert's ``service`` detail or ``service:<x>`` tag.
    :ivar replies: a directory of saved API replies to read instead of the API.
    :ivar max_pages: the most pages of logs (and of notes) read, 100 entries each.
    """

    api: Api = "jsm"
    cloud_id: str | None = None
    email: str | None = None
    token: Secret | None = None
    services: list[str] = attrs.field(factory=list, validator=parsed_by(ServiceMap.parse))
    replies: Path | None = None
    max_pages: int = attrs.field(default=20, validator=at_least_one)

    @property
    def configured(self) -> bool:
        return self.token is not None or self.replies is not None

    @property
    def base_url(self) -> str:
        base = API_URLS[self.api]
        return f"{base}/{self.cloud_id}" if self.api == "jsm" else base

    @property
    def is_opsgenie(self) -> bool:
        return self.api != "jsm"

    def service_map(self) -> ServiceMap:
        return ServiceMap.parse(self.services)
