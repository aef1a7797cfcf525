"""The requests behind ``retroflow pagerduty``: the webhook subscription operations of the
REST API, on the timeline source's client, settings and bounded retries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from retroflow import RetroflowError, Secret

from .api import PAGE_SIZE, PAGINATION_LIMIT, PagerDutyApi, _error_message
from .subscriptions import READ_SCOPE, WRITE_SCOPE, Created, Filter, Subscription

__all__ = ["PATH", "SubscriptionsApi"]

PATH = "/webhook_subscriptions"


class SubscriptionsApi(PagerDutyApi):
    """The webhook subscription operations, on the source's client and settings.

    Requests are retried as the source's are (429 within ``rate_limit_retries``; 5xx and
    network errors ``retries`` times), except the create: a create whose reply was lost
    may have made a subscription, and a second one would have another secret.
    """

    def list_all(self) -> list[Subscription]:
        """Every webhook subscription of the account, page by page."""
        found: list[Subscription] = []
        offset = 0
        what = "listing webhook subscriptions"
        while offset + PAGE_SIZE <= PAGINATION_LIMIT:
            reply = self._call("GET", PATH, what=what, params={"limit": PAGE_SIZE, "offset": offset})
            items = reply.get("webhook_subscriptions")
            if not isinstance(items, list):
                raise RetroflowError("PagerDuty answered the webhook subscription list without a list")
            found.extend(Subscription.from_api(item) for item in items)
            if reply.get("more") is not True or not items:
                break
            offset += len(items)
        return found

    def create(self, url: str, filter: Filter, events: Sequence[str], description: str, secret_env: str) -> Created:
        """Make a subscription; its secret, from the reply, is returned as ``secret_env``'s."""
        body = {
            "webhook_subscription": {
                "type": "webhook_subscription",
                "delivery_method": {"type": "http_delivery_method", "url": url},
                "events": list(events),
                "filter": filter.to_api(),
                "description": description,
                "active": True,
            }
        }
        reply = self._call("POST", PATH, what=f"creating a webhook subscription for {filter}", json=body, retry=False)
        made = reply.get("webhook_subscription")
        subscription = Subscription.from_api(made)
        delivery = made.get("delivery_method") if isinstance(made, Mapping) else None
        secret = delivery.get("secret") if isinstance(delivery, Mapping) else None
        if not isinstance(secret, str) or not secret:
            raise RetroflowError(
                f"PagerDuty created webhook subscription {subscription.id} ({filter}) but its reply holds no "
                "signing secret, and it is shown only once: delete that subscription in PagerDuty and subscribe again"
            )
        return Created(subscription, Secret(env=secret_env, value=secret))

    def delete(self, subscription_id: str) -> None:
        self._call("DELETE", f"{PATH}/{subscription_id}", what=f"deleting webhook subscription {subscription_id}")

    def enable(self, subscription_id: str) -> Subscription:
        """Re-enable a temporarily disabled subscription; the subscription as it now is."""
        what = f"enabling webhook subscription {subscription_id}"
        reply = self._call("POST", f"{PATH}/{subscription_id}/enable", what=what)
        return Subscription.from_api(reply.get("webhook_subscription"))

    def ping(self, subscription_id: str) -> None:
        """Have PagerDuty send a test delivery (``pagey.ping``) to the subscription's URL."""
        self._call("POST", f"{PATH}/{subscription_id}/ping", what=f"pinging webhook subscription {subscription_id}")

    # -- requests ------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, what: str, retry: bool = True, **sent: Any) -> dict[str, Any]:
        """One operation (``sent``: the client's ``params``, ``json``), retried within the
        settings' bounds (a create only after a 429: see the class): the decoded reply
        (``{}`` for a reply without a body), or an error in words (never the key, the secret
        or a request header)."""
        not_retried = None if retry else MAYBE_MADE
        response = self._answer(method, path, what=what, error=RetroflowError, not_retried=not_retried, **sent)
        status = response.status_code
        if status < 300:
            return self._decode(response, what) if response.content else {}
        raise RetroflowError(_refusal(what, status, method, _error_message(response), retry=retry))


#: What to say when a create may or may not have reached PagerDuty.
MAYBE_MADE = (
    "the request may have reached PagerDuty. Run `retroflow pagerduty subscriptions` to see whether the "
    "subscription was made before trying again"
)


def _refusal(what: str, status: int, method: str, message: str, *, retry: bool) -> str:
    """A failed operation in words: which setting or scope to look at."""
    said = f": {message}" if message else ""
    scope = READ_SCOPE if method == "GET" else WRITE_SCOPE
    if status == 401:
        return (
            f"PagerDuty refused {what} (HTTP 401){said}. Check [plugins.pagerduty] token: the key is invalid or "
            "deactivated, or belongs to the other service region (setting `api`)"
        )
    if status == 403:
        advice = (
            "A read-only REST API key cannot make changes: use a general access key of a user allowed to manage "
            "webhooks, or an OAuth token with that scope"
            if scope == WRITE_SCOPE
            else "Use a REST API key, or an OAuth token with that scope"
        )
        return f"PagerDuty refused {what} (HTTP 403){said}. The key lacks the {scope} scope. {advice}"
    if status == 404:
        return f"PagerDuty refused {what} (HTTP 404){said}: no such webhook subscription"
    if status == 429:
        return f"PagerDuty rate limit: {what} still refused (HTTP 429); raise rate_limit_retries or try later"
    if status >= 500:
        return f"PagerDuty API error while {what} (HTTP {status})" + ("" if retry else f": {MAYBE_MADE}")
    return f"PagerDuty refused {what} (HTTP {status}){said}"
