"""The ``jsm`` timeline source: the plugin object retroflow registers.

An Opsgenie team's incident is an alert: the retro is built for one alert, given by its id
(JSM Operations' ids carry a ``-<number>`` suffix), its tiny id (``1791`` or ``#1791``, on
Opsgenie only: JSM Operations does not look alerts up by it), or an alert URL. The source
runs when ``[plugins.jsm]`` has a ``token`` (the live API) or ``replies`` (a directory of
saved replies; it wins when both are set); it returns ``None`` when neither is set or, live,
when the reference is not an alert's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from retroflow import SourceError
from retroflow.lazy import lazy_exports
from retroflow.sources import NamedIncidentSource, skipped

from . import TABLE

if TYPE_CHECKING:
    from retroflow import RetroRequest, SourceResult

    from .refs import AlertRef, parse_alert_ref
    from .replies import Replies
    from .settings import JsmSettings

# The mapping, the saved replies and the settings are imported when the source runs:
# every command loads every plugin, most without running it (``retroflow --help``).

__all__ = ["AlertRef", "JsmSource", "parse_alert_ref", "plugin"]


class JsmSource(NamedIncidentSource):
    """The plugin: the alert the retro is asked for, its logs and its notes. :data:`plugin`
    is the instance the entry point registers."""

    table = TABLE
    settings_class = "retroflow_jsm.settings:JsmSettings"

    def collect(self, settings: JsmSettings, request: RetroRequest) -> SourceResult | None:
        if settings.replies is not None:
            from .replies import read_replies

            replies = read_replies(settings.replies)
            _check_saved_alert(replies, request.incident_ref, settings)
        else:
            from .refs import parse_alert_ref

            ref = parse_alert_ref(request.incident_ref, tiny_allowed=settings.is_opsgenie)
            if ref is None:
                return None
            replies = self.fetch(settings, ref)
        return to_result(replies, settings)

    def fetch(self, settings: JsmSettings, ref: AlertRef) -> Replies:
        """The live replies for ``ref``."""
        from retroflow.sources import read_record

        from .api import AlertNotFound, JsmApi  # requests: imported when used

        api = JsmApi(settings, session=self._session, sleep=self._sleep, clock=self._now)
        missing = f"alert {ref} not found ([plugins.{TABLE}] api = {settings.api!r})"
        return read_record(api, lambda: api.collect(ref.value, tiny=ref.tiny), AlertNotFound, missing)


def _check_saved_alert(replies: Replies, incident_ref: str, settings: JsmSettings) -> None:
    """Saved replies describe one alert: refuse to pass them off as another."""
    from retroflow.sources import check_saved_record

    from .refs import parse_alert_ref

    ref = parse_alert_ref(incident_ref, tiny_allowed=True)
    saved = f"saved JSM replies in {settings.replies} are for alert"
    check_saved_record(replies.alert, incident_ref, ref, names=("id", "alias"), number="tinyId", saved=saved)


def to_result(replies: Replies, settings: JsmSettings) -> SourceResult:
    """Map the replies onto the model; records that cannot be read become gaps."""
    from retroflow import SourceResult

    from . import mapping

    context = mapping.AlertContext.of(replies.alert, settings.service_map())
    skips = mapping.Skips()
    try:
        events = mapping.timeline(replies.alert, replies.logs, replies.notes, context, skips)
        incident = mapping.incident_of(replies.alert, events, context)
    except mapping.BadRecord as exc:
        raise SourceError(f"alert {context.alert_id} cannot be read: {exc}") from None
    gaps = [*(skipped(mapping.SOURCE, reason) for reason in replies.notes_on_limits), *skips.gaps()]
    if not replies.logs:
        gaps.append(
            skipped(
                mapping.SOURCE, f"alert {context.alert_id} has no log: no page, acknowledgement or escalation is known"
            )
        )
    return SourceResult(incident=incident, events=events, gaps=gaps)


#: The instance the ``retroflow`` entry point registers.
plugin = JsmSource()


__getattr__ = lazy_exports(
    __name__, {"AlertRef": "retroflow_jsm.refs:AlertRef", "parse_alert_ref": "retroflow_jsm.refs:parse_alert_ref"}
)
