"""Saved API replies: a directory holding ``GET /api/v2/events`` replies, read instead of
the API.

``events.json`` is the first page (``{"data": […], "meta": {"page": {"after": …}}}``); a
search saved page by page is ``events.json``, ``events.2.json``, ``events.3.json``… (every
``events*.json``, in the order of the number in the name).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from retroflow import SourceError
from retroflow.sources import load_saved_reply, page_order, saved_directory

from .settings import TABLE

__all__ = ["read_pages"]


def read_pages(directory: Path) -> tuple[list[Any], list[str]]:
    """The events of every saved page, and a reason for each page without a ``data`` list.

    :raises SourceError: no such directory, no ``events*.json``, or a file that is not JSON.
    """
    saved_directory(directory, "Datadog", TABLE)
    files = sorted(directory.glob("events*.json"), key=page_order)
    if not files:
        raise SourceError(f"saved Datadog replies: no events.json in {directory}")
    events: list[Any] = []
    bad: list[str] = []
    for path in files:
        reply = load_saved_reply(path, "Datadog")
        data = reply.get("data") if isinstance(reply, dict) else None
        if isinstance(data, list):
            events.extend(data)
        else:
            bad.append(f"saved reply {path.name} has no 'data' list")
    return events, bad
