"""scripts/setup.sh installs on a fresh clone and again only when requirements change."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Stands in for the interpreter that makes the venv: it makes a .venv/bin/python that logs
# pip calls instead of running them (and runs every other call with the real Python).
FAKE_PYTHON = """#!/bin/sh
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
    mkdir -p "$3/bin"
    cat > "$3/bin/python" <<'EOF'
#!/bin/sh
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then echo "$@" >> pip.log; [ ! -e pip-fails ]; exit; fi
exec {real} "$@"
EOF
    chmod +x "$3/bin/python"
    exit 0
fi
exec {real} "$@"
"""


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A copy of the repository's layout: setup.sh, the core's and two plugins' pyproject.toml."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "setup.sh", tmp_path / "scripts" / "setup.sh")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'core'\n")
    for name in ("retroflow-a", "retroflow-b"):
        (tmp_path / "plugins" / name).mkdir(parents=True)
        (tmp_path / "plugins" / name / "pyproject.toml").write_text(f"[project]\nname = '{name}'\n")
    fake = tmp_path / "fake-python"
    fake.write_text(FAKE_PYTHON.replace("{real}", sys.executable))
    fake.chmod(0o755)
    return tmp_path


def setup(clone: Path, *, ok: bool = True) -> list[str]:
    """Run setup.sh; return the pip calls it made."""
    log = clone / "pip.log"
    log.unlink(missing_ok=True)
    env = {"PATH": "/usr/bin:/bin", "PYTHON": str(clone / "fake-python")}
    done = subprocess.run(["bash", "scripts/setup.sh"], cwd=clone, env=env, check=False, capture_output=True)
    assert (done.returncode == 0) == ok, done.stderr
    return log.read_text().splitlines() if log.exists() else []


def test_a_fresh_clone_installs_the_core_and_every_plugin(clone: Path) -> None:
    (call,) = setup(clone)
    assert "-e .[dev]" in call
    assert "-e plugins/retroflow-a[test]" in call and "-e plugins/retroflow-b[test]" in call


def test_pip_runs_again_only_when_a_pyproject_changes(clone: Path) -> None:
    assert len(setup(clone)) == 1
    assert setup(clone) == [], "nothing changed: no pip"
    (clone / "plugins" / "retroflow-b" / "pyproject.toml").write_text("[project]\nname = 'b'\nversion = '2'\n")
    assert len(setup(clone)) == 1
    assert setup(clone) == []
    (clone / "plugins" / "retroflow-c").mkdir()
    (clone / "plugins" / "retroflow-c" / "pyproject.toml").write_text("[project]\nname = 'c'\n")
    (call,) = setup(clone)
    assert "-e plugins/retroflow-c[test]" in call, "a new plugin is installed"


def test_a_failed_install_is_retried(clone: Path) -> None:
    setup(clone)
    (clone / "pyproject.toml").write_text("[project]\nname = 'core'\nversion = '2'\n")
    (clone / "pip-fails").touch()
    assert len(setup(clone, ok=False)) == 1
    (clone / "pip-fails").unlink()
    assert len(setup(clone)) == 1, "the failed install left no stamp"
    assert setup(clone) == []


def test_deleting_the_stamp_forces_a_reinstall(clone: Path) -> None:
    setup(clone)
    (clone / ".venv" / ".retroflow-setup").unlink()
    assert len(setup(clone)) == 1


def test_a_plugin_another_plugin_requires_is_installed_in_a_first_run(clone: Path) -> None:
    """pip looks a requirement up on the index unless it is installed: retroflow-a goes first."""
    (clone / "plugins" / "retroflow-b" / "pyproject.toml").write_text(
        "[project]\nname = 'retroflow-b'\n[project.optional-dependencies]\ntest = [\n    \"retroflow-a\",\n]\n"
    )
    first, second = setup(clone)
    assert "-e plugins/retroflow-a[test]" in first and "retroflow-b" not in first
    assert "-e plugins/retroflow-a[test]" in second and "-e plugins/retroflow-b[test]" in second
