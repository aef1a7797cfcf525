"""``[plugins.git]``: the repositories the Git source reads, and the window around an incident."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from retroflow import positive

from . import TABLE

__all__ = ["TABLE", "GitSettings", "RepoSettings"]


def _not_blank(instance: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    if not value.strip():
        raise ValueError(f"{attribute.name}: must not be empty")


def _web_url(instance: Any, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None and not value.startswith(("https://", "http://")):
        raise ValueError(f"{attribute.name}: expected the repository's web address (https://…), got {value!r}")


def _no_trailing_slash(value: str | None) -> str | None:
    return None if value is None else value.rstrip("/")


@attrs.frozen
class RepoSettings:
    """One repository (an item of ``repos``).

    :ivar path: the repository's top directory, or the git directory of a bare or mirror
        clone (relative to the config file). Fetch it before a retro: only what is there is read.
    :ivar service: the service its changes deploy; every event of it carries this service.
    :ivar branch: the branch deploys are made from; its first-parent line is read
        (default ``HEAD``: what is checked out; in a mirror clone, the default branch).
    :ivar url: the repository's web address (``https://github.com/acme/payments``); events
        link to ``URL/commit/SHA``, ``URL/pull/N`` and ``URL/releases/tag/TAG``.
    :ivar paths: read only commits that touch these paths (one service of a monorepo).
    :ivar tags: which tags are releases: a pattern like ``"v*"`` or ``"payments-*"``;
        ``"*"`` all, ``""`` none.
    """

    path: Path
    service: str = attrs.field(validator=_not_blank)
    branch: str = attrs.field(default="HEAD", validator=_not_blank)
    url: str | None = attrs.field(default=None, converter=_no_trailing_slash, validator=_web_url)
    paths: list[str] = attrs.field(factory=list)
    tags: str = "*"


@attrs.frozen
class GitSettings:
    """``[plugins.git]``. The source runs when ``repos`` is not empty.

    :ivar repos: the repositories to read, each mapped to a service.
    :ivar window_hours: how many hours before the incident's first signal to read changes
        from (they are read until it resolved).
    :ivar timeout: seconds the whole source may take (default: ``[retroflow] source_timeout``);
        also the limit of each git process.
    """

    repos: list[RepoSettings] = attrs.field(factory=list)
    window_hours: float = attrs.field(default=24.0, validator=positive)
    timeout: float | None = attrs.field(default=None, validator=positive)

    @property
    def configured(self) -> bool:
        return bool(self.repos)
