"""The ``datadog`` timeline source: the plugin object retroflow registers.

It runs in the second round of sources (it asks for the ``incident``): the incident's
services and window, as the incident sources described them, say what to search. It runs
when ``[plugins.datadog]`` has both keys (the live API) or ``replies`` (a directory of saved
replies; it wins when both are set), and returns ``None`` when neither is set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from retroflow.sources import AroundIncidentSource, Window, incident_window

from . import TABLE

if TYPE_CHECKING:
    from retroflow import Gap, Incident, SourceResult

    from .api import EventPages
    from .settings import DatadogSettings

# The mapping, the saved replies and the settings are imported when the source runs:
# every command loads every plugin, most without running it (``retroflow --help``).

__all__ = ["DatadogSource", "incident_window", "plugin"]


class DatadogSource(AroundIncidentSource):
    """The plugin: the monitor alerts and changes of the incident's services in its window.
    :data:`plugin` is the instance the entry point registers."""

    table = TABLE
    settings_class = "retroflow_datadog.settings:DatadogSettings"

    def collect(self, settings: DatadogSettings, incident: Incident) -> SourceResult:
        from retroflow import SourceResult

        from . import mapping
        from .saved import read_pages

        services = settings.service_map()
        wanted = list(incident.services) or services.names()
        window = incident_window(incident, settings, self._now())
        gaps: list[Gap] = []
        if settings.replies is not None:
            items, bad = read_pages(settings.replies)
            gaps.extend(map(self.gap, bad))
        elif window is None:
            return SourceResult(gaps=[self.gap(f"no window to search: incident {incident.id} has no creation time")])
        else:
            pages = self.fetch(settings, wanted, window)
            items = pages.events
            if pages.truncated:
                gaps.append(
                    self.gap(f"more events than {settings.max_pages} page(s) hold: the first {len(items)} kept")
                )
        skips = mapping.Skips()
        events = mapping.events_of(
            items,
            services=services,
            app_url=settings.app_url,
            window=window,
            skips=skips,
            fallback_service=wanted[0] if len(wanted) == 1 else None,
        )
        gaps.extend(skips.gaps())
        if not events:
            gaps.append(self.gap(_nothing_found(wanted, window)))
        return SourceResult(events=events, gaps=gaps)

    def fetch(self, settings: DatadogSettings, services: list[str], window: Window) -> EventPages:
        """The live search for ``services``' monitor alerts and changes in ``window``."""
        from .api import DatadogApi, search_query  # requests: imported when used

        query = search_query(settings.service_map().selectors(services), settings.change_sources)
        api = DatadogApi(settings, session=self._session, sleep=self._sleep, clock=self._now)
        try:
            return api.search(query, *window)
        finally:
            api.close()


def _nothing_found(services: list[str], window: Window | None) -> str:
    from retroflow import format_timestamp

    who = ", ".join(services) or "any service"
    when = f" between {format_timestamp(window[0])} and {format_timestamp(window[1])}" if window else ""
    return f"no monitor alerts or changes for {who}{when}"


#: The instance the ``retroflow`` entry point registers.
plugin = DatadogSource()
