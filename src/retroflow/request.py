"""What one retro run is asked to do."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from retroflow.model import Incident


def _paths(value: Any) -> tuple[Path, ...]:
    return tuple(Path(v) for v in value)


@attrs.frozen
class RetroRequest:
    """The incident to build a retro for, and the options given for this run.

    :ivar incident_ref: an incident id, number or URL, as the user typed it.
    :ivar event_files: extra JSON Lines event files (``retroflow retro --events``).
    :ivar incident_file: an incident metadata JSON file (``--incident-file``).
    :ivar overrides: incident fields given on the command line (``--title``,
        ``--service``, ...); they win over what sources say.
    """

    incident_ref: str
    event_files: tuple[Path, ...] = attrs.field(default=(), converter=_paths)
    incident_file: Path | None = None
    overrides: Mapping[str, Any] = attrs.field(factory=dict, hash=False)

    def override_incident(self, incident: Incident) -> Incident:
        if not self.overrides:
            return incident
        return attrs.evolve(incident, **dict(self.overrides))
