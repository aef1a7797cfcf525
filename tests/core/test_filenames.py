"""Incident ids as file names: distinct ids never share a file; unusable ids are usage errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from retroflow.cli import cli
from retroflow.filenames import MAX_STEM, check_incident_ref, incident_file_stem
from retroflow.store.human import input_file_path
from retroflow.testing import make_config

IDS = [
    "a/b", "a-b", "a b", "a\\b", "a:b", ".", "..", "...", "-", "事故", "インシデント", "café", "caf",
    "x" * 300, "x" * 301, "-a", "a.", "a", "A", "CHK-1042", "../../etc/passwd", "etc-passwd",
]  # fmt: skip


def test_distinct_ids_never_share_a_file_name() -> None:
    stems = [incident_file_stem(i) for i in IDS]
    assert len(set(stems)) == len(IDS)


@pytest.mark.parametrize("incident_id", IDS)
def test_every_stem_is_a_short_safe_file_name(incident_id: str) -> None:
    stem = incident_file_stem(incident_id)
    assert re.fullmatch(r"[A-Za-z0-9._-]+", stem)
    assert stem not in (".", "..") and not stem.startswith((".", "-"))
    assert len(stem) <= MAX_STEM + 11


def test_safe_ids_are_kept_and_changed_ones_carry_a_hash() -> None:
    assert incident_file_stem("CHK-1042") == "CHK-1042"
    assert incident_file_stem("PT4KHLK") == "PT4KHLK"
    assert re.fullmatch(r"a-b-[0-9a-f]{10}", incident_file_stem("a/b"))
    assert re.fullmatch(r"incident-[0-9a-f]{10}", incident_file_stem("事故"))
    assert re.fullmatch(r"incident-[0-9a-f]{10}", incident_file_stem(".."))


@pytest.mark.parametrize("ref", ["", "   ", "INC\n1", "INC\x1b[31m1", "INC\t1", "INC\x7f"])
def test_empty_ids_and_control_characters_are_refused(ref: str) -> None:
    with pytest.raises(ValueError, match=r"empty|control characters"):
        check_incident_ref(ref)


def test_the_retro_as_code_file_uses_the_same_names(tmp_path: Path) -> None:
    config = make_config(path=tmp_path / "retroflow.toml")
    assert input_file_path(config, "a/b").name == f"{incident_file_stem('a/b')}.retro.toml"
    assert input_file_path(config, "a/b") != input_file_path(config, "a-b")


@pytest.mark.parametrize("ref", ["", "INC\n1"])
def test_the_cli_refuses_an_unusable_id_as_a_usage_error(ref: str) -> None:
    result = CliRunner().invoke(cli, ["-q", "retro", ref, "--no-store"])
    assert result.exit_code == 2, result.output
    assert "Invalid value for 'INCIDENT'" in result.stderr


def test_documents_of_distinct_ids_are_distinct_files(example_dir: Path, tmp_path: Path) -> None:
    events = str(example_dir / "events.jsonl")
    out = tmp_path / "out"
    out.mkdir()
    written = set()
    for ref in ["a/b", "a-b", "x" * 300]:
        result = CliRunner().invoke(cli, ["-q", "retro", ref, "--events", events, "-f", "json", "--out", str(out)])
        assert result.exit_code == 0, result.output
        written.add(f"{incident_file_stem(ref)}.json")
    assert {p.name for p in out.iterdir()} == written
