"""The API replies one retro is built from, live or saved; and reading saved ones.

A directory of saved replies holds, per dataset, ``markers.<dataset>.json`` (the reply of
``GET /1/markers/<dataset>``, a JSON list) and, optionally, ``triggers.<dataset>.json``
(``GET /1/triggers/<dataset>``). Environment-wide markers are ``markers.__all__.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from retroflow import SourceError
from retroflow.sources import load_saved_reply, saved_directory

__all__ = ["Replies", "read_replies"]


@attrs.define
class Replies:
    """Markers and triggers by dataset, and the datasets that could not be read."""

    markers: dict[str, Any] = attrs.field(factory=dict)
    triggers: dict[str, Any] = attrs.field(factory=dict)
    missing: list[str] = attrs.field(factory=list)


def read_replies(directory: Path) -> Replies:
    """Every ``markers.*.json`` and ``triggers.*.json`` in ``directory``.

    :raises SourceError: no such directory, no markers file, or a file that is not JSON.
    """
    saved_directory(directory, "Honeycomb", "honeycomb")
    replies = Replies()
    for path in sorted(directory.glob("markers.*.json")):
        replies.markers[path.name.removeprefix("markers.").removesuffix(".json")] = load_saved_reply(path, "Honeycomb")
    for path in sorted(directory.glob("triggers.*.json")):
        replies.triggers[path.name.removeprefix("triggers.").removesuffix(".json")] = load_saved_reply(
            path, "Honeycomb"
        )
    if not replies.markers:
        raise SourceError(f"saved Honeycomb replies: no markers.<dataset>.json in {directory}")
    return replies
