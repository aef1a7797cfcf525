"""A repository's history around a time window, read through the ``git`` command.

Every question is one ``git`` process with NUL-separated output (``-z``, ``%x00``): no human
output is parsed, and a subject, a body or a file name can hold any character but NUL. The
log is bounded by ``--since``/``--until`` on committer dates, so git stops walking at the
window's start instead of reading the whole history. ``LC_ALL=C``,
``GIT_TERMINAL_PROMPT=0`` and ``GIT_OPTIONAL_LOCKS=0`` keep git from translating, asking
for credentials or taking locks a concurrent ``git`` in the same repository would trip on.

This module needs nothing from retroflow (:mod:`.mapping` turns its records into events).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import attrs

__all__ = ["Commit", "GitError", "Reading", "Repository", "Resolved", "Tag", "parse_log", "parse_tags"]

#: The log's header fields, in order (``%aN``: the author's name as ``.mailmap`` says).
_LOG_FIELDS = ("%H", "%P", "%ct", "%aN", "%s", "%b")
#: ``\x1e`` opens each commit: a numstat line starts with a digit or ``-``, never with it.
_RECORD = "\x1e"
LOG_FORMAT = _RECORD + "%x00".join(_LOG_FIELDS) + "%x00"
#: One tag per line, fields NUL-separated, a NUL before the newline.
TAG_FORMAT = (
    "%(refname:strip=2)%00%(objecttype)%00%(objectname)%00%(*objecttype)%00%(*objectname)%00"
    "%(creatordate:unix)%00%(taggername)%00%(contents:subject)%00"
)
_ENV = {"LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "GIT_PAGER": "cat"}
#: Options that keep a user's git config from changing what ``git log`` prints.
_CONFIG = ("-c", "log.showSignature=false", "-c", "core.quotePath=false")


class GitError(Exception):
    """git could not answer: no such directory, not a repository, unknown branch, git
    missing or too slow. The message says which, in words fit for a data gap."""


@attrs.frozen
class Commit:
    """One commit of the first-parent line, with what it changed against its first parent.

    :ivar committed: the committer date (when it landed on the branch), aware UTC.
    :ivar files: the paths it changed, in git's order.
    :ivar binary_files: how many of them are binary (no line counts).
    """

    sha: str
    parents: tuple[str, ...]
    committed: datetime
    author: str
    subject: str
    body: str
    files: tuple[str, ...] = ()
    lines_added: int = 0
    lines_deleted: int = 0
    binary_files: int = 0

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1


@attrs.frozen
class Tag:
    """A tag on a commit. ``created`` is the tagger date of an annotated tag; a lightweight
    tag has none, so it is its commit's committer date (and ``tagger`` is ``None``)."""

    name: str
    sha: str
    created: datetime
    tagger: str | None
    subject: str


def _utc(seconds: str) -> datetime:
    return datetime.fromtimestamp(int(seconds), UTC)


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def parse_log(data: bytes) -> list[Commit]:
    """Commits from ``git log -z --numstat --format=LOG_FORMAT`` output, in its order."""
    tokens = iter(_text(data).split("\0"))
    commits: list[Commit] = []
    header: list[str] | None = None
    files: list[str] = []
    counts = [0, 0, 0]  # added, deleted, binary
    for token in tokens:
        if token.startswith(_RECORD):
            if header is not None:
                commits.append(_commit(header, files, counts))
            header = [token[1:], *(next(tokens, "") for _ in range(len(_LOG_FIELDS) - 1))]
            files, counts = [], [0, 0, 0]
            continue
        line = token.lstrip("\n")
        if not line or header is None:
            continue
        added, deleted, path = [*line.split("\t", 2), "", ""][:3]
        files.append(path)
        if added.isdigit() and deleted.isdigit():
            counts[0] += int(added)
            counts[1] += int(deleted)
        else:  # "-\t-\tpath": a binary file
            counts[2] += 1
    if header is not None:
        commits.append(_commit(header, files, counts))
    return commits


def _commit(header: list[str], files: list[str], counts: list[int]) -> Commit:
    sha, parents, committed, author, subject, body = header
    return Commit(
        sha=sha,
        parents=tuple(parents.split()),
        committed=_utc(committed),
        author=author,
        subject=subject,
        body=body.strip(),
        files=tuple(files),
        lines_added=counts[0],
        lines_deleted=counts[1],
        binary_files=counts[2],
    )


def parse_tags(data: bytes, since: datetime, until: datetime) -> list[Tag]:
    """Tags on commits created in ``[since, until]``, from ``git for-each-ref
    --sort=-creatordate --format=TAG_FORMAT`` output (newest first: reading stops at the
    first one older than the window)."""
    tags: list[Tag] = []
    for record in _text(data).split("\0\n"):
        fields = record.split("\0")
        if len(fields) < 8:
            continue
        name, kind, sha, peeled_kind, peeled, created, tagger, subject = fields[:8]
        if not created.lstrip("-").isdigit():
            continue
        when = _utc(created)
        if when < since:
            break
        commit = peeled if kind == "tag" and peeled_kind == "commit" else sha if kind == "commit" else ""
        if when > until or not commit:
            continue  # newer than the window, or a tag of a tree or a blob
        tags.append(Tag(name=name, sha=commit, created=when, tagger=tagger.strip() or None, subject=subject))
    return tags


@attrs.frozen
class Resolved:
    """A branch found in a repository: its tip, and whether the clone is shallow."""

    tip: str
    shallow: bool
    shallow_file: Path


@attrs.frozen
class Reading:
    """What one repository holds for a window: the branch, its commits, the tags."""

    resolved: Resolved
    commits: list[Commit]
    tags: list[Tag]


class _Running:
    """A git process started now and read later, so several run at once."""

    def __init__(self, repository: Repository, args: Sequence[str]) -> None:
        self._repository = repository
        self._what = f"git {args[0]} in {repository.path}"
        command = [repository.git, "-C", str(repository.path), *_CONFIG, *args]
        try:
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=repository.env
            )
        except FileNotFoundError:
            raise GitError(f"the {repository.git!r} command is not installed or not on PATH") from None

    def output(self) -> bytes:
        """Its whole output; :class:`GitError` with git's own words if it failed."""
        try:
            out, err = self._process.communicate(timeout=self._repository.timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise GitError(f"{self._what} took longer than {self._repository.timeout:g} s") from None
        if self._process.returncode != 0:
            raise GitError(f"{self._what} failed: {_reason(err, self._process.returncode)}")
        return out

    def stop(self) -> None:
        """End it if it still runs (its answer is not needed after all)."""
        if self._process.poll() is None:
            self._process.kill()
        self._process.communicate()


class Repository:
    """The ``git`` command on one repository (``path``: its top directory or git dir; git
    does not look for a repository above it).

    :param timeout: seconds one git process may take.
    """

    def __init__(self, path: Path, *, timeout: float = 60.0, git: str = "git") -> None:
        self.path = path
        self.timeout = timeout
        self.git = git
        self.env = {**os.environ, **_ENV, "GIT_CEILING_DIRECTORIES": str(path.absolute().parent)}

    def start(self, *args: str) -> _Running:
        if not self.path.is_dir():
            raise GitError(f"{self.path} does not exist or is not a directory")
        return _Running(self, args)

    def run(self, *args: str) -> bytes:
        """The output of ``git -C PATH ARGS``; :class:`GitError` with git's own words."""
        return self.start(*args).output()

    def read(self, branch: str, since: datetime, until: datetime, paths: Sequence[str], tags: str) -> Reading:
        """The branch's first-parent commits and the tags (``tags``: a pattern, ``""`` for
        none) in ``[since, until]``. The three git processes run at once: none waits for
        another's answer."""
        log = self.start(*_log_args(branch, since, until, paths))
        tag_list = self.start(*_tag_args(tags)) if tags else None
        try:
            resolved = self.resolve(branch)
            commits = parse_log(log.output())
            found = parse_tags(tag_list.output(), since, until) if tag_list else []
        finally:
            log.stop()
            if tag_list is not None:
                tag_list.stop()
        return Reading(resolved=resolved, commits=commits, tags=found)

    def resolve(self, branch: str) -> Resolved:
        """The branch's tip and whether the clone is shallow, in one process."""
        try:
            out = self.run(
                "rev-parse",
                "--is-shallow-repository",
                "--path-format=absolute",
                "--git-path",
                "shallow",
                "--verify",
                "--end-of-options",
                f"{branch}^{{commit}}",
            )
        except GitError as exc:
            if "Needed a single revision" in str(exc):
                raise GitError(f"{self.path} has no branch or commit {branch!r}") from None
            if "not a git repository" in str(exc):
                raise GitError(f"{self.path} is not a Git repository (give its top directory)") from None
            raise
        shallow, shallow_file, tip = _text(out).splitlines()[:3]
        return Resolved(tip=tip, shallow=shallow == "true", shallow_file=Path(shallow_file))

    def history_starts(self, resolved: Resolved) -> datetime | None:
        """When a shallow clone's first-parent line from the tip is cut off (the committer
        date of its oldest commit), or ``None`` when it reaches the root."""
        if not resolved.shallow:
            return None
        try:
            cut = set(resolved.shallow_file.read_text(encoding="ascii").split())
        except OSError:
            return None
        out = self.run("log", "--first-parent", "--max-parents=0", "-z", "--format=%H%x00%ct", resolved.tip)
        oldest = [field for field in _text(out).split("\0") if field]
        for sha, seconds in _pairs(oldest):
            if sha in cut:
                return _utc(seconds)
        return None


def _log_args(rev: str, since: datetime, until: datetime, paths: Sequence[str]) -> list[str]:
    """``git log`` of the first-parent line from ``rev`` in ``[since, until]``, each commit
    with its changes against its first parent (for a merge: what the merged branch brought)."""
    return [
        "log",
        "--first-parent",
        "--diff-merges=first-parent",
        "--numstat",
        "--no-renames",
        "--no-ext-diff",
        "--no-textconv",
        "--no-color",
        "-z",
        f"--format={LOG_FORMAT}",
        f"--since=@{int(since.timestamp())}",
        f"--until=@{int(until.timestamp())}",
        "--end-of-options",
        rev,
        "--",
        *paths,
    ]


def _tag_args(pattern: str) -> list[str]:
    refs = "refs/tags" if pattern in ("", "*") else f"refs/tags/{pattern}"
    return ["for-each-ref", "--sort=-creatordate", f"--format={TAG_FORMAT}", refs]


def _reason(stderr: bytes, returncode: int) -> str:
    """git's own first "fatal:"/"error:" line (the hints after it are for a terminal)."""
    lines = [line.strip() for line in _text(stderr).splitlines() if line.strip()]
    for line in lines:
        for prefix in ("fatal: ", "error: "):
            if line.startswith(prefix):
                return line.removeprefix(prefix)
    return lines[0] if lines else f"exit code {returncode}"


def _pairs(items: Sequence[str]) -> Iterator[tuple[str, str]]:
    return zip(items[::2], items[1::2], strict=False)
