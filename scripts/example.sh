#!/usr/bin/env bash
# Set up (see setup.sh) and build the retro of the bundled example incident into retros/
# (the example's config names that directory; the build is stored in the default database).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/retroflow --config contrib/examples/checkout-outage/retroflow.toml retro CHK-1042 "$@"
echo "Read it: retros/CHK-1042.md (and retros/CHK-1042.json)"
