"""A workspace export folder, read instead of the API.

Slack's export (and slackdump's) is a folder holding ``users.json`` (every member),
``channels.json`` (public channels; ``groups.json``, ``mpims.json`` and ``dms.json`` for the
others when exported) and one folder per channel with one file per day,
``<channel>/YYYY-MM-DD.json``, each a list of messages, thread replies included.

A day file may also hold a saved API reply (``{"ok": true, "messages": [...]}``, what
``conversations.history`` or ``conversations.replies`` returns): replies saved with
``curl`` into a channel folder are read the same way. Only the day files around the window
are opened (a day either side, since day boundaries depend on the exporter's time zone).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import orjson

from retroflow import Gap, SourceError

from .channel import ChannelRef
from .mapping import SOURCE, Names, Window

__all__ = ["ExportedChannel", "read_export"]

_CHANNEL_LISTS = ("channels.json", "groups.json", "mpims.json", "dms.json")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


@attrs.frozen
class ExportedChannel:
    """One channel's messages in an export, its id, and what could not be read."""

    channel_id: str
    messages: list[Any]
    names: Names
    gaps: list[Gap]


def read_export(folder: Path, ref: ChannelRef, window: Window) -> ExportedChannel:
    """The messages of channel ``ref`` (by id or name) in the export ``folder``.

    :raises SourceError: the folder does not exist, or holds no such channel.
    """
    if not folder.is_dir():
        raise SourceError(f"Slack export: {folder} is not a directory ([plugins.slack] export)")
    gaps: list[Gap] = []
    channel_id, directory = _find_channel(folder, ref, gaps)
    names = Names()
    users = _load(folder / "users.json", gaps) if (folder / "users.json").is_file() else None
    if isinstance(users, list):
        for user in users:
            if isinstance(user, Mapping):
                names.add(user)
    else:
        gaps.append(Gap(SOURCE, "collect", "skipped", f"{folder / 'users.json'}: no list of users; names unknown"))
    messages: list[Any] = []
    for path in _day_files(directory, window):
        content = _load(path, gaps)
        page = content.get("messages") if isinstance(content, dict) else content
        if isinstance(page, list):
            messages.extend(page)
        elif content is not None:
            gaps.append(Gap(SOURCE, "collect", "skipped", f"{path}: neither a list of messages nor an API reply"))
    return ExportedChannel(channel_id=channel_id, messages=messages, names=names, gaps=gaps)


def _load(path: Path, gaps: list[Gap]) -> Any:
    """A JSON file's content, or ``None`` (and a gap naming the file) when it cannot be read."""
    try:
        return orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        gaps.append(Gap(SOURCE, "collect", "skipped", f"{path}: not readable JSON ({exc})"))
        return None


def _find_channel(folder: Path, ref: ChannelRef, gaps: list[Gap]) -> tuple[str, Path]:
    """The channel's id and its folder: by id or name in the channel lists, else a folder
    of that name (its name then stands in for the id)."""
    wanted = ref.name_or_id.lstrip("#")
    for listing in _CHANNEL_LISTS:
        path = folder / listing
        if not path.is_file():
            continue
        channels = _load(path, gaps)
        for channel in channels if isinstance(channels, list) else ():
            if not isinstance(channel, Mapping):
                continue
            channel_id, name = channel.get("id"), channel.get("name")
            if wanted in (channel_id, name) and isinstance(channel_id, str):
                directory = folder / str(name or channel_id)
                if not directory.is_dir():
                    directory = folder / channel_id  # dms.json entries have no name
                return channel_id, directory
    if (folder / wanted).is_dir():
        return wanted, folder / wanted
    raise SourceError(
        f"Slack export {folder}: no channel {wanted!r} in {', '.join(_CHANNEL_LISTS)} and no folder of that name"
    )


def _day_files(directory: Path, window: Window) -> Iterator[Path]:
    """The channel's JSON files in name order; day files outside the window are skipped."""
    if not directory.is_dir():
        return
    first = _day_of(window.oldest, -1)
    last = _day_of(window.latest, +1)
    for path in sorted(directory.glob("*.json")):
        match = _DAY.match(path.stem)
        if match is not None:
            try:
                day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
            except ValueError:
                day = None
            if day is not None and ((first is not None and day < first) or (last is not None and day > last)):
                continue
        yield path


def _day_of(seconds: float | None, slack_days: int) -> date | None:
    if seconds is None:
        return None
    return (datetime.fromtimestamp(seconds, UTC) + timedelta(days=slack_days)).date()
