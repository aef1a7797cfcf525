"""retroflow timeline source ``csv``: events from a CSV file (the plugin template)."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs

from retroflow import Config, Event, Gap, RetroRequest, SourceError, SourceResult, hookimpl

NAME = "csv"


@attrs.frozen
class CsvSettings:
    """``[plugins.csv]``: ``path`` of the CSV file (relative to the config file)."""

    path: Path
    timeout: float | None = None


@hookimpl
def retroflow_register_settings(register: Any) -> None:
    register(NAME, CsvSettings)


@hookimpl
def retroflow_timeline_source(request: RetroRequest, config: Config) -> SourceResult | None:
    settings = config.settings_for(NAME, CsvSettings)
    if settings is None:  # no [plugins.csv] table: this source has nothing to say
        return None
    try:
        with settings.path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise SourceError(f"cannot read {settings.path}: {exc.strerror}") from None
    events, skipped = [], 0
    for number, row in enumerate(rows, start=2):
        try:
            events.append(
                Event.create(
                    at=datetime.fromisoformat(row["at"]),
                    source=NAME,
                    kind=row["kind"],
                    summary=row["summary"],
                    native_id=f"row-{number}",
                    actor=row.get("actor") or None,
                    service=row.get("service") or None,
                )
            )
        except (KeyError, ValueError, TypeError):
            skipped += 1  # a bad row is a gap in the data, never a crash
    gaps = [Gap(NAME, "collect", "skipped", f"{skipped} row(s) skipped", skipped)] if skipped else []
    return SourceResult(events=events, gaps=gaps)
