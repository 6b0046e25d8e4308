#!/usr/bin/env bash
# One prepared device check (bench/device_check.py): smoke spec with --executor local,
# throughput and MFU against Trainer, attack batching, and (when Ray imports) GPU sharing; the
# last line of stdout is a JSON summary.
#   bash bench/device_check.sh [--quick] [--device auto|cpu|cuda] [--out DIR] [--steps ...]
# Installs nothing from the network and nothing into the system. Python: $DEVICE_PYTHON, else
# the project's .venv when it works, else python3. What that python lacks of xexp's small needs
# (lark, pydantic, regex: bench/device_wheels.sh puts them in .whl/) is unpacked from .whl/ into
# a temporary folder, and xexp itself is used from this checkout through a link tree there; both
# go on PYTHONPATH for this check only. Torch, transformers and accelerate must be installed.
# $DEVICE_WHEELS names another wheel folder (bench/device_venv_check.sh: wheels for 3.11).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${DEVICE_PYTHON:-python3}"
if [ -z "${DEVICE_PYTHON:-}" ] && [ -x .venv/bin/python ] && .venv/bin/python -c "" 2>/dev/null; then
  PYTHON=.venv/bin/python
fi
case "$PYTHON" in  # absolute: the import probes below run from /
  /*) ;;
  */*) PYTHON="$PWD/$PYTHON" ;;
esac
if ! "$PYTHON" -c "import torch, transformers" 2>/dev/null; then
  echo "device_check: $PYTHON lacks torch or transformers; run it where they are installed" >&2
  exit 2
fi
if ! "$PYTHON" -c "import accelerate" 2>/dev/null; then
  echo "device_check: 'accelerate' is missing (Trainer needs it): pip install -e '.[bench]' beforehand" >&2
  exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/xexp-device.XXXXXX")
trap 'rm -rf "$work"' EXIT
extra=""
wheels="${DEVICE_WHEELS:-.whl}"
if ! (cd / && "$PYTHON" -c "import lark, pydantic, regex" 2>/dev/null); then
  if ! ls "$wheels"/*.whl >/dev/null 2>&1; then
    echo "device_check: $PYTHON lacks lark/pydantic/regex and $wheels/ has no wheels: run 'bash bench/device_wheels.sh' where there is network, and bring .whl/" >&2
    exit 2
  fi
  # Wheels are zip files; device_wheels.sh checked that none needs more than unpacking.
  "$PYTHON" -c "import sys, zipfile; [zipfile.ZipFile(w).extractall(sys.argv[1]) for w in sys.argv[2:]]" \
    "$work/site" "$wheels"/*.whl
  extra="$work/site"
  echo "[device_check] unpacked $(ls "$wheels"/*.whl | wc -l) wheels from $wheels/ into $work/site" >&2
fi
if ! (cd / && PYTHONPATH="$extra${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" -c "import xexp.runtime.learning.device" 2>/dev/null); then
  # xexp maps compiler/, runtime/, grammar/ into the xexp package (pyproject.toml): the same
  # link tree as .ci/typecheck, instead of an install.
  mkdir -p "$work/tree/xexp"
  ln -s "$PWD"/xexp/*.py "$work/tree/xexp/"
  for package in compiler runtime grammar; do
    ln -s "$PWD/$package" "$work/tree/xexp/$package"
  done
  extra="$work/tree${extra:+:$extra}"
  echo "[device_check] xexp from this checkout through a link tree in $work/tree" >&2
fi
export PYTHONPATH="$extra${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
"$PYTHON" bench/device_check.py "$@"
