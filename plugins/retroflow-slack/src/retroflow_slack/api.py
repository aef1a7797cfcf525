"""Reading a channel live through slack-sdk's ``WebClient``.

* ``conversations.history`` for the window (``oldest``/``latest``, 200 a page, following
  ``response_metadata.next_cursor``); it does not return thread replies, so
* ``conversations.replies`` for every message in it that has replies (``reply_count``);
* ``users.info`` once per person, for names (the client keeps no cache; :class:`Names`
  does).

slack-sdk's default retry handlers retry connection errors only; a 429 would end the
collection. :class:`BoundedRateLimitHandler` waits as ``Retry-After`` says, at most
``rate_limit_retries`` times and never longer than ``max_wait`` at once: a longer wait
ends the collection with an error saying so, rather than sleeping past the source's
timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web import SlackResponse

from retroflow import SourceError

from .mapping import Window
from .settings import SlackSettings

__all__ = ["PAGE_SIZE", "BoundedRateLimitHandler", "SlackApi"]

#: Messages asked for per page (Slack recommends no more than 200).
PAGE_SIZE = 200

Sleep = Callable[[float], None]

#: What to do about Slack's error codes, said in the error.
_HINTS = {
    "not_in_channel": "invite the app to the channel (/invite @<app>)",
    "channel_not_found": "check [plugins.slack] channel (an id like C024BE91L) and that the app can see it",
    "missing_scope": "add the scope to the app and reinstall it",
    "invalid_auth": "check the token [plugins.slack] token names",
    "not_authed": "check the token [plugins.slack] token names",
    "token_revoked": "the token was revoked: make a new one",
    "account_inactive": "the token's app or user was deactivated",
}


def _retry_after(response: HttpResponse | None) -> float:
    """``Retry-After`` in seconds (1 when absent or unreadable, as slack-sdk assumes)."""
    if response is not None:
        for name, values in response.headers.items():
            if name.lower() == "retry-after" and values:
                try:
                    return max(0.0, float(values[0]))
                except ValueError:
                    break
    return 1.0


class BoundedRateLimitHandler(RateLimitErrorRetryHandler):
    """Retries a 429 after ``Retry-After``, at most ``max_retry_count`` times, and only
    when the wait is at most ``max_wait`` seconds."""

    def __init__(self, *, max_retry_count: int, max_wait: float, sleep: Sleep = time.sleep) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait
        self._sleep = sleep

    # slack-sdk passes an attempt's state, request, response and error by keyword: each
    # method names those it reads.

    def _can_retry(self, *, response: HttpResponse | None = None, **attempt: Any) -> bool:
        limited = super()._can_retry(response=response, **attempt)
        return limited and _retry_after(response) <= self.max_wait

    def prepare_for_next_attempt(
        self, *, state: RetryState, response: HttpResponse | None = None, **_attempt: Any
    ) -> None:
        state.next_attempt_requested = True
        self._sleep(_retry_after(response))
        state.increment_current_attempt()


class SlackApi:
    """The three Web API methods the source calls, with errors that say what to do.

    :param base_url: the Web API's address (tests point it at a fake server).
    """

    def __init__(self, settings: SlackSettings, *, base_url: str | None = None, sleep: Sleep = time.sleep) -> None:
        assert settings.token is not None
        self.settings = settings
        self.client = WebClient(
            token=settings.token.reveal(),
            base_url=base_url or WebClient.BASE_URL,
            timeout=max(1, round(settings.request_timeout)),
            retry_handlers=[
                ConnectionErrorRetryHandler(),
                BoundedRateLimitHandler(
                    max_retry_count=settings.rate_limit_retries, max_wait=settings.max_wait, sleep=sleep
                ),
            ],
        )

    def history(self, channel: str, window: Window) -> Iterator[Mapping[str, Any]]:
        """The channel's messages in the window, newest first, page by page."""
        bounds = {}
        if window.oldest is not None:
            bounds["oldest"] = f"{window.oldest:.6f}"
        if window.latest is not None:
            bounds["latest"] = f"{window.latest:.6f}"
        yield from self._pages(self.client.conversations_history, channel=channel, inclusive=True, **bounds)

    def replies(self, channel: str, thread_ts: str) -> Iterator[Mapping[str, Any]]:
        """The replies of one thread (its parent, which comes first, left out)."""
        for message in self._pages(self.client.conversations_replies, channel=channel, ts=thread_ts):
            if message.get("ts") != thread_ts:
                yield message

    def user(self, user_id: str) -> Mapping[str, Any] | None:
        """``users.info``: the user, or ``None`` when Slack does not know them."""
        reply = self._call(self.client.users_info, user=user_id, missing_ok=True)
        user = reply.get("user") if reply is not None else None
        return user if isinstance(user, Mapping) else None

    def _pages(self, method: Callable[..., SlackResponse], **params: Any) -> Iterator[Mapping[str, Any]]:
        cursor = None
        while True:
            reply = self._call(method, limit=PAGE_SIZE, **params, **({"cursor": cursor} if cursor else {}))
            assert reply is not None
            for message in reply.get("messages") or ():
                if isinstance(message, Mapping):
                    yield message
            metadata = reply.get("response_metadata")
            cursor = metadata.get("next_cursor") if isinstance(metadata, Mapping) else None
            if not cursor or not reply.get("has_more", True):
                return

    def _call(
        self, method: Callable[..., SlackResponse], *, missing_ok: bool = False, **params: Any
    ) -> Mapping[str, Any] | None:
        try:
            data = method(**params).data
            return data if isinstance(data, Mapping) else {}
        except SlackApiError as exc:
            failure = exc
        if missing_ok and failure.response.get("error") in ("user_not_found", "user_not_visible"):
            return None
        # Raised outside the except block: the client's error carries the request.
        raise SourceError(_describe(method.__name__.replace("_", ".", 1), failure, self.settings))


def _describe(method: str, failure: SlackApiError, settings: SlackSettings) -> str:
    response = failure.response
    if response.status_code == 429:
        headers = {k.lower(): v for k, v in (response.headers or {}).items()}
        asked = headers.get("retry-after", "?")
        return (
            f"Slack {method}: rate limited; Slack asked to wait {asked} s, more than [plugins.slack] "
            f"max_wait = {settings.max_wait:g}, or {settings.rate_limit_retries} retries were used up"
        )
    code = str(response.get("error") or f"HTTP {response.status_code}")
    needed = response.get("needed")
    hint = _HINTS.get(code, "")
    if needed:
        hint = f"{hint} (needed: {needed})" if hint else f"needed scope: {needed}"
    return f"Slack {method}: {code}" + (f"; {hint}" if hint else "")
