#!/usr/bin/env bash
# Execute notebooks in place, in the laptop profile, so they are committed with their outputs.
#   scripts/execute_notebooks.sh                      # every notebook
#   scripts/execute_notebooks.sh notebooks/00_setup.ipynb
# Runs come from the run cache (data/runs/) when present; set BN_RUNS_DIR=$(mktemp -d) to recompute.
# Any cell that raises or runs past the timeout (--timeout, default 900 s) stops it, naming the
# notebook and the cell; see scripts/execute_notebooks.py.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python scripts/execute_notebooks.py "$@"
