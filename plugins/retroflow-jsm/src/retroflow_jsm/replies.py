"""The API replies one retro is built from, live or saved; and reading saved ones.

Both APIs wrap what they send: JSM Operations lists under ``values`` (its newer endpoints) or
``data`` (those it took over from Opsgenie), Opsgenie under ``data``; a single alert comes
under ``data`` or bare. :func:`unwrap` reads all of them.

=================  ==========================================================
file               the reply of
=================  ==========================================================
``alert.json``     ``GET …/alerts/{id}``, required
``logs.json``      ``GET …/alerts/{id}/logs`` (pages: ``logs.2.json``, …)
``notes.json``     ``GET …/alerts/{id}/notes`` (pages: ``notes.2.json``, …)
=================  ==========================================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from retroflow import SourceError
from retroflow.sources import load_saved_reply, page_order, saved_directory

from .settings import TABLE

__all__ = ["Replies", "read_replies", "unwrap", "unwrap_list"]


@attrs.frozen
class Replies:
    """One alert, its logs and notes, and what could not be read, in words."""

    alert: Mapping[str, Any]
    logs: Sequence[Any] = ()
    notes: Sequence[Any] = ()
    notes_on_limits: Sequence[str] = ()


def unwrap(reply: Any) -> Any:
    """The object of a reply: its ``data`` or ``values``, else the reply itself."""
    if isinstance(reply, Mapping):
        for key in ("data", "values"):
            if key in reply:
                return reply[key]
    return reply


def unwrap_list(reply: Any) -> list[Any] | None:
    """The list a list reply holds, or ``None`` when it holds none."""
    items = unwrap(reply)
    return items if isinstance(items, list) else None


def _pages(directory: Path, name: str, problems: list[str]) -> list[Any]:
    files = sorted(directory.glob(f"{name}*.json"), key=page_order)
    if not files:
        problems.append(f"saved replies in {directory} lack {name}.json")
    items: list[Any] = []
    for path in files:
        page = unwrap_list(load_saved_reply(path, "JSM"))
        if page is None:
            problems.append(f"saved reply {path.name} holds no list of {name}")
        items.extend(page or [])
    return items


def read_replies(directory: Path) -> Replies:
    """The alert, logs and notes saved in ``directory``; missing lists are noted.

    :raises SourceError: no such directory, no ``alert.json`` with an ``id``, or a file that
        is not JSON.
    """
    saved_directory(directory, "JSM", TABLE)
    if not (directory / "alert.json").is_file():
        raise SourceError(f"saved JSM replies: {directory / 'alert.json'} not found")
    alert = unwrap(load_saved_reply(directory / "alert.json", "JSM"))
    if not isinstance(alert, Mapping) or not alert.get("id"):
        raise SourceError(f'saved JSM reply {directory / "alert.json"}: expected an alert with an "id"')
    problems: list[str] = []
    logs = _pages(directory, "logs", problems)
    notes = _pages(directory, "notes", problems)
    return Replies(alert=alert, logs=logs, notes=notes, notes_on_limits=problems)
