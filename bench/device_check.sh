#!/usr/bin/env bash
# One prepared device check (bench/device_check.py): spec runs, throughput against Trainer,
# attack batching, GPU sharing; the last line of stdout is a JSON summary.
#   bash bench/device_check.sh [--quick] [--device auto|cpu|cuda] [--out DIR] [--steps ...]
# Installs nothing from the network: it uses the project's virtualenv (.venv) when present,
# else the python on PATH, and at most installs the checkout itself (editable, no deps, offline).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=python3
if [ -x .venv/bin/python ] && .venv/bin/python -c "" 2>/dev/null; then
  PYTHON=.venv/bin/python
fi
if ! "$PYTHON" -c "import xexp.runtime.device, torch, transformers, ray" 2>/dev/null; then
  if "$PYTHON" -c "import torch, transformers, ray" 2>/dev/null; then
    echo "[device_check] installing this checkout (editable, no dependencies, offline)" >&2
    "$PYTHON" -m pip install --quiet --no-deps --no-index --no-build-isolation -e . >&2
  else
    echo "device_check: $PYTHON lacks torch/transformers/ray; run it from the project's virtualenv" >&2
    exit 2
  fi
fi
if ! "$PYTHON" -c "import accelerate" 2>/dev/null; then
  echo "device_check: 'accelerate' is missing (Trainer needs it): pip install -e '.[bench]' beforehand" >&2
  exit 2
fi
export PYTHONUNBUFFERED=1
exec "$PYTHON" bench/device_check.py "$@"
