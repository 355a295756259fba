# Sourced by the launchers (dist_train.sh, dist_test.sh, slurm_*.sh): sets
# PYTHON to the interpreter that has granzsl_mm.
#   1. $PYTHON when set (PYTHON=/path/to/python tools/dist_train.sh ...);
#   2. else the repository's .venv/bin/python (what `make demo` / `make test`
#      create);
#   3. else the first of python3, python that can import granzsl_mm and
#      mmengine (an activated environment, conda, a system install).
_GRANZSL_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# granzsl_mm importable and its frameworks present (found, not loaded: fast)
_GRANZSL_PROBE='import importlib.util as u, granzsl_mm
assert all(u.find_spec(m) for m in ("torch", "mmengine", "mmpretrain", "mmcv"))'
if [ -z "${PYTHON:-}" ]; then
    if [ -x "$_GRANZSL_REPO/.venv/bin/python" ]; then
        PYTHON="$_GRANZSL_REPO/.venv/bin/python"
    else
        for _candidate in python3 python; do
            if command -v "$_candidate" >/dev/null 2>&1 && \
                PYTHONPATH="$_GRANZSL_REPO${PYTHONPATH:+:$PYTHONPATH}" \
                "$_candidate" -c "$_GRANZSL_PROBE" >/dev/null 2>&1; then
                PYTHON="$_candidate"
                break
            fi
        done
    fi
    if [ -z "${PYTHON:-}" ]; then
        echo "$(basename "$0"): error: no Python with granzsl_mm found (no" \
            "$_GRANZSL_REPO/.venv; python3/python cannot import granzsl_mm)." \
            "Run 'make install', activate your environment, or set" \
            "PYTHON=/path/to/python." >&2
        exit 1
    fi
fi
export PYTHON
