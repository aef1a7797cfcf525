"""Reading history through git: the window, the first-parent line, numstat, tags, failures."""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from retroflow_git.history import Commit, GitError, Repository, Tag, parse_log

from retroflow.testing import T0

from .conftest import RepoBuilder


def _window(start_minutes: float, end_minutes: float) -> tuple[datetime, datetime]:
    return T0 + timedelta(minutes=start_minutes), T0 + timedelta(minutes=end_minutes)


def _log(path: Path, start: float, end: float, *, branch: str = "main", paths: tuple[str, ...] = ()) -> list[Commit]:
    return Repository(path).read(branch, *_window(start, end), paths, tags="").commits


def _tags(path: Path, pattern: str, start: float, end: float) -> list[Tag]:
    return Repository(path).read("main", *_window(start, end), (), tags=pattern).tags


def test_the_window_bounds_the_log_on_committer_dates_both_ends_included(repo: RepoBuilder) -> None:
    repo.commit("before the window", minutes=-121)
    first = repo.commit("at the window's start", minutes=-120)
    last = repo.commit("at the window's end", minutes=30)
    repo.commit("after the window", minutes=31)
    commits = _log(repo.path, -120, 30)
    assert [c.sha for c in commits] == [last, first], "newest first, ends included"
    assert commits[1].committed == T0 - timedelta(minutes=120)


def test_only_the_first_parent_line_is_read_and_a_merge_carries_its_branch_s_changes(repo: RepoBuilder) -> None:
    repo.commit("base", minutes=-300, files={"app.py": "a\n"})
    repo.git("checkout", "-q", "-b", "pool")
    repo.commit("Lower the pool size", minutes=-200, files={"pool.py": "size = 5\nmax = 9\n"}, author="Carol Dev")
    repo.commit("Tune the timeout", minutes=-190, files={"app.py": "a\nb\n"}, author="Carol Dev")
    repo.git("checkout", "-q", "main")
    direct = repo.commit("Hotfix on main", minutes=-100, files={"hot.py": "x\n"})
    merge = repo.merge("pool", "Merge pull request #42 from acme/pool\n\nLower the pool size", minutes=-30)
    commits = _log(repo.path, -250, 0)
    assert [c.sha for c in commits] == [merge, direct], "the branch's own commits are not on the line"
    merged = commits[0]
    assert merged.is_merge and merged.author == "Bob Merger"
    assert merged.subject == "Merge pull request #42 from acme/pool"
    assert merged.body == "Lower the pool size"
    assert sorted(merged.files) == ["app.py", "pool.py"], "against the first parent: what the branch brought"
    assert (merged.lines_added, merged.lines_deleted) == (3, 0)


def test_numstat_counts_lines_and_binary_files_and_keeps_odd_file_names(repo: RepoBuilder) -> None:
    repo.commit("base", minutes=-10, files={"a.txt": "1\n2\n3\n"})
    odd = "dir with space/tab\there é.txt"
    repo.commit(
        "Change \x1e all the things",
        minutes=-5,
        files={"a.txt": "1\n3\n4\n5\n", odd: "new\n", "logo.png": b"\x89PNG\0\0\1binary"},
        body="Body line 1\n\n\x1e not a record",
    )
    (commit, _base) = _log(repo.path, -60, 0, branch="HEAD")
    assert commit.subject == "Change \x1e all the things"
    assert commit.body == "Body line 1\n\n\x1e not a record"
    assert set(commit.files) == {"a.txt", odd, "logo.png"}
    assert (commit.lines_added, commit.lines_deleted, commit.binary_files) == (2 + 1, 1, 1)


def test_paths_limit_the_log_to_one_service_of_a_monorepo(repo: RepoBuilder) -> None:
    pay = repo.commit("payments: retry budget", minutes=-20, files={"services/payments/retry.py": "x\n"})
    repo.commit("web: new button", minutes=-10, files={"services/web/button.js": "y\n"})
    commits = _log(repo.path, -60, 0, paths=("services/payments",))
    assert [c.sha for c in commits] == [pay]


def test_tags_in_the_window_annotated_and_lightweight_newest_first(repo: RepoBuilder) -> None:
    old = repo.commit("old", minutes=-2000)
    repo.tag("v1.0.0", message="Release 1.0", minutes=-1990)
    repo.commit("fix", minutes=-50)
    repo.tag("v1.1.0", message="Release 1.1", minutes=-40)
    repo.tag("v1.1.0-light")  # lightweight: dated by its commit (-50)
    repo.tag("v0.9-late", message="Late tag of an old commit", minutes=-30, rev=old)
    repo.tag("docs-2026", message="not a release", minutes=-20)
    tags = _tags(repo.path, "v*", -60, 0)
    assert [(t.name, t.tagger) for t in tags] == [
        ("v0.9-late", "Rel Eng"),
        ("v1.1.0", "Rel Eng"),
        ("v1.1.0-light", None),
    ]
    assert tags[0].sha == old, "an annotated tag is peeled to its commit"
    assert tags[1].subject == "Release 1.1"
    assert tags[2].created == T0 - timedelta(minutes=50)
    assert "docs-2026" in [t.name for t in _tags(repo.path, "*", -60, 0)]


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("missing", "does not exist or is not a directory"),
        ("plain", "is not a Git repository"),
        ("nested", "is not a Git repository"),
        ("branch", "has no branch or commit 'release'"),
    ],
)
def test_what_cannot_be_read_says_why(tmp_path: Path, repo: RepoBuilder, setup: str, expected: str) -> None:
    repo.commit("base", minutes=0)
    path = {
        "missing": tmp_path / "nope",
        "plain": tmp_path,
        "nested": repo.path / "sub",  # inside a repository is not a repository
        "branch": repo.path,
    }[setup]
    if setup == "nested":
        path.mkdir()
    with pytest.raises(GitError, match=expected):
        Repository(path).resolve("release" if setup == "branch" else "main")


def test_a_missing_git_command_is_named(repo: RepoBuilder) -> None:
    repo.commit("base", minutes=0)
    with pytest.raises(GitError, match="'no-such-git' command is not installed"):
        Repository(repo.path, git="no-such-git").resolve("main")


def test_a_shallow_clone_says_where_its_history_starts(repo: RepoBuilder, tmp_path: Path) -> None:
    for minutes in (-300, -200, -100, -10):
        repo.commit(f"at {minutes}", minutes=minutes)
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "2", f"file://{repo.path}", str(clone)], check=True)
    git = Repository(clone)
    resolved = git.resolve("main")
    assert resolved.shallow
    assert git.history_starts(resolved) == T0 - timedelta(minutes=100)
    full = Repository(repo.path)
    assert full.history_starts(full.resolve("main")) is None


def test_parse_log_reads_an_empty_log_and_a_commit_without_files() -> None:
    assert parse_log(b"") == []
    data = b"\x1e" + b"\0".join([b"a" * 40, b"", b"1790000000", b"Al", b"empty", b""]) + b"\0"
    (commit,) = parse_log(data)
    assert commit == Commit(sha="a" * 40, parents=(), committed=commit.committed, author="Al", subject="empty", body="")
    assert commit.committed.timestamp() == 1790000000
