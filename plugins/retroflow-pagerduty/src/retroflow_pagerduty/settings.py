"""``[plugins.pagerduty]``: the settings of the PagerDuty timeline source."""

from __future__ import annotations

from pathlib import Path

import attrs

from retroflow import INPUT_PATH, Secret, at_least_one, not_negative, positive, region_url

from . import TABLE

__all__ = ["API_URLS", "TABLE", "PagerDutySettings"]

#: The REST API of each PagerDuty service region.
API_URLS = {"us": "https://api.pagerduty.com", "eu": "https://api.eu.pagerduty.com"}


def _api_url(value: str) -> str:
    return region_url(API_URLS, value)


@attrs.frozen
class PagerDutySettings:
    """``[plugins.pagerduty]``. Every key has a default; the source runs when ``token``
    or ``replies`` is set.

    :ivar token: a REST API key, as an environment reference (``"env:PAGERDUTY_TOKEN"``).
    :ivar api: the service region, ``"us"`` or ``"eu"``, or the API's https:// base URL.
    :ivar from_email: the ``From`` header (the user acting), needed by account-level keys
        for some calls; optional for the read-only calls this source makes.
    :ivar replies: a directory of saved API replies to read instead of the API.
    :ivar timeout: seconds the whole source may take (default: ``[retroflow] source_timeout``).
    :ivar request_timeout: seconds one HTTP request may take.
    :ivar retries: how many times a request that failed with a 5xx status or a network
        error is tried again.
    :ivar rate_limit_retries: how many times a request answered with 429 is tried again.
    :ivar max_wait: the longest single wait, in seconds, before trying again (caps
        ``ratelimit-reset`` / ``Retry-After``).
    :ivar history_days: how many days before the incident to look for past incidents of
        the same services (0: none).
    :ivar concurrency: how many requests may be in flight at once (1: strictly serial).
    :ivar ca_bundle: a PEM file of the CA certificates to trust for the API instead of the
        system's (a TLS-inspecting proxy, a test double); unset: ``SSL_CERT_FILE``, else the
        system's.
    :ivar webhook_secrets: the signing secrets of the V3 webhook subscriptions whose
        deliveries ``retroflow serve`` takes at ``/webhooks/pagerduty``, as environment
        references; several while a secret is rotated (a delivery is genuine when one of
        its signatures matches one of them).
    """

    token: Secret | None = None
    api: str = attrs.field(default="us", converter=_api_url)
    from_email: str | None = None
    replies: Path | None = None
    timeout: float | None = attrs.field(default=None, validator=positive)
    request_timeout: float = attrs.field(default=10.0, validator=positive)
    retries: int = attrs.field(default=3, validator=not_negative)
    rate_limit_retries: int = attrs.field(default=5, validator=not_negative)
    max_wait: float = attrs.field(default=30.0, validator=positive)
    history_days: int = attrs.field(default=90, validator=not_negative)
    concurrency: int = attrs.field(default=4, validator=at_least_one)
    ca_bundle: Path | None = attrs.field(default=None, metadata=INPUT_PATH)
    webhook_secrets: list[Secret] = attrs.field(factory=list)

    @property
    def configured(self) -> bool:
        return self.token is not None or self.replies is not None
