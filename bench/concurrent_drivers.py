"""Several `xexp run` at once on one store (figures printed, not asserted).

Each repetition starts DRIVERS `xexp run tests/specs/concurrent_tiny.xexp` processes together
on a fresh store and reports, per repetition: exit codes, how often each node began an attempt
(the "started" events of every run in the store; 1 everywhere means no node ran twice),
completion records that do not verify, and whether every driver's results.csv equals a single
driver's. By default each driver starts its own embedded Ray (two terminals on one laptop);
``--address`` joins them to one Ray cluster instead (what tests/test_concurrent_drivers.py does).

    python bench/concurrent_drivers.py                 # 5 repetitions, 3 drivers, embedded Rays
    python bench/concurrent_drivers.py --reps 2 --address 127.0.0.1:6379
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from xexp.runtime.engine.runs import attempts_per_node
from xexp.runtime.engine.store import Store
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "tests" / "specs" / "concurrent_tiny.xexp"


def start(store: Path, address: str | None, num_cpus: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "xexp.cli", "run", str(SPEC), "--store", str(store), "--json"]
    command += ["--address", address] if address else ["--num-cpus", str(num_cpus)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def finish(process: subprocess.Popen) -> tuple[int, dict | None, str]:
    out, err = process.communicate(timeout=1800)
    lines = out.strip().splitlines()
    return process.returncode, (json.loads(lines[-1]) if lines else None), err


def bad_records(store: Path) -> list[str]:
    st = Store(store)
    bad = []
    for path in store.glob("*/*/_complete.json"):
        record = json.loads(path.read_text())
        if st.verify(record["kind"], record["key"]) or (path.parent / "_failed.json").exists():
            bad.append(record["name"])
    return bad


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--drivers", type=int, default=3)
    parser.add_argument("--address", help="join this Ray cluster instead of embedded Rays")
    parser.add_argument("--num-cpus", type=int, default=1, help="CPUs of each embedded Ray")
    args = parser.parse_args()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    with tempfile.TemporaryDirectory(prefix="xexp-concurrent-") as tmp:
        began = time.time()
        code, single, err = finish(start(Path(tmp) / "single", args.address, args.num_cpus))
        if code != 0 or single is None:
            print(f"the single reference run failed ({code}):\n{err[-2000:]}")
            return 1
        reference = (Path(single["report"]) / "results.csv").read_bytes()
        print(f"single driver: {single['nodes']} nodes in {time.time() - began:.0f} s")
        clean = 0
        for rep in range(args.reps):
            store = Path(tmp) / f"shared{rep}"
            began = time.time()
            results = [finish(p) for p in [start(store, args.address, args.num_cpus)
                                           for _ in range(args.drivers)]]
            wall = time.time() - began
            codes = [c for c, _, _ in results]
            started = attempts_per_node(Store(store))
            twice = sorted(k[:10] for k, n in started.items() if n > 1)
            same = [s is not None and s["report"] is not None
                    and (Path(s["report"]) / "results.csv").read_bytes() == reference for _, s, _ in results]
            executed = [s["executed"] if s else None for _, s, _ in results]
            bad = bad_records(store)
            ok = codes == [0] * args.drivers and not twice and len(started) == single["nodes"] and all(same) and not bad
            clean += ok
            print(f"rep {rep + 1}: {wall:.0f} s, exit codes {codes}, executed per driver {executed}, "
                  f"nodes started {len(started)}/{single['nodes']}, started twice {len(twice)} {twice}, "
                  f"bad records {bad}, results.csv equal to single {sum(same)}/{args.drivers}"
                  + ("" if ok else "  <-- NOT CLEAN"))
            for code, _, err in results:
                if code != 0:
                    print("  " + "\n  ".join(err.strip().splitlines()[-3:]))
        print(f"{clean}/{args.reps} repetitions clean")
    return 0


if __name__ == "__main__":
    sys.exit(main())
