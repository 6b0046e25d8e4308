"""Benchmark of content-addressed inputs: what hashing local files adds to `xexp check` and
`xexp plan` of specs/xnli_local.xexp (30 local files, ~35 MB: MNLI, HellaSwag, XNLI dev in 15
languages, 12 MUSE dictionaries).

"cold" runs start from an empty digest cache, so every file is hashed; "warm" runs find every
digest in the cache and only stat the files. Figures are printed, not asserted: the median (and
best) wall and CPU time of several runs from a cold interpreter, and the CPU time of compiling
in-process (the figure a busy shared machine distorts least).

    python bench/inputs.py --data ../shared/data [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "specs" / "xnli_local.xexp"


def timed(command: list[str], env: dict[str, str], before_each=None) -> tuple[float, float]:
    if before_each is not None:
        before_each()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)


def report(label: str, samples: list[tuple[float, float]]) -> None:
    walls, cpus = [s[0] for s in samples], [s[1] for s in samples]
    print(f"{label:<14} wall median {statistics.median(walls):.3f} s (best {min(walls):.3f}), "
          f"cpu median {statistics.median(cpus):.3f} s")


def in_process(data: str, cache: Path, runs: int) -> None:
    """CPU time of compile_text alone, cold (digests forgotten) and warm."""
    os.environ["XEXP_CACHE"] = str(cache)
    from xexp.compiler import compile_text, read_spec

    text, variables = read_spec(SPEC), {"data": data}
    compile_text(text, str(SPEC), variables)

    def sample(before_each=None) -> list[tuple[float, float]]:
        out = []
        for _ in range(runs):
            if before_each is not None:
                before_each()
            wall, cpu = time.perf_counter(), time.process_time()
            compile_text(text, str(SPEC), variables)
            out.append((time.perf_counter() - wall, time.process_time() - cpu))
        return out

    report("compile cold", sample(lambda: shutil.rmtree(cache / "inputs", ignore_errors=True)))
    report("compile warm", sample())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the data folder specs/xnli_local.xexp reads")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    data = str(Path(args.data).resolve())
    cache = Path(tempfile.mkdtemp(prefix="xexp-bench-cache-"))
    store = Path(tempfile.mkdtemp(prefix="xexp-bench-store-")) / "none"
    env = {**os.environ, "XEXP_CACHE": str(cache)}

    def forget_digests() -> None:
        shutil.rmtree(cache / "inputs", ignore_errors=True)

    xexp = [sys.executable, "-m", "xexp.cli"]
    check = [*xexp, "check", str(SPEC), "--set", f"data={data}"]
    plan = [*xexp, "plan", str(SPEC), "--set", f"data={data}", "--store", str(store)]
    try:
        timed(check, env)  # the parser cache is built once, outside the figures
        report("check cold", [timed(check, env, forget_digests) for _ in range(args.runs)])
        report("check warm", [timed(check, env) for _ in range(args.runs)])
        report("plan cold", [timed(plan, env, forget_digests) for _ in range(args.runs)])
        report("plan warm", [timed(plan, env) for _ in range(args.runs)])
        in_process(data, cache, args.runs)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(store.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
