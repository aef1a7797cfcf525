"""The bundled example's made files: its Git repository is the same on every machine and
never part of this repository, and its saved GitHub replies and Slack export are exactly
what their generators write (edit the generators, then rerun them)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from .conftest import EXAMPLE, ROOT


def generator(name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(EXAMPLE))  # they import make_repo by name, as scripts do
    spec = importlib.util.spec_from_file_location(name, EXAMPLE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


def saved(relative: str) -> Any:
    return json.loads((EXAMPLE / relative).read_text(encoding="utf-8"))


def test_the_repository_is_the_same_wherever_it_is_made(
    example_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_repo = generator("make_repo", monkeypatch)
    again = make_repo.make_repo(tmp_path / "checkout.git")
    assert make_repo.shas(again) == make_repo.shas(example_repo)
    assert make_repo.shas(again)["v2.14.0"] == "7a726bb1c82a5e8e963a78a81a19f22135ee3730"
    objects = (again / "objects").stat().st_ino
    assert make_repo.make_repo(again) == again and (again / "objects").stat().st_ino == objects, "kept as it is"
    (again / make_repo.STAMP).write_text("another history\n")
    make_repo.make_repo(again)
    assert (again / make_repo.STAMP).read_text() != "another history\n", "replaced"
    assert [p.name for p in tmp_path.iterdir()] == ["checkout.git"], "no scratch directory left behind"


def test_the_repository_is_never_committed_here(example_repo: Path) -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(["git", "check-ignore", "-q", str(example_repo)], cwd=ROOT, check=False)
    assert ignored.returncode == 0, f"{example_repo} must be git-ignored"


def test_the_saved_github_replies_are_what_the_generator_writes(
    example_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_github_replies = generator("make_github_replies", monkeypatch)
    shas = generator("make_repo", monkeypatch).shas(example_repo)
    written = make_github_replies.replies(shas)
    assert sorted(written) == sorted(
        str(p.relative_to(EXAMPLE / "github")) for p in (EXAMPLE / "github").rglob("*.json")
    )
    for name, body in written.items():
        assert saved(f"github/{name}") == body, name


def test_the_slack_export_is_what_the_generator_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    export = generator("make_slack_export", monkeypatch)
    assert saved("slack/channels.json") == export.channels()
    assert saved("slack/users.json") == [export.user(name) for name in export.PEOPLE] + [export.datadog_user()]
    assert saved("slack/storefront-oncall/2026-11-07.json") == export.day()
    assert sorted(str(p.relative_to(EXAMPLE / "slack")) for p in (EXAMPLE / "slack").rglob("*.json")) == [
        "channels.json",
        "storefront-oncall/2026-11-07.json",
        "users.json",
    ]
