"""The ``honeycomb`` timeline source: the plugin object retroflow registers.

It runs in the second round of sources (it asks for the ``incident``): the incident's
services say which datasets to read, its window which markers to keep. It runs when
``[plugins.honeycomb]`` has an ``api_key`` (the live API) or ``replies`` (a directory of
saved replies; it wins when both are set), and returns ``None`` when neither is set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from retroflow.sources import AroundIncidentSource, Window, incident_window, skipped

from . import TABLE

if TYPE_CHECKING:
    from retroflow import Event, Incident, SourceResult

    from .replies import Replies
    from .settings import HoneycombSettings

# The mapping, the saved replies and the settings are imported when the source runs:
# every command loads every plugin, most without running it (``retroflow --help``).

__all__ = ["HoneycombSource", "incident_window", "plugin"]


class HoneycombSource(AroundIncidentSource):
    """The plugin: the markers of the incident's datasets in its window. :data:`plugin` is
    the instance the entry point registers."""

    table = TABLE
    settings_class = "retroflow_honeycomb.settings:HoneycombSettings"

    def collect(self, settings: HoneycombSettings, incident: Incident) -> SourceResult:
        from retroflow import SourceResult

        from .replies import read_replies
        from .settings import ENVIRONMENT

        window = incident_window(incident, settings, self._now())
        owners = dict(settings.dataset_map().datasets_of(incident.services))  # dataset → service
        if settings.replies is not None:
            replies = read_replies(settings.replies)
            mapped = {dataset: service for service, dataset in settings.dataset_map().entries}
            owners = {dataset: mapped.get(dataset, dataset) for dataset in replies.markers}
        elif window is None:
            return SourceResult(
                gaps=[self.gap(f"no window to read markers in: incident {incident.id} has no creation time")]
            )
        elif not owners:
            return SourceResult(gaps=[self.gap("no dataset to read: the incident names no service and none is mapped")])
        else:
            replies = self.fetch(settings, [*owners, *([ENVIRONMENT] if settings.environment_markers else [])])
        return _result(replies, owners, window)

    def fetch(self, settings: HoneycombSettings, datasets: list[str]) -> Replies:
        """The live markers and triggers of ``datasets``."""
        from .api import HoneycombApi  # requests: imported when used

        api = HoneycombApi(settings, session=self._session, sleep=self._sleep, clock=self._now)
        try:
            return api.collect(datasets, triggers=settings.triggers)
        finally:
            api.close()


def _result(replies: Replies, owners: dict[str, str], window: Window | None) -> SourceResult:
    """Markers as events; firing triggers, unreadable records and empty datasets as gaps."""
    from retroflow import SourceResult, format_timestamp

    from . import mapping
    from .settings import ENVIRONMENT

    skips = mapping.Skips()
    events: list[Event] = []
    for dataset, markers in replies.markers.items():
        service = None if dataset == ENVIRONMENT else owners.get(dataset, dataset)
        events.extend(mapping.marker_events(markers, dataset=dataset, service=service, window=window, skips=skips))
    gaps = [*(skipped(mapping.SOURCE, reason) for reason in replies.missing), *skips.gaps()]
    for dataset, triggers in replies.triggers.items():
        firing = mapping.firing_triggers(triggers)
        if firing:
            gaps.append(
                skipped(
                    mapping.SOURCE,
                    f"triggers of {dataset} firing when collected: {', '.join(firing)} (the API gives no history "
                    "of firings; see the alerts they sent)",
                    len(firing),
                )
            )
    if not events:
        when = f" between {format_timestamp(window[0])} and {format_timestamp(window[1])}" if window else ""
        gaps.append(skipped(mapping.SOURCE, f"no markers on {', '.join(replies.markers) or 'any dataset'}{when}"))
    return SourceResult(events=events, gaps=gaps)


#: The instance the ``retroflow`` entry point registers.
plugin = HoneycombSource()
