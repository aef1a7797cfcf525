"""The ``git`` source: events from real repositories, the window, gaps, a whole retro."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from retroflow_git import GitSource

from retroflow import ConfigError, EventKind, Incident, RetroRequest, Timeline
from retroflow.testing import T0, check_source_contract, make_config, make_event, make_plugins

from .conftest import RepoBuilder

URL = "https://github.com/acme/payments"


def _config(tmp_path: Path, repos: str, extra: str = "") -> Any:
    text = f"[plugins.git]\nrepos = [{repos}]\n{extra}"
    return make_config(text, plugins=make_plugins(GitSource(), default_plugins=False), base_dir=tmp_path)


def _incident(**fields: Any) -> Incident:
    return Incident(**{"id": "PAY-7", "services": ("payments-api",), **fields})


def _timeline(signal_minutes: float = 0, resolve_minutes: float | None = 60) -> Timeline:
    events = [make_event("signal", signal_minutes, service="payments-api", native_id="sig")]
    if resolve_minutes is not None:
        events.append(make_event("resolution", resolve_minutes, native_id="res"))
    return Timeline.from_events(events)


def _collect(source: GitSource, config: Any, **known: Any) -> Any:
    known = {"incident": _incident(), "timeline": _timeline(), **known}
    return check_source_contract(source, RetroRequest("PAY-7"), config, **known)


@pytest.fixture
def history(repo: RepoBuilder) -> dict[str, str]:
    """payments: a day of history around an incident at T0 (resolved at +60 min)."""
    shas = {"old": repo.commit("Two days ago", minutes=-2 * 24 * 60)}
    shas["base"] = repo.commit("Yesterday's base", minutes=-20 * 60, files={"pool.py": "size = 50\n"})
    repo.git("checkout", "-q", "-b", "pool")
    repo.commit("Lower the pool size", minutes=-40, files={"pool.py": "size = 5\n"}, author="Carol Dev")
    repo.git("checkout", "-q", "main")
    shas["merge"] = repo.merge("pool", "Merge pull request #42 from acme/pool\n\nLower the pool size", minutes=-6)
    repo.tag("v2.14.0", message="Release 2.14.0", minutes=-5)
    shas["revert"] = repo.commit('Revert "Lower the pool size"', minutes=45, files={"pool.py": "size = 50\n"})
    shas["later"] = repo.commit("After the resolve", minutes=90)
    return shas


def test_commits_merges_and_tags_become_change_events_of_the_service(
    tmp_path: Path, repo: RepoBuilder, history: dict[str, str]
) -> None:
    config = _config(tmp_path, f'{{path = "payments", service = "payments-api", branch = "main", url = "{URL}"}}')
    result = _collect(GitSource(), config)
    by_id = {e.native_id: e for e in result.events}
    assert set(by_id) == {f"payments-api@{history[k]}" for k in ("base", "merge", "revert")} | {
        "payments-api@tag/v2.14.0"
    }, "the day before the first signal until the resolve, nothing else"
    assert {e.kind for e in result.events} == {EventKind.CHANGE}
    assert {e.service for e in result.events} == {"payments-api"}
    merge = by_id[f"payments-api@{history['merge']}"]
    assert merge.at == T0 - timedelta(minutes=6)
    assert merge.summary == f"payments-api: merged PR #42 Lower the pool size ({history['merge'][:7]})"
    assert merge.actor == "Bob Merger"
    assert merge.link == f"{URL}/commit/{history['merge']}"
    assert merge.details == {
        "change": "merge",
        "sha": history["merge"],
        "author": "Bob Merger",
        "subject": "Merge pull request #42 from acme/pool",
        "branch": "main",
        "files_changed": 1,
        "lines_added": 1,
        "lines_deleted": 1,
        "files": ["pool.py"],
        "pull_request": 42,
        "pull_request_link": f"{URL}/pull/42",
    }
    revert = by_id[f"payments-api@{history['revert']}"]
    assert revert.details["change"] == "commit" and revert.details["revert"] is True
    tag = by_id["payments-api@tag/v2.14.0"]
    assert (tag.summary, tag.actor, tag.link) == (
        f"payments-api: released v2.14.0 ({history['merge'][:7]})",
        "Rel Eng",
        f"{URL}/releases/tag/v2.14.0",
    )
    assert tag.details == {"change": "release", "tag": "v2.14.0", "sha": history["merge"], "subject": "Release 2.14.0"}
    assert result.gaps == ()


def test_window_hours_and_the_incident_s_creation_set_the_window(
    tmp_path: Path, repo: RepoBuilder, history: dict[str, str]
) -> None:
    config = _config(tmp_path, '{path = "payments", service = "payments-api"}', "window_hours = 1\n")
    shas = {e.details["sha"] for e in _collect(GitSource(), config).events if e.details["change"] != "release"}
    assert shas == {history["merge"], history["revert"]}, "yesterday's base is outside one hour"
    created_earlier = _incident(created=T0 - timedelta(hours=20))
    shas = {e.details["sha"] for e in _collect(GitSource(), config, incident=created_earlier).events}
    assert history["base"] in shas, "created 20 h before the first signal: the window starts an hour before that"


def test_an_unresolved_incident_is_read_until_now(tmp_path: Path, repo: RepoBuilder, history: dict[str, str]) -> None:
    config = _config(tmp_path, '{path = "payments", service = "payments-api", tags = ""}')
    now = T0 + timedelta(hours=3)
    result = _collect(GitSource(now=lambda: now), config, timeline=_timeline(resolve_minutes=None))
    assert history["later"] in {e.details["sha"] for e in result.events}
    assert all(e.details["change"] != "release" for e in result.events), 'tags = "" reads no tags'


def test_no_time_to_read_around_is_a_gap_not_a_crash(tmp_path: Path, repo: RepoBuilder) -> None:
    repo.commit("base", minutes=0)
    config = _config(tmp_path, '{path = "payments", service = "payments-api"}')
    result = _collect(GitSource(), config, incident=Incident(id="PAY-7"), timeline=Timeline.from_events(()))
    (gap,) = result.gaps
    assert (gap.plugin, gap.kind) == ("git", "skipped")
    assert "no source says when the incident began" in gap.reason


def test_unreadable_repositories_are_gaps_and_the_others_are_still_read(
    tmp_path: Path, repo: RepoBuilder, history: dict[str, str]
) -> None:
    (tmp_path / "plain").mkdir()
    config = _config(
        tmp_path,
        '{path = "gone", service = "ledger"}, {path = "plain", service = "web"}, '
        '{path = "payments", service = "payments-api", branch = "release"}, '
        '{path = "payments", service = "payments-api"}',
    )
    result = _collect(GitSource(), config)
    assert len(result.events) == 4
    reasons = sorted(g.reason for g in result.gaps)
    assert [g.kind for g in result.gaps] == ["error"] * 3
    assert reasons[0].startswith("ledger: ") and "gone does not exist" in reasons[0]
    assert reasons[1].startswith("payments-api: ") and "has no branch or commit 'release'" in reasons[1]
    assert reasons[2].startswith("web: ") and "is not a Git repository" in reasons[2]


def test_a_shallow_clone_missing_part_of_the_window_is_a_gap_with_the_fix(
    tmp_path: Path, repo: RepoBuilder, history: dict[str, str]
) -> None:
    clone = tmp_path / "ci-checkout"
    subprocess.run(["git", "clone", "-q", "--depth", "3", f"file://{repo.path}", str(clone)], check=True)
    config = _config(tmp_path, '{path = "ci-checkout", service = "payments-api"}')
    result = _collect(GitSource(), config)
    assert history["merge"] in {e.details["sha"] for e in result.events}, "what the clone has is still read"
    (gap,) = result.gaps
    assert gap.kind == "skipped"
    assert "is a shallow clone" in gap.reason and "git fetch --shallow-since=2026-11-01" in gap.reason


def test_a_window_without_changes_is_a_gap_that_says_what_was_read(tmp_path: Path, repo: RepoBuilder) -> None:
    repo.commit("long ago", minutes=-10 * 24 * 60)
    config = _config(tmp_path, '{path = "payments", service = "payments-api", branch = "main"}')
    result = _collect(GitSource(), config)
    assert result.events == ()
    (gap,) = result.gaps
    assert gap.reason == "no commits or tags in 2026-11-01T14:00:00Z – 2026-11-02T15:00:00Z in payments-api (main)"


@pytest.mark.parametrize(
    ("repos", "expected"),
    [
        ('{path = "p"}', "[plugins.git] repos[0] service: required key is missing"),
        ('{path = "p", service = " "}', "[plugins.git] repos[0]: service: must not be empty"),
        ('{path = "p", service = "s", url = "github.com/acme"}', "url: expected the repository's web address"),
    ],
)
def test_settings_errors_name_the_item_and_key(tmp_path: Path, repos: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        _config(tmp_path, repos)
    assert expected in str(info.value)


def test_a_whole_retro_with_the_file_source_finds_the_change_before_the_incident(
    tmp_path: Path, repo: RepoBuilder, history: dict[str, str]
) -> None:
    from retroflow.engine import build_retro  # the engine: what `retroflow retro` runs

    events = tmp_path / "events.jsonl"
    lines = [
        {"at": "2026-11-02T14:00:00Z", "kind": "alert", "summary": "payments-api 5xx > 2%", "service": "payments-api"},
        {"at": "2026-11-02T15:00:00Z", "kind": "resolution", "summary": "Resolved"},
    ]
    events.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    incident = tmp_path / "incident.json"
    incident.write_text(json.dumps({"id": "PAY-7", "title": "Payments failing", "services": ["payments-api"]}))
    plugins = make_plugins(("git", GitSource()))
    config = make_config(
        '[plugins.file]\nevents = ["events.jsonl"]\nincident = "incident.json"\n\n'
        f'[plugins.git]\nrepos = [{{path = "payments", service = "payments-api", url = "{URL}"}}]\n',
        plugins=plugins,
        base_dir=tmp_path,
    )
    retro = build_retro(RetroRequest("PAY-7"), plugins=plugins, config=config)
    (factor,) = [f for f in retro.factors if f.key == "change-before-incident"]
    assert {f"git:payments-api@{history['merge']}", "git:payments-api@tag/v2.14.0"} <= set(factor.evidence)
    assert factor.details["change"] == f"payments-api: released v2.14.0 ({history['merge'][:7]})", "the last one"
    assert factor.details["services"] == ["payments-api"]
    assert not retro.gaps


def test_event_ids_are_the_same_from_a_fresh_source_and_a_fresh_clone(
    tmp_path: Path, repo: RepoBuilder, history: dict[str, str]
) -> None:
    subprocess.run(["git", "clone", "-q", f"file://{repo.path}", str(tmp_path / "again")], check=True)
    original = _config(tmp_path, '{path = "payments", service = "payments-api"}')
    clone = _config(tmp_path, '{path = "again", service = "payments-api", branch = "origin/main"}')
    ids = [sorted(e.id for e in _collect(GitSource(), config).events) for config in (original, clone)]
    assert ids[0] == ids[1] and len(ids[0]) == 4
