#!/usr/bin/env bash
# Create .venv and install retroflow with every first-party plugin (editable), quietly.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
args=(-e ".[dev]")
for plugin in plugins/*/; do
    [ -f "$plugin/pyproject.toml" ] && args+=(-e "${plugin%/}[test]")
done
.venv/bin/python -m pip install --quiet --disable-pip-version-check "${args[@]}"
