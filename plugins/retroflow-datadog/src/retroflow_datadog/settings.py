"""``[plugins.datadog]``: the settings of the Datadog timeline source."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from retroflow import Secret, at_least_one, not_negative
from retroflow.sources import HttpSourceSettings, parsed_by, service_entries

from . import TABLE

__all__ = ["SITES", "TABLE", "DatadogSettings", "ServiceMap"]


#: The Datadog sites (``https://api.<site>`` is each one's API).
SITES = (
    "datadoghq.com",
    "us3.datadoghq.com",
    "us5.datadoghq.com",
    "datadoghq.eu",
    "ap1.datadoghq.com",
    "ap2.datadoghq.com",
    "uk1.datadoghq.com",
    "ddog-gov.com",
    "us2.ddog-gov.com",
)


def _selector(selector: str) -> tuple[str, str] | None:
    """A ``key:value`` selector (a tag, or ``monitor:ID``); ``None`` when it is not one.

    :raises ValueError: a monitor id that is not a number.
    """
    key, colon, value = selector.partition(":")
    if not colon or not key or not value:
        return None
    if key == "monitor" and not value.isdigit():
        raise ValueError(f"monitor id {value!r} is not a number")
    return key, value


def _site(value: str) -> str:
    """A site name (``app.`` prefix allowed, as the browser shows it) or an https:// URL."""
    site = value.strip().lower().removeprefix("https://").removeprefix("app.").rstrip("/")
    if site in SITES:
        return site
    if value.startswith("https://") and "." in site:
        return value.rstrip("/")  # a proxy, or a site newer than this list
    raise ValueError(f"site: expected one of {', '.join(SITES)} or an https:// URL, got {value!r}")


@attrs.frozen
class ServiceMap:
    """Which Datadog tags or monitors belong to which retroflow service.

    Entries are ``"service=selector"``: a tag (``payments-api=service:payments``,
    ``payments-api=team:payments``) or a monitor (``payments-api=monitor:12345``).
    """

    tags: Mapping[str, str] = attrs.field(factory=dict)  # tag → service
    monitors: Mapping[int, str] = attrs.field(factory=dict)  # monitor id → service

    @classmethod
    def parse(cls, entries: Sequence[str]) -> ServiceMap:
        """:raises ValueError: an entry that is not ``service=key:value`` (naming it)."""
        pairs = service_entries(entries, "services", '"service=tag:value" or "service=monitor:ID"', _selector)
        tags = {f"{key}:{value}": service for service, (key, value) in pairs if key != "monitor"}
        monitors = {int(value): service for service, (key, value) in pairs if key == "monitor"}
        return cls(tags, monitors)

    def service_of(self, tags: Iterable[str], monitor_id: int | None) -> str | None:
        """The service a monitor, else the first mapped tag, belongs to."""
        if monitor_id is not None and monitor_id in self.monitors:
            return self.monitors[monitor_id]
        for tag in tags:
            if tag in self.tags:
                return self.tags[tag]
        return None

    def names(self) -> list[str]:
        """Every mapped service, in the order of the settings."""
        return list(dict.fromkeys([*self.tags.values(), *self.monitors.values()]))

    def selectors(self, services: Iterable[str]) -> list[str]:
        """Event search terms for ``services``: their mapped tags and monitors, and
        ``service:<name>`` for a service that is not mapped (unified service tagging)."""
        terms: list[str] = []
        for service in services:
            mapped = [tag for tag, owner in self.tags.items() if owner == service]
            mapped += [f"@monitor.id:{m}" for m, owner in self.monitors.items() if owner == service]
            terms.extend(mapped or [f"service:{service}"])
        return list(dict.fromkeys(terms))


def _page_size(instance: Any, attribute: attrs.Attribute[Any], value: int) -> None:
    if not 1 <= value <= 1000:
        raise ValueError(f"{attribute.name}: expected 1 to 1000 (the API's most), got {value!r}")


@attrs.frozen
class DatadogSettings(HttpSourceSettings):
    """``[plugins.datadog]``. The source runs when ``api_key`` and ``app_key``, or
    ``replies``, are set.

    ``timeout``, ``request_timeout``, ``max_retries`` and ``max_retry_wait`` come from
    :class:`~retroflow.sources.HttpSourceSettings` (a 429 whose ``X-RateLimit-Reset`` asks for
    more than ``max_retry_wait`` fails at once).

    :ivar api_key: an API key, as an environment reference (``"env:DD_API_KEY"``).
    :ivar app_key: an application key with ``events_read``, as an environment reference.
    :ivar site: the Datadog site (``datadoghq.com``, ``datadoghq.eu``, ``us3.datadoghq.com``,
        ``us5.datadoghq.com``, ``ap1.datadoghq.com``, ``ddog-gov.com``, …) or an https:// URL.
    :ivar services: ``"service=tag:value"`` or ``"service=monitor:ID"`` entries saying which
        tags and monitors belong to which service; a service not listed is searched as
        ``service:<name>``.
    :ivar change_sources: event sources whose events are changes (deploys, config changes).
    :ivar before_minutes: how long before the incident was created to look.
    :ivar after_minutes: how long after it was resolved to look.
    :ivar replies: a directory of saved API replies to read instead of the API.
    :ivar page_size: events per page (the API allows up to 1000).
    :ivar max_pages: the most pages read; more events than that are a recorded gap.
    """

    api_key: Secret | None = None
    app_key: Secret | None = None
    site: str = attrs.field(default="datadoghq.com", converter=_site)
    services: list[str] = attrs.field(factory=list, validator=parsed_by(ServiceMap.parse))
    change_sources: list[str] = attrs.field(factory=lambda: ["deploy", "deployment", "change"])
    before_minutes: int = attrs.field(default=120, validator=not_negative)
    after_minutes: int = attrs.field(default=30, validator=not_negative)
    replies: Path | None = None
    page_size: int = attrs.field(default=1000, validator=_page_size)
    max_pages: int = attrs.field(default=10, validator=at_least_one)

    @property
    def configured(self) -> bool:
        return self.replies is not None or (self.api_key is not None and self.app_key is not None)

    @property
    def api_url(self) -> str:
        return self.site if self.site.startswith("https://") else f"https://api.{self.site}"

    @property
    def app_url(self) -> str:
        """Where people open monitors and events (links in the retro)."""
        if self.site.startswith("https://"):
            return self.site
        # The first sites are app.<site>; the regions opened later are <region>.datadoghq.com.
        return f"https://app.{self.site}" if self.site.count(".") == 1 else f"https://{self.site}"

    def service_map(self) -> ServiceMap:
        return ServiceMap.parse(self.services)
