"""Saved API replies: a directory holding the REST API's own JSON, read instead of the API.

=====================  =====================================================
file                   the reply of
=====================  =====================================================
``incident.json``      ``GET /incidents/{id}`` (``{"incident": {…}}``), required
``log_entries.json``   ``GET /incidents/{id}/log_entries`` (``{"log_entries": […]}``)
``alerts.json``        ``GET /incidents/{id}/alerts`` (``{"alerts": […]}``)
``notes.json``         ``GET /incidents/{id}/notes`` (``{"notes": […]}``)
``incidents.json``     ``GET /incidents?service_ids[]=…`` (``{"incidents": […]}``), optional
=====================  =====================================================

A list saved page by page can be several files: ``log_entries.json``,
``log_entries.100.json``, ``log_entries.200.json``… (every ``log_entries*.json``, in the
order of the number in the name).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from retroflow import SourceError
from retroflow.sources import load_saved_reply, page_order, saved_directory

from .replies import Replies

__all__ = ["LISTS", "read_replies"]

#: The list files of a saved incident, and the key of the list in each reply.
LISTS = {"log_entries": "log_entries", "alerts": "alerts", "notes": "notes", "incidents": "incidents"}


def read_replies(directory: Path) -> tuple[Replies, list[str]]:
    """The replies saved in ``directory``, and the list files it lacks.

    :raises SourceError: no such directory, no ``incident.json``, or a file that is not JSON.
    """
    saved_directory(directory, "PagerDuty", "pagerduty")
    incident_reply = (
        load_saved_reply(directory / "incident.json", "PagerDuty") if (directory / "incident.json").is_file() else None
    )
    if incident_reply is None:
        raise SourceError(f"saved PagerDuty replies: {directory / 'incident.json'} not found")
    incident = incident_reply.get("incident") if isinstance(incident_reply, dict) else None
    if not isinstance(incident, dict) or not incident.get("id"):
        raise SourceError(f'saved PagerDuty reply {directory / "incident.json"}: expected {{"incident": {{"id": …}}}}')
    lists: dict[str, list[Any]] = {}
    skipped_pages: dict[str, int] = {}
    missing: list[str] = []
    for name, key in LISTS.items():
        files = sorted(directory.glob(f"{name}*.json"), key=page_order)
        if not files:
            if name != "incidents":
                missing.append(f"{name}.json")
            continue
        items: list[Any] = []
        for path in files:
            reply = load_saved_reply(path, "PagerDuty")
            page = reply.get(key) if isinstance(reply, dict) else None
            if isinstance(page, list):
                items.extend(page)
            else:
                skipped_pages[key] = skipped_pages.get(key, 0) + 1
        lists[key] = items
    replies = Replies(
        incident=incident,
        log_entries=lists.get("log_entries", []),
        alerts=lists.get("alerts", []),
        notes=lists.get("notes", []),
        history=[i for i in lists.get("incidents", []) if not (isinstance(i, dict) and i.get("id") == incident["id"])],
        skipped_pages=skipped_pages,
    )
    return replies, missing
