#!/usr/bin/env bash
# Test the dependency ranges that pyproject.toml declares (environment.yml repeats them): build a
# fresh virtual environment OUTSIDE the repository, install the project with its test extra at the
# oldest or at the newest versions those ranges allow, print the versions that were resolved, and
# run the unit tests (pytest tests: the folder tests/ only, not the notebooks) with the data
# settings CI uses (.ci/run), then CI's `ruff check .`. Exits non-zero when the install, any test
# or the lint fails.
#
#   scripts/check_dependency_ranges.sh --oldest    # every direct dependency at its lower bound, Python 3.10
#   scripts/check_dependency_ranges.sh --newest    # the newest releases, on the newest Python found here
#   scripts/check_dependency_ranges.sh --oldest --with 'numpy>=2'   # add (or tighten) a requirement
#   scripts/check_dependency_ranges.sh --newest -- tests/test_models.py -x   # pytest arguments after --
#
# Options: --python VERSION|PATH (instead of the mode's Python), --venv DIR (default
# $BN_DEPS_ROOT/deps-oldest or deps-newest; BN_DEPS_ROOT defaults to ~/.cache/bn-landscape),
# --with SPEC (repeatable), --no-tests (install and print the versions only).
# The environment is deleted and built again on every call. Installing uses uv (the UV variable,
# else uv on PATH, else one that the script installs with pip into $BN_DEPS_ROOT/uv-bootstrap). uv
# downloads from PyPI and ignores pip's configuration; PyPI's torch for Linux is the CUDA build,
# several GB (uv's cache keeps it for the next call). On a busy machine, run it under nice -n 19.
#
# --oldest uses uv's --resolution lowest-direct: the packages pyproject.toml names get their lower
# bounds, and what they pull in resolves as usual (newest compatible), which is what a user who
# pins the direct dependencies gets. ("lowest" would also pin every transitive package at its
# oldest release, combinations that nobody installs and that mostly fail for reasons of their own.)
# --newest picks the newest Python of 3.13, 3.12, 3.11, 3.10 that it finds: requires-python has no
# upper bound, 3.13 is the newest installed here, and every dependency ships 3.13 wheels (torch
# from 2.5 on).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEPS_ROOT="${BN_DEPS_ROOT:-$HOME/.cache/bn-landscape}"

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

MODE="" PYTHON_REQUEST="" VENV="" RUN_TESTS=1
WITH=() PYTEST_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --oldest|--newest) MODE="${1#--}" ;;
    --python) PYTHON_REQUEST="${2:?--python needs a version or a path}"; shift ;;
    --venv) VENV="${2:?--venv needs a folder}"; shift ;;
    --with) WITH+=("${2:?--with needs a requirement}"); shift ;;
    --no-tests) RUN_TESTS=0 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; PYTEST_ARGS=("$@"); break ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$MODE" ] || { usage >&2; exit 2; }
[ ${#PYTEST_ARGS[@]} -gt 0 ] || PYTEST_ARGS=(tests)
VENV="${VENV:-$DEPS_ROOT/deps-$MODE}"

# The environment must not be inside the repository (pytest, ruff and the reference checks would see it).
mkdir -p "$(dirname "$VENV")"
VENV="$(cd "$(dirname "$VENV")" && pwd)/$(basename "$VENV")"
case "$VENV/" in
  "$ROOT"/*) echo "refusing to build the environment inside the repository: $VENV" >&2; exit 2 ;;
esac

# --- uv -----------------------------------------------------------------------------------------
if [ -z "${UV:-}" ]; then
  if command -v uv >/dev/null 2>&1; then
    UV="$(command -v uv)"
  else
    UV="$DEPS_ROOT/uv-bootstrap/bin/uv"
    if [ ! -x "$UV" ]; then
      echo "installing uv into $DEPS_ROOT/uv-bootstrap"
      python3 -m venv "$DEPS_ROOT/uv-bootstrap"
      "$DEPS_ROOT/uv-bootstrap/bin/python" -m pip install --quiet "uv>=0.5"
    fi
  fi
fi
export UV_PYTHON_DOWNLOADS=never  # use the interpreters on this machine, never download one

# --- Python -------------------------------------------------------------------------------------
# A version (3.10) is looked up in pyenv's folder first (its shims run only the selected version),
# then on PATH, then by uv; a path is used as given.
find_python() {
  local want="$1" candidate
  if [[ "$want" == */* ]]; then
    [ -x "$want" ] && { echo "$want"; return 0; }
    return 1
  fi
  for candidate in $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}/versions/$want".*/bin/"python$want" 2>/dev/null | sort -V -r) \
                   "$(command -v "python$want" 2>/dev/null || true)"; do
    if [ -n "$candidate" ] && "$candidate" -c 'import sys, venv' >/dev/null 2>&1; then
      echo "$candidate"
      return 0
    fi
  done
  "$UV" python find "$want" 2>/dev/null
}

if [ -n "$PYTHON_REQUEST" ]; then
  PYTHON="$(find_python "$PYTHON_REQUEST")" || { echo "no Python $PYTHON_REQUEST found" >&2; exit 2; }
elif [ "$MODE" = oldest ]; then
  PYTHON="$(find_python 3.10)" || { echo "Python 3.10 (requires-python's lower bound) not found; use --python" >&2; exit 2; }
else
  PYTHON=""
  for version in 3.13 3.12 3.11 3.10; do
    if PYTHON="$(find_python "$version")"; then break; fi
    PYTHON=""
  done
  [ -n "$PYTHON" ] || { echo "no Python 3.10 to 3.13 found; use --python" >&2; exit 2; }
fi

if [ "$MODE" = oldest ]; then RESOLUTION=lowest-direct; else RESOLUTION=highest; fi

# --- the environment ----------------------------------------------------------------------------
echo "== $MODE: $VENV, Python $("$PYTHON" -c 'import platform; print(platform.python_version())') ($PYTHON)," \
     "uv $("$UV" --version | cut -d' ' -f2), --resolution $RESOLUTION${WITH[*]:+, with ${WITH[*]}}"
rm -rf "$VENV"
"$UV" venv --quiet --python "$PYTHON" "$VENV"
"$UV" pip install --python "$VENV/bin/python" --resolution "$RESOLUTION" -e "$ROOT[test]" ${WITH[@]+"${WITH[@]}"}
"$UV" pip freeze --python "$VENV/bin/python" > "$VENV/resolved-versions.txt"

export VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH"
echo "== resolved (all packages: $VENV/resolved-versions.txt)"
python - <<'EOF'
import platform
from importlib.metadata import PackageNotFoundError, version

rows = [("python", platform.python_version())]
for name in ("torch", "torchvision", "numpy", "matplotlib", "ipykernel", "ipywidgets", "jupyterlab",
             "nbval", "pytest", "playwright", "ruff", "tqdm"):
    try:
        rows.append((name, version(name)))
    except PackageNotFoundError:
        rows.append((name, "not installed"))
for name, found in rows:
    print(f"  {name:<12} {found}")
try:  # the failure old torch builds show beside NumPy 2 ("Numpy is not available")
    import numpy
    import torch

    torch.from_numpy(numpy.zeros(3))
    print("  torch.from_numpy(numpy.zeros(3)): works")
except Exception as err:  # the tests will fail too; say it here, plainly
    print(f"  torch.from_numpy(numpy.zeros(3)): FAILS: {type(err).__name__}: {err}")
EOF

[ "$RUN_TESTS" -eq 1 ] || exit 0

# --- the unit tests, with CI's settings (.ci/run) -----------------------------------------------
SHARED_DATA="$(cd "$ROOT/.." && pwd)/shared/data"
if [ -f "$SHARED_DATA/cifar10/train.npz" ]; then
  export BN_DATA_DIR="$SHARED_DATA"
fi
export BN_NO_DOWNLOAD=1
# pytest's temporary folders (JupyterLab's log, the browser test's screenshots) go beside the
# environment, apart from other pytest runs on this machine, which would otherwise prune them.
export PYTEST_DEBUG_TEMPROOT="${PYTEST_DEBUG_TEMPROOT:-$VENV/pytest-tmp}"
mkdir -p "$PYTEST_DEBUG_TEMPROOT"
echo "== pytest ${PYTEST_ARGS[*]} (data: ${BN_DATA_DIR:-data/ (default)})"
cd "$ROOT"
start=$SECONDS
status=0
python -m pytest "${PYTEST_ARGS[@]}" || status=$?
echo "== $MODE: pytest exited with $status after $((SECONDS - start)) s"
lint=0
ruff check --no-cache . || lint=$?
echo "== $MODE: ruff check exited with $lint"
[ "$status" -ne 0 ] || status=$lint
exit "$status"
