#!/usr/bin/env bash
# Execute notebooks in place, in the laptop profile, so they are committed with their outputs.
#   scripts/execute_notebooks.sh                      # every notebook
#   scripts/execute_notebooks.sh notebooks/00_setup.ipynb
# Runs come from the run cache (data/runs/) when present; set BN_RUNS_DIR=$(mktemp -d) to recompute.
set -euo pipefail
cd "$(dirname "$0")/.."
export BN_PROFILE="${BN_PROFILE:-laptop}"
[ "$#" -gt 0 ] || set -- notebooks/[0-9]*.ipynb
for nb in "$@"; do
  start=$(date +%s)
  jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=1200 "$nb"
  size=$(wc -c < "$nb")
  echo "$nb: $(( $(date +%s) - start )) s, $(( size / 1024 )) KiB (profile $BN_PROFILE)"
  if grep -q '"output_type": "error"' "$nb"; then echo "$nb has an error output" >&2; exit 1; fi
  if [ "$size" -gt 3000000 ]; then echo "$nb is over 3 MB" >&2; exit 1; fi
done
