"""Real repositories built with the ``git`` command, with the dates each test needs."""

from __future__ import annotations

import os
import subprocess
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from retroflow.testing import T0


class RepoBuilder:
    """A repository under construction: commits, merges and tags at given times."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, at: datetime | None = None, author: str = "Alice Liddell") -> str:
        env = {
            **os.environ,
            "GIT_AUTHOR_NAME": author,
            "GIT_AUTHOR_EMAIL": f"{author.split()[0].lower()}@example.com",
            "GIT_COMMITTER_NAME": author,
            "GIT_COMMITTER_EMAIL": f"{author.split()[0].lower()}@example.com",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
        }
        if at is not None:
            env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"@{int(at.timestamp())} +0000"
        done = subprocess.run(["git", "-C", str(self.path), *args], env=env, capture_output=True, check=True)
        return done.stdout.decode().strip()

    def commit(
        self,
        subject: str,
        *,
        minutes: float,
        files: dict[str, str | bytes] | None = None,
        author: str = "Alice Liddell",
        body: str = "",
    ) -> str:
        """Commit at ``T0 + minutes``; ``files`` maps paths to their new content."""
        for name, content in (files or {f"f{zlib.crc32(subject.encode())}.txt": subject + "\n"}).items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
            self.git("add", "--", name)
        message = subject + (f"\n\n{body}" if body else "")
        self.git("commit", "-q", "--allow-empty", "-m", message, at=T0 + timedelta(minutes=minutes), author=author)
        return self.git("rev-parse", "HEAD")

    def merge(self, branch: str, message: str, *, minutes: float, author: str = "Bob Merger") -> str:
        self.git("merge", "-q", "--no-ff", branch, "-m", message, at=T0 + timedelta(minutes=minutes), author=author)
        return self.git("rev-parse", "HEAD")

    def tag(self, name: str, *, minutes: float | None = None, message: str | None = None, rev: str = "HEAD") -> None:
        """A lightweight tag, or an annotated one (tagged at ``T0 + minutes``) with ``message``."""
        if message is None:
            self.git("tag", name, rev)
        else:
            at = T0 + timedelta(minutes=minutes or 0)
            self.git("tag", "-a", name, "-m", message, rev, at=at, author="Rel Eng")


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[[str], RepoBuilder]:
    return lambda name="repo": RepoBuilder(tmp_path / name)


@pytest.fixture
def repo(make_repo: Callable[[str], RepoBuilder]) -> RepoBuilder:
    return make_repo("payments")
