#!/usr/bin/env bash
# Set up (see setup.sh) and run the whole test suite: core and every plugin.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
