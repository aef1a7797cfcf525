"""Slack messages → timeline events.

================================  ==========================================================
message                           event
================================  ==========================================================
a person's message                ``message``; ``details["belief"] = True`` when it states a
                                  belief
a person's decision               ``decision``, with ``details["why"]`` when it gives a reason
an integration's (bot's) alert    ``signal``, ``details["bot"]`` its name
other bot posts, joins, leaves,   dropped
topic/purpose/name changes,
pins, reminders, Slackbot
================================  ==========================================================

Every event: ``source = "slack"``, ``native_id = "<channel id>-<ts>"`` (stable across runs
and between the API and an export), ``actor`` the person's name (their id only when no name
is known), ``service`` the first service the text names (``details["services"]`` lists all),
``link`` the message's address when the workspace is known, ``details["ts"]`` and, for
thread replies, ``details["thread_ts"]``. Pinned messages and those with the key reaction
carry ``details["key_moment"] = True`` and ``details["marked_by"]`` (``pin``,
``reaction``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from retroflow import Event, EventKind, Gap
from retroflow.sources import OpenWindow

from .text import MAX_SUMMARY, Services, readable, summary_of, typing_of

__all__ = ["SOURCE", "Context", "Names", "Skips", "Window", "to_events"]

SOURCE = "slack"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: Subtypes of messages people write; every other subtype is channel noise.
_PERSON_SUBTYPES = frozenset({None, "thread_broadcast", "me_message", "file_share", "file_comment", "reply_broadcast"})
_BOT_SUBTYPES = frozenset({"bot_message"})
_SLACKBOT = "USLACKBOT"
_ALERT = re.compile(
    r"\b(?:alerts?|alarm|firing|fired|triggered|critical|warning|errors?|error rate|down|degraded|unhealthy"
    r"|incident|monitor|outage|failing|failed|timeouts?|latency|p[1-5]|sev-?[0-5]|5\d\d)\b",
    re.IGNORECASE,
)


@attrs.frozen
class Window(OpenWindow):
    """The time range read; Slack gives its ends as Unix seconds (``None``: open on that side)."""

    @property
    def oldest(self) -> float | None:
        return self.start.timestamp() if self.start else None

    @property
    def latest(self) -> float | None:
        return self.end.timestamp() if self.end else None


class Names:
    """People's and bots' names by user id, from ``users.json``, ``users.info`` or the
    profile a message carries. ``lookup`` is asked for ids not known yet (``None``: none)."""

    def __init__(self, lookup: Callable[[str], Mapping[str, Any] | None] | None = None) -> None:
        self._names: dict[str, str | None] = {}
        self._bots: set[str] = set()
        self._lookup = lookup

    def add(self, user: Mapping[str, Any]) -> None:
        user_id = user.get("id")
        if isinstance(user_id, str):
            self._names[user_id] = display_name(user)
            if user.get("is_bot") or user_id == _SLACKBOT:
                self._bots.add(user_id)

    def name(self, user_id: str) -> str | None:
        if user_id not in self._names:
            found = self._lookup(user_id) if self._lookup is not None else None
            self._names[user_id] = None
            if found is not None:
                self.add({**found, "id": user_id})
        return self._names[user_id]

    def knows(self, user_id: str) -> bool:
        """Whether a name is known for ``user_id`` (without asking ``lookup``)."""
        return self._names.get(user_id) is not None

    def is_bot(self, user_id: str) -> bool:
        self.name(user_id)
        return user_id in self._bots

    def unknown(self) -> list[str]:
        return sorted(user_id for user_id, name in self._names.items() if name is None)


def display_name(user: Mapping[str, Any]) -> str | None:
    """What Slack shows for a person: the display name, else the real name, else the
    user name."""
    profile = user.get("profile")
    profile = profile if isinstance(profile, Mapping) else {}
    for value in (
        profile.get("display_name"),
        profile.get("real_name"),
        user.get("display_name"),
        user.get("real_name"),
        user.get("name"),
    ):
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


class Skips:
    """Messages that could not be read, counted per reason, as gaps."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def add(self, reason: str) -> None:
        self._counts[reason] = self._counts.get(reason, 0) + 1

    def gaps(self) -> list[Gap]:
        return [
            Gap(SOURCE, "collect", "skipped", f"{count} message(s) skipped: {reason}", count)
            for reason, count in sorted(self._counts.items())
        ]


@attrs.frozen
class Context:
    """What mapping one channel's messages needs."""

    channel_id: str
    names: Names
    services: Services
    key_reaction: str = "pushpin"
    alert_bots: frozenset[str] | None = None
    workspace_url: str | None = None
    window: Window = Window()


def to_events(messages: Iterable[Mapping[str, Any]], context: Context, skips: Skips) -> list[Event]:
    """The events of ``messages`` inside the window, each ``ts`` once (a broadcast reply is
    in the history and in its thread), in the order read (the timeline sorts them)."""
    events: dict[str, Event] = {}
    oldest = context.window.oldest if context.window.oldest is not None else float("-inf")
    latest = context.window.latest if context.window.latest is not None else float("inf")
    for message in messages:
        if not isinstance(message, Mapping):
            skips.add("not a JSON object")
            continue
        ts = message.get("ts")
        try:
            seconds = float(ts)  # type: ignore[arg-type]  # TypeError for None is caught
        except (TypeError, ValueError):
            ts = None
        if not isinstance(ts, str):
            skips.add("no valid 'ts'")
            continue
        if oldest <= seconds <= latest and ts not in events:
            event = to_event(message, ts, context)
            if event is not None:
                events[ts] = event
    return list(events.values())


def timestamp(ts: str) -> datetime:
    """A message's ``ts`` ("1512085950.000216") as an aware UTC time, to the microsecond
    (through a float it could be one off)."""
    seconds, _, fraction = ts.partition(".")
    micro = int(fraction) if len(fraction) == 6 else int(fraction[:6].ljust(6, "0") or 0)
    return _EPOCH + timedelta(0, int(seconds), micro)  # twice as fast as fromtimestamp()


def to_event(message: Mapping[str, Any], ts: str, context: Context) -> Event | None:
    """One message as an event, or ``None`` for noise."""
    subtype = message.get("subtype")
    user = message.get("user")
    user = user if isinstance(user, str) else None
    if user == _SLACKBOT:
        return None
    if user is not None and "user_profile" in message:
        _learn_profile(message, user, context.names)
    if subtype in _BOT_SUBTYPES or message.get("bot_id") or (user is not None and context.names.is_bot(user)):
        return _bot_event(message, ts, context)
    if subtype not in _PERSON_SUBTYPES:
        return None
    text = readable(_text_of(message), context.names.name)
    if not text.strip():
        return None
    typing = typing_of(text)
    details = _details(message, ts, text, context)
    if typing.belief:
        details["belief"] = True
    if typing.why:
        details["why"] = typing.why
    actor = (context.names.name(user) or user) if user else _str(message.get("username"))
    return _event(
        message, ts, context, EventKind.DECISION if typing.decision else EventKind.MESSAGE, text, actor, details
    )


def _bot_event(message: Mapping[str, Any], ts: str, context: Context) -> Event | None:
    """An integration's post: a ``signal`` when it is an alert, else ``None``."""
    bot = _bot_name(message, context.names)
    text = readable(_text_of(message) or _attachment_text(message), context.names.name)
    if not text.strip():
        return None
    if context.alert_bots is not None:
        ids = {bot.lower(), str(message.get("bot_id") or "").lower()}
        if not ids & context.alert_bots:
            return None
    elif not (_ALERT.search(text) or _ALERT.search(_attachment_text(message))):
        return None
    details = _details(message, ts, text, context)
    details["bot"] = bot
    return _event(message, ts, context, EventKind.SIGNAL, text, bot, details)


def _event(
    message: Mapping[str, Any],
    ts: str,
    context: Context,
    kind: EventKind,
    text: str,
    actor: str | None,
    details: dict[str, Any],
) -> Event:
    services = context.services.named_in(text)
    if services:
        details["services"] = services
    # The constructor, not Event.create: every field is already what create() would make
    # (aware UTC time, an EventKind, a native id), and this runs once per message.
    return Event(
        at=timestamp(ts),
        source=SOURCE,
        kind=kind,
        summary=summary_of(text),
        native_id=f"{context.channel_id}-{ts}",
        actor=actor,
        service=services[0] if services else None,
        link=_link(context, ts, _str(message.get("thread_ts"))),
        details=details,
    )


def _details(message: Mapping[str, Any], ts: str, text: str, context: Context) -> dict[str, Any]:
    details: dict[str, Any] = {"ts": ts}
    thread_ts = message.get("thread_ts")
    if thread_ts is not None and thread_ts != ts and isinstance(thread_ts, str):
        details["thread_ts"] = thread_ts
    if "\n" in text or len(text) > MAX_SUMMARY:
        details["text"] = text
    if message.get("edited"):
        details["edited"] = True
    if "reactions" in message or "pinned_to" in message or "is_pinned" in message:
        marked = _marks(message, context)
        if marked:
            details["key_moment"] = True
            details["marked_by"] = marked
    return details


def _marks(message: Mapping[str, Any], context: Context) -> list[str]:
    marked = []
    if message.get("pinned_to") or message.get("is_pinned"):
        marked.append("pin")
    reactions = message.get("reactions")
    if isinstance(reactions, list):
        key = context.key_reaction
        for reaction in reactions:
            name = reaction.get("name") if isinstance(reaction, Mapping) else None
            if isinstance(name, str) and (name == key or name.startswith(key + "::")):
                marked.append("reaction")
                break
    return marked


def _text_of(message: Mapping[str, Any]) -> str:
    text = message.get("text")
    if isinstance(text, str) and text.strip():
        return text
    files = message.get("files") or ([message["file"]] if isinstance(message.get("file"), Mapping) else [])
    titles = [
        str(f.get("title") or f.get("name"))
        for f in files
        if isinstance(f, Mapping) and (f.get("title") or f.get("name"))
    ]
    return f"shared {', '.join(titles)}" if titles else ""


def _attachment_text(message: Mapping[str, Any]) -> str:
    parts = []
    for attachment in message.get("attachments") or ():
        if isinstance(attachment, Mapping):
            for key in ("pretext", "title", "text", "fallback"):
                value = attachment.get(key)
                if isinstance(value, str) and value.strip():
                    parts.append(value.strip())
                    if key in ("text", "fallback"):
                        break
    return " — ".join(parts)


def _bot_name(message: Mapping[str, Any], names: Names) -> str:
    """The name the post shows; ``users.info`` only when the post carries none."""
    profile = message.get("bot_profile")
    for value in (message.get("username"), profile.get("name") if isinstance(profile, Mapping) else None):
        if isinstance(value, str) and value.strip():
            return value.strip()
    user = message.get("user")
    name = names.name(user) if isinstance(user, str) else None
    return name or str(message.get("bot_id") or "bot")


def _learn_profile(message: Mapping[str, Any], user: str | None, names: Names) -> None:
    """Messages in exports carry their author's profile: a name without a request."""
    profile = message.get("user_profile")
    if user is not None and isinstance(profile, Mapping) and not names.knows(user):
        names.add({**profile, "id": user})


def _link(context: Context, ts: str, thread_ts: str | None) -> str | None:
    if context.workspace_url is None:
        return None
    link = f"{context.workspace_url}/archives/{context.channel_id}/p{ts.replace('.', '')}"
    if thread_ts and thread_ts != ts:
        link += f"?thread_ts={thread_ts}&cid={context.channel_id}"
    return link


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
