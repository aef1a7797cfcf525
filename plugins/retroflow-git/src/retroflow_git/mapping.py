"""Commits and tags as retroflow ``change`` events of a repository's service."""

from __future__ import annotations

import re
from functools import partial
from typing import Any
from urllib.parse import quote

from retroflow import Event, EventKind

from .history import Commit, Tag
from .settings import RepoSettings

__all__ = ["MAX_FILES", "SOURCE", "commit_event", "pull_request", "tag_event"]

#: ``Event.source`` of every event (the plugin's name).
SOURCE = "git"
#: Paths listed in an event's details; ``files_changed`` keeps the full count.
MAX_FILES = 50

#: Where merge and squash messages of the common forges name the pull request.
_PULL_REQUEST = (
    re.compile(r"^Merge pull request #(\d+)\b"),  # GitHub merge commit
    re.compile(r"\(#(\d+)\)\s*$"),  # GitHub squash or rebase: "Title (#123)"
    re.compile(r"\bSee merge request [\w./-]*!(\d+)"),  # GitLab, in the body
    re.compile(r"\(pull request #(\d+)\)"),  # Bitbucket: "Merged in x (pull request #12)"
)


def pull_request(commit: Commit) -> int | None:
    """The pull (merge) request number the commit's message names, if any."""
    for text in (commit.subject, commit.body):
        for pattern in _PULL_REQUEST:
            match = pattern.search(text)
            if match:
                return int(match.group(1))
    return None


def _title(commit: Commit, number: int | None) -> str:
    """What the change was: a GitHub merge commit's subject only names the branch; the
    pull request's title is the body's first line."""
    if number is not None and commit.subject.startswith("Merge pull request #") and commit.body:
        return commit.body.splitlines()[0].strip()
    return commit.subject


def commit_event(commit: Commit, repo: RepoSettings) -> Event:
    """A commit of the deployed branch's first-parent line (a merge brings its branch)."""
    number = pull_request(commit)
    short = commit.sha[:7]
    title = _title(commit, number)
    if commit.is_merge:
        what = f"merged PR #{number}" if number is not None else "merged"
        summary = f"{repo.service}: {what} {title} ({short})"
    else:
        summary = f"{repo.service}: {title} ({short})"
    details: dict[str, Any] = {
        "change": "merge" if commit.is_merge else "commit",
        "sha": commit.sha,
        "author": commit.author,
        "subject": commit.subject,
        "branch": repo.branch,
        "files_changed": len(commit.files),
        "lines_added": commit.lines_added,
        "lines_deleted": commit.lines_deleted,
        "files": list(commit.files[:MAX_FILES]),
    }
    if commit.binary_files:
        details["binary_files"] = commit.binary_files
    if number is not None:
        details["pull_request"] = number
        if repo.url:
            details["pull_request_link"] = f"{repo.url}/pull/{number}"
    if commit.subject.startswith('Revert "'):
        details["revert"] = True
    change = _change(repo, commit.sha, f"commit/{commit.sha}")
    return change(at=commit.committed, summary=summary, actor=commit.author or None, details=details)


def tag_event(tag: Tag, repo: RepoSettings) -> Event:
    """A tag, read as a release of the service."""
    summary = f"{repo.service}: released {tag.name} ({tag.sha[:7]})"
    details: dict[str, Any] = {"change": "release", "tag": tag.name, "sha": tag.sha}
    if tag.subject:
        details["subject"] = tag.subject
    change = _change(repo, f"tag/{tag.name}", f"releases/tag/{quote(tag.name, safe='/')}")
    return change(at=tag.created, summary=summary, actor=tag.tagger, details=details)


def _change(repo: RepoSettings, name: str, page: str) -> partial[Event]:
    """A change event of ``repo``'s service, to be given its time, summary, actor and
    details: its id is ``<service>@<name>``, its link the repository's ``page`` (when the
    repository has a web address)."""
    link = f"{repo.url}/{page}" if repo.url else None
    return partial(
        Event, source=SOURCE, kind=EventKind.CHANGE, native_id=f"{repo.service}@{name}", service=repo.service, link=link
    )
