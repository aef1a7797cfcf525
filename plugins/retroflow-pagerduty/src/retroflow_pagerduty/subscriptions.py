"""PagerDuty V3 webhook subscriptions: the ones delivering to retroflow, made and kept up.

A subscription sends the events of the whole account, of one service or of one team to a
URL, signed with a secret PagerDuty makes and shows **only in the reply to the create**
(``delivery_method.secret``). So a subscription is never re-created behind the user's back:
that would change the secret and every delivery would fail its signature check until the
config holds the new one. PagerDuty disables a subscription for 24 hours after three
deliveries in a row are dropped (``delivery_method.temporarily_disabled``);
``POST /webhook_subscriptions/{id}/enable`` ends that early.

Listing needs a key with ``webhook_subscriptions.read``; creating, deleting, enabling and
pinging need ``webhook_subscriptions.write`` (a read-only REST API key is refused with 403).
This module holds what they are and what to do; :mod:`.subscriptions_api` makes the
requests (kept apart so that the command line loads the client only when it calls the API).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from retroflow import RetroflowError, Secret

__all__ = [
    "EVENTS",
    "READ_SCOPE",
    "WRITE_SCOPE",
    "Created",
    "Filter",
    "Plan",
    "Subscription",
    "filters_of",
    "plan_subscribe",
    "same_url",
]

#: The incident events retroflow's intake records: the resolve and reopen that start and
#: stop a draft, and what happens to an incident on the way, for its timeline.
EVENTS = (
    "incident.triggered",
    "incident.acknowledged",
    "incident.unacknowledged",
    "incident.annotated",
    "incident.delegated",
    "incident.escalated",
    "incident.reassigned",
    "incident.priority_updated",
    "incident.responder.added",
    "incident.responder.replied",
    "incident.status_update_published",
    "incident.reopened",
    "incident.resolved",
)
READ_SCOPE = "webhook_subscriptions.read"
WRITE_SCOPE = "webhook_subscriptions.write"


@attrs.frozen
class Filter:
    """Whose events a subscription receives: the whole ``account``, or one ``service`` or
    ``team`` by id."""

    kind: str
    id: str | None = None

    @classmethod
    def from_api(cls, value: Any) -> Filter:
        """A subscription's ``filter`` (``{"type": "service_reference", "id": …}``)."""
        if not isinstance(value, Mapping):
            return cls("unknown")
        kind = str(value.get("type") or "unknown").removesuffix("_reference")
        ident = value.get("id")
        return cls(kind, str(ident) if ident and kind != "account" else None)

    def to_api(self) -> dict[str, str]:
        body = {"type": f"{self.kind}_reference"}
        if self.id is not None:
            body["id"] = self.id
        return body

    def __str__(self) -> str:
        return self.kind if self.id is None else f"{self.kind} {self.id}"


@attrs.frozen
class Subscription:
    """One webhook subscription, as ``GET /webhook_subscriptions`` describes it.

    :ivar active: PagerDuty makes events for it (a user can pause it).
    :ivar temporarily_disabled: PagerDuty stopped delivering after dropped deliveries.
    """

    id: str
    url: str
    filter: Filter
    events: tuple[str, ...] = ()
    description: str = ""
    active: bool = True
    temporarily_disabled: bool = False

    @classmethod
    def from_api(cls, value: Any) -> Subscription:
        """A subscription object of a reply; only an id is required (webhook deliveries
        by other means than HTTP have no URL)."""
        if not isinstance(value, Mapping) or not value.get("id"):
            raise RetroflowError("PagerDuty answered with a webhook subscription without an id")
        delivery = value.get("delivery_method")
        delivery = delivery if isinstance(delivery, Mapping) else {}
        events = value.get("events")
        return cls(
            id=str(value["id"]),
            url=str(delivery.get("url") or ""),
            filter=Filter.from_api(value.get("filter")),
            events=tuple(str(e) for e in events) if isinstance(events, list) else (),
            description=str(value.get("description") or ""),
            active=value.get("active") is not False,
            temporarily_disabled=delivery.get("temporarily_disabled") is True,
        )

    @property
    def state(self) -> str:
        if self.temporarily_disabled:
            return "temporarily disabled"
        return "active" if self.active else "inactive"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "filter": {"type": self.filter.kind, "id": self.filter.id},
            "events": list(self.events),
            "description": self.description,
            "active": self.active,
            "temporarily_disabled": self.temporarily_disabled,
            "state": self.state,
        }


@attrs.frozen
class Created:
    """A subscription just made, and its signing secret (``secret.env``: the environment
    variable it is meant for; its ``repr`` never shows the value)."""

    subscription: Subscription
    secret: Secret


def same_url(left: str, right: str) -> bool:
    """Whether two delivery URLs are the same endpoint (a trailing ``/`` aside)."""
    return left.rstrip("/") == right.rstrip("/")


def filters_of(services: Iterable[str], teams: Iterable[str]) -> list[Filter]:
    """The filters ``--service`` and ``--team`` ask for, in order, each once; the whole
    account when none."""
    wanted = [Filter("service", s) for s in services] + [Filter("team", t) for t in teams]
    return list(dict.fromkeys(wanted)) or [Filter("account")]


@attrs.frozen
class Plan:
    """What ``subscribe`` does for a URL, given the subscriptions the account has.

    :ivar create: the filters to make a subscription for.
    :ivar replace: subscriptions to the URL with one of those filters: each is deleted once
        its replacement is made (``--replace``).
    :ivar alongside: subscriptions to the URL with other filters, which stay.
    """

    create: tuple[Filter, ...]
    replace: tuple[Subscription, ...] = ()
    alongside: tuple[Subscription, ...] = ()


def plan_subscribe(
    existing: Iterable[Subscription], url: str, filters: Sequence[Filter], *, replace: bool, add: bool
) -> Plan:
    """What to do, or why not: a URL that already has a subscription gets another only
    when asked, since each subscription has its own secret.

    :raises RetroflowError: a subscription for the URL exists and the flag that allows the
        change was not given; the message lists them and says what the flag does.
    """
    at_url = [s for s in existing if same_url(s.url, url)]
    same = tuple(s for s in at_url if s.filter in filters)
    others = tuple(s for s in at_url if s.filter not in filters)
    if same and not replace:
        raise RetroflowError(
            f"{url} already has a webhook subscription for {_listed(same)}. Subscribing again makes a new signing "
            "secret, and the old one stops working at once: pass --replace to do that (the old subscription is "
            "deleted once the new one is made; then put the new secret in webhook_secrets)"
        )
    new = [f for f in filters if not any(s.filter == f for s in same)]
    if new and others and not add:
        raise RetroflowError(
            f"{url} already receives PagerDuty webhooks from {_listed(others)}. Pass --add to make another "
            f"subscription for {', '.join(map(str, new))} next to them: it gets a signing secret of its own, and "
            "theirs must stay in webhook_secrets"
        )
    return Plan(create=tuple(filters), replace=same, alongside=others)


def _listed(subscriptions: Sequence[Subscription]) -> str:
    return ", ".join(f"{s.filter} (subscription {s.id}, {s.state})" for s in subscriptions)
