"""The ``pagerduty`` timeline source: the plugin object retroflow registers.

It runs when ``[plugins.pagerduty]`` has a ``token`` (the live API) or ``replies`` (a
directory of saved API replies; it wins when both are set). It returns ``None``, so the
retro is built from the other sources, when neither is set, or, live, when the incident
reference is not a PagerDuty one (an id like ``PT4KHLK``, a number like ``1234`` or
``#1234``, or an ``https://<subdomain>.pagerduty.com/incidents/<id>`` URL).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from retroflow import hookimpl, utcnow
from retroflow.lazy import lazy_exports
from retroflow.sources import NamedIncidentSource

from . import TABLE

if TYPE_CHECKING:
    import click
    import httpx2

    from retroflow import Config, DraftedRetro, Gap, RetroRequest, SourceResult

    from .refs import IncidentRef, parse_incident_ref
    from .replies import Replies, Sleep
    from .settings import PagerDutySettings

# The mapping, the saved replies and the settings are imported when the source runs:
# every command loads every plugin, most without running it (``retroflow --help``).

__all__ = ["IncidentRef", "PagerDutySource", "parse_incident_ref", "plugin"]


class PagerDutySource(NamedIncidentSource):
    """The plugin. :data:`plugin` is the instance the entry point registers; tests make
    their own with a fake ``transport`` and a ``sleep`` that does not sleep.

    :param transport: the httpx2 transport for live requests (default: the network).
    :param sleep: how to wait before retrying.
    :param now: the current time (for the history window of an incident without a
        creation time).
    """

    table = TABLE
    settings_class = "retroflow_pagerduty.settings:PagerDutySettings"

    def __init__(
        self,
        *,
        transport: httpx2.BaseTransport | None = None,
        sleep: Sleep = time.sleep,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(sleep=sleep, now=now or utcnow)
        self._transport = transport

    @hookimpl
    def retroflow_register_commands(self, cli: click.Group) -> None:
        from .commands import pagerduty_group  # the command line's part: imported when it asks

        cli.add_command(pagerduty_group(transport=self._transport, sleep=self._sleep))

    def collect(self, settings: PagerDutySettings, request: RetroRequest) -> SourceResult | None:
        from retroflow import Gap

        from . import mapping
        from .saved import read_replies

        gaps: list[Gap] = []
        if settings.replies is not None:
            replies, missing = read_replies(settings.replies)
            _check_saved_incident(replies, request.incident_ref, settings)
            gaps.extend(
                Gap(mapping.SOURCE, "collect", "skipped", f"saved replies in {settings.replies} lack {name}")
                for name in missing
            )
        else:
            from .refs import parse_incident_ref

            ref = parse_incident_ref(request.incident_ref)
            if ref is None:
                return None
            replies = self.fetch(settings, ref)
        return to_result(replies, gaps)

    @hookimpl
    def retroflow_register_webhooks(self, register: Callable[[Any], None]) -> None:
        from .webhooks import PagerDutyWebhooks

        register(PagerDutyWebhooks())

    @hookimpl
    def retroflow_register_incident_feeds(self, register: Callable[[Any], None]) -> None:
        from .feed import PagerDutyFeed

        register(PagerDutyFeed(self.api))

    @hookimpl
    def retroflow_retro_drafted(self, draft: DraftedRetro, config: Config) -> None:
        """Add a note with the retro's link and timeline owner to the incident, when
        ``[service] pagerduty_note`` is on and the draft is of a PagerDuty incident."""
        if draft.source != TABLE or not config.service.pagerduty_note:
            return
        from .notes import add_note

        add_note(config.settings_for(TABLE), draft, api=self.api)

    def api(self, settings: PagerDutySettings) -> Any:
        """A REST API client with this plugin's transport and sleep."""
        from .api import PagerDutyApi

        return PagerDutyApi(settings, transport=self._transport, sleep=self._sleep, clock=self._now)

    def fetch(self, settings: PagerDutySettings, ref: IncidentRef) -> Replies:
        """The live replies for ``ref``."""
        from retroflow.sources import read_record

        from .api import IncidentCollector  # the client: imported when used
        from .replies import IncidentNotFound

        api = self.api(settings)

        def read() -> Replies:
            return IncidentCollector(api, now=self._now).collect(ref.value, by_number=ref.by_number)

        return read_record(api, read, IncidentNotFound, f"PagerDuty incident {ref} not found")


def _check_saved_incident(replies: Replies, incident_ref: str, settings: PagerDutySettings) -> None:
    """Saved replies describe one incident: refuse to pass them off as another."""
    from retroflow.sources import check_saved_record

    from .refs import parse_incident_ref

    saved = f"saved PagerDuty replies in {settings.replies} are for incident"
    check_saved_record(
        replies.incident,
        incident_ref,
        parse_incident_ref(incident_ref),
        names=("id", "html_url"),
        number="incident_number",
        saved=saved,
    )


def to_result(replies: Replies, gaps: list[Gap]) -> SourceResult:
    """Map the replies onto the model; records that cannot be read become gaps."""
    from retroflow import Gap, SourceResult

    from . import mapping

    skips = mapping.Skips()
    events = mapping.timeline(
        log_entries=replies.log_entries,
        alerts=replies.alerts,
        notes=replies.notes,
        service=mapping.service_name(replies.incident),
        skips=skips,
        incident=replies.incident,
    )
    incident = mapping.incident_from_reply(replies.incident, events)
    provisional = mapping.provisional_gap(incident)
    if provisional is not None:
        gaps.append(provisional)
    history = []
    for item in replies.history:
        try:
            history.append(mapping.history_incident(item))
        except mapping.BadRecord as exc:
            skips.add("incidents", str(exc))
    gaps.extend(skips.gaps())
    gaps.extend(
        Gap(mapping.SOURCE, "collect", "skipped", f"{key}: {count} page(s) without a {key!r} list", count)
        for key, count in sorted(replies.skipped_pages.items())
    )
    gaps.extend(Gap(mapping.SOURCE, "collect", "skipped", note) for note in replies.notes_on_limits)
    return SourceResult(incident=incident, events=events, history=history, gaps=gaps)


#: The instance the ``retroflow`` entry point registers.
plugin = PagerDutySource()


__getattr__ = lazy_exports(
    __name__,
    {
        "IncidentRef": "retroflow_pagerduty.refs:IncidentRef",
        "parse_incident_ref": "retroflow_pagerduty.refs:parse_incident_ref",
    },
)
