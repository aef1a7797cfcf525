"""The ``git`` timeline source: what changed in the mapped repositories around an incident.

It asks for the ``incident`` and ``timeline`` the other sources give, so retroflow calls it
after them; it reads from ``window_hours`` before the first signal (or the incident's
creation, if earlier) until the incident resolved. Each repository that cannot be read —
no such directory, not a repository, no such branch, git missing — becomes a data gap, and
so does a shallow clone whose history starts inside the window; the others are still read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from retroflow.lazy import lazy_exports
from retroflow.sources import ChangeSource

from . import TABLE

if TYPE_CHECKING:
    from retroflow import Config, Event, Gap, SourceResult
    from retroflow.sources import ChangeWindow as Window

    from .settings import GitSettings, RepoSettings

# Reading the history, the mapping and the settings are imported when the source runs:
# every command loads every plugin, most without running it (``retroflow --help``).

__all__ = ["GitSource", "Window", "plugin", "read_repository"]


def _gap(kind: str, reason: str) -> Gap:
    from retroflow import Gap

    return Gap(TABLE, "collect", kind, reason)


def read_repository(repo: RepoSettings, window: Window, timeout: float) -> tuple[list[Event], list[Gap]]:
    """The changes of one repository in ``window``, and a gap if a shallow clone cuts it.

    :raises GitError: the repository cannot be read.
    """
    from retroflow import format_timestamp

    from .history import Repository
    from .mapping import commit_event, tag_event

    git = Repository(repo.path, timeout=timeout)
    reading = git.read(repo.branch, window.since, window.until, repo.paths, repo.tags)
    events = [commit_event(c, repo) for c in reading.commits] + [tag_event(t, repo) for t in reading.tags]
    gaps = []
    starts = git.history_starts(reading.resolved)
    if starts is not None and starts > window.since:
        gaps.append(
            _gap(
                "skipped",
                f"{repo.service}: {repo.path} is a shallow clone; its history of {repo.branch} starts at "
                f"{format_timestamp(starts)}, after the window's start {format_timestamp(window.since)}, so "
                f"earlier changes are missing (git fetch --shallow-since={window.since.date().isoformat()})",
            )
        )
    return events, gaps


class GitSource(ChangeSource):
    """The plugin: the commits and tags of the mapped repositories in the change window.
    :data:`plugin` is the instance the entry point registers (``now``: the current time,
    the window's end for an incident not resolved yet)."""

    table = TABLE
    settings_class = "retroflow_git.settings:GitSettings"

    def collect(self, settings: GitSettings, window: Window, config: Config) -> SourceResult:
        from retroflow import SourceResult

        from .history import GitError

        timeout = settings.timeout or config.engine.source_timeout
        events: list[Event] = []
        gaps: list[Gap] = []
        for repo in settings.repos:
            try:
                repo_events, repo_gaps = read_repository(repo, window, timeout)
            except GitError as exc:
                gaps.append(_gap("error", f"{repo.service}: {exc}"))
                continue
            events += repo_events
            gaps += repo_gaps
        if not events and not gaps:
            read = ", ".join(f"{r.service} ({r.branch})" for r in settings.repos)
            gaps.append(_gap("skipped", f"no commits or tags in {window} in {read}"))
        return SourceResult(events=events, gaps=gaps)


#: The instance the ``retroflow`` entry point registers.
plugin = GitSource()


__getattr__ = lazy_exports(__name__, {"Window": "retroflow.sources:ChangeWindow"})
