#!/usr/bin/env bash
# Set up (see setup.sh) and build the retro of the bundled example incident into retros/
# (the example's config names that directory; the build is stored in the default database)
# from its event file, Git repository, saved GitHub replies and Slack export.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Its Git repository is made, never committed (contrib/examples/checkout-outage/repos/).
.venv/bin/python contrib/examples/checkout-outage/make_repo.py > /dev/null
.venv/bin/retroflow --config contrib/examples/checkout-outage/retroflow.toml retro CHK-1042 "$@"
echo "Read it: retros/CHK-1042.md (and retros/CHK-1042.json)"
