"""The ``slack`` timeline source: the plugin object retroflow registers.

It runs when ``[plugins.slack]`` has a ``token`` (the live Web API) or an ``export`` (a
workspace export folder; it wins when both are set), and returns ``None`` otherwise. It
asks for the incident, so it runs after the other sources, with the incident they
describe: the channel comes from ``channel`` or the incident's Slack link, the time range
from the incident's creation and resolution (``margin_minutes`` either side).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from retroflow.sources import AroundIncidentSource

from . import TABLE

if TYPE_CHECKING:
    from retroflow import Gap, Incident, SourceResult

    from .channel import ChannelRef
    from .mapping import Context, Window
    from .settings import SlackSettings

# The mapping, the text rules and the settings are imported when the source runs: every
# command loads every plugin, most without running it (``retroflow --help``).

__all__ = ["SlackSource", "plugin"]


class SlackSource(AroundIncidentSource):
    """The plugin. :data:`plugin` is the instance the entry point registers; tests make
    their own pointed at a fake Web API, with a ``sleep`` that does not sleep.

    :param base_url: the Web API's address (default: Slack's).
    :param sleep: how to wait before retrying a rate-limited request.
    """

    table = TABLE
    settings_class = "retroflow_slack.settings:SlackSettings"

    def __init__(self, *, base_url: str | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(sleep=sleep)
        self._base_url = base_url

    def collect(self, settings: SlackSettings, incident: Incident) -> SourceResult:
        from .channel import ChannelRef, channel_from_incident

        linked = channel_from_incident(incident)
        ref = ChannelRef(settings.channel) if settings.channel else linked
        if ref is None:
            return _nothing(
                "no channel: set [plugins.slack] channel, or link the incident to its Slack channel "
                "(https://<workspace>.slack.com/archives/<id>)"
            )
        context = _context(settings, incident, ref, linked)
        if settings.export is not None:
            return self._from_export(settings, ref, context)
        if context.window.oldest is None:
            return _nothing(
                "the incident has no creation time (no other source gave one), so the channel's history "
                "is not read live; give it one (--incident-file) or read an export"
            )
        return self._live(settings, ref, context)

    def _from_export(self, settings: SlackSettings, ref: ChannelRef, context: Context) -> SourceResult:
        import attrs

        from retroflow import SourceResult

        from .export import read_export
        from .mapping import Skips, to_events

        assert settings.export is not None
        exported = read_export(settings.export, ref, context.window)
        context = attrs.evolve(context, channel_id=exported.channel_id, names=exported.names)
        skips = Skips()
        events = to_events(exported.messages, context, skips)
        return SourceResult(events=events, gaps=[*exported.gaps, *skips.gaps()])

    def _live(self, settings: SlackSettings, ref: ChannelRef, context: Context) -> SourceResult:
        import attrs

        from retroflow import Gap, SourceResult

        from .api import SlackApi  # the client: imported when used
        from .mapping import SOURCE, Names, Skips, to_events

        api = SlackApi(settings, base_url=self._base_url, sleep=self._sleep)
        lookup = _NameLookup(api)
        names = Names(lookup)
        context = attrs.evolve(context, names=names)
        gaps: list[Gap] = []
        messages = list(_bounded(_with_replies(api, ref.name_or_id, context.window), settings.max_messages, gaps))
        skips = Skips()
        events = to_events(messages, context, skips)
        unknown = names.unknown()
        if unknown:
            why = f": {lookup.failure}" if lookup.failure else ""
            gaps.append(Gap(SOURCE, "collect", "skipped", f"{len(unknown)} user(s) without a name (users.info){why}"))
        return SourceResult(events=events, gaps=[*gaps, *skips.gaps()])


class _NameLookup:
    """``users.info`` for :class:`Names`; after a failure other than an unknown user (a
    missing ``users:read`` scope, a rate limit past ``max_wait``) it stops asking: names are
    a nicety, the messages are not lost for them."""

    def __init__(self, api: Any) -> None:
        self._api = api
        self.failure: str | None = None

    def __call__(self, user_id: str) -> Mapping[str, Any] | None:
        if self.failure is not None:
            return None
        from retroflow import SourceError

        try:
            user: Mapping[str, Any] | None = self._api.user(user_id)
        except SourceError as exc:
            self.failure = str(exc)
            return None
        return user


def _with_replies(api: Any, channel: str, window: Window) -> Iterator[Mapping[str, Any]]:
    """The history, each thread's replies right after its parent."""
    for message in api.history(channel, window):
        yield message
        thread_ts = message.get("thread_ts")
        if message.get("reply_count") and isinstance(thread_ts, str) and thread_ts == message.get("ts"):
            yield from api.replies(channel, thread_ts)


def _bounded(messages: Iterator[Mapping[str, Any]], limit: int, gaps: list[Gap]) -> Iterator[Mapping[str, Any]]:
    for count, message in enumerate(messages):
        if count == limit:
            from retroflow import Gap

            from .mapping import SOURCE

            gaps.append(
                Gap(SOURCE, "collect", "skipped", f"stopped after {limit} messages ([plugins.slack] max_messages)")
            )
            return
        yield message


def _context(settings: SlackSettings, incident: Incident, ref: ChannelRef, linked: ChannelRef | None) -> Context:
    """What mapping the channel's messages needs, as the settings and the incident say it:
    the export or the API then tell the channel's id and its people's names."""
    from .mapping import Context, Names, Window
    from .text import Services

    return Context(
        channel_id=ref.name_or_id,
        names=Names(),
        services=Services.of(settings.services, incident.services),
        key_reaction=settings.key_reaction,
        alert_bots=None if settings.alert_bots is None else frozenset(b.lower() for b in settings.alert_bots),
        workspace_url=settings.workspace_url or (linked.workspace_url if linked else None),
        window=Window.around(incident, settings.margin_minutes, settings.margin_minutes),
    )


def _nothing(reason: str) -> SourceResult:
    from retroflow import Gap, SourceResult

    from .mapping import SOURCE

    return SourceResult(gaps=[Gap(SOURCE, "collect", "skipped", reason)])


#: The instance the ``retroflow`` entry point registers.
plugin = SlackSource()
