#!/usr/bin/env bash
# GPU suite (<= 5 minutes on one GPU; random weights; nothing downloaded):
# COCO GZSL test throughput (1 view vs 1+13 snippets, fp32 vs bf16, JPEG
# decoding included), GranZSL 30-epoch COCO text training wall time,
# NUS-WIDE-size evaluation time, test_step speed of every metafile model.
# See benchmarks/gpu_suite.py.
#
#   bash benchmarks/gpu_suite.sh [--small] [--json figures.json] [...]
#
# Python: $PYTHON, else .venv/bin/python, else python3. If granzsl_mm is not
# importable there, the tree is installed (editable, --no-deps, no index)
# into a venv with the system site packages ($GPU_SUITE_VENV, default
# /tmp/granzsl_gpu_suite_venv); torch, mmengine, mmpretrain and open_clip
# must already be installed. Time limit: $GPU_SUITE_TIMEOUT seconds (300).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
if ! "$PY" -c 'import granzsl_mm' 2>/dev/null; then
  VENV="${GPU_SUITE_VENV:-/tmp/granzsl_gpu_suite_venv}"
  if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv --system-site-packages "$VENV"
  fi
  PY="$VENV/bin/python"
  if ! "$PY" -c 'import granzsl_mm' 2>/dev/null; then
    "$PY" -m pip install --quiet --no-index --no-deps --no-build-isolation \
      -e "$REPO" || export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
  fi
fi
for mod in torch mmengine mmpretrain open_clip PIL; do
  if ! "$PY" -c "import $mod" 2>/dev/null; then
    echo "gpu_suite: $PY cannot import $mod (install the project's" \
         "dependencies first; nothing is downloaded here)" >&2
    exit 2
  fi
done
exec timeout "${GPU_SUITE_TIMEOUT:-300}" "$PY" benchmarks/gpu_suite.py "$@"
