"""How good `xexp plan`'s cost estimates are (figures printed, not asserted).

(a) accuracy: a fresh store gets history only from *other* runs (the smoke spec, and the demo
    and xnli_local specs at other sizes and another seed), then specs/demo.xexp and
    specs/xnli_local.xexp are planned (`xexp plan --json`: estimated makespan and node time per
    kind) and run; estimated vs measured wall time and node time per kind are printed, and the
    run's ETA (elapsed + time left, read off the progress line) after the first training
    finished, against the measured wall time. Goals: wall time within ±25%; ETA within ±30%.
(b) makespan under estimate error: the paper-scale graph (specs/xnli_robustness.xexp) on a
    simulated 8-GPU machine; true durations per kind (the ratios bench/scheduler.py uses) with
    per-node variation, the scheduler ordering by estimates that are off by a log-normal error
    of the size (a) measured; printed: makespan / lower bound (goal <= 1.05).

    python bench/estimate.py                 # both (a needs ../shared/data for xnli_local)
    python bench/estimate.py --part b --sigma 0.3
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
#: (spec, --set values) of the history runs, then of the measured runs.
HISTORY = [("smoke.xexp", []),
           ("demo.xexp", ["seeds=[7]", "evaluate.limit=40", "train.target.epochs=1"]),
           ("xnli_local.xexp", [f"data={DATA}", "train_rows=300", "inter_rows=150", "eval_rows=30", "seeds=[7]"])]
MEASURED = [("demo.xexp", []),
            ("xnli_local.xexp", [f"data={DATA}", "train_rows=800", "inter_rows=300", "eval_rows=60"])]
ETA_LINE = re.compile(r"\[xexp\] (\S+) elapsed, ETA (\S+) \| (.*)")


def seconds_of(text: str) -> float:
    parts = [int(p) for p in text.lstrip("≥").split(":")]
    while len(parts) < 3:
        parts.insert(0, 0)
    return parts[0] * 3600 + parts[1] * 60 + parts[2]


def xexp(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xexp.cli", *args], capture_output=True, text=True, env=env, cwd=ROOT)


def sets(values: list[str]) -> list[str]:
    return [a for v in values for a in ("--set", v)]


def part_a(store: Path, env: dict, cpus: int, specs: tuple[str, ...]) -> list[float]:
    """Returns the log-errors of the per-node estimates (for part b's sigma)."""
    for spec, values in HISTORY:
        if ("xnli_local" in spec and not DATA.is_dir()) or (spec != "smoke.xexp" and spec.split(".")[0] not in specs):
            continue
        started = time.time()
        done = xexp("run", f"specs/{spec}", "--store", str(store), "--num-cpus", str(cpus), *sets(values), env=env)
        print(f"history: {spec} {' '.join(values)}: exit {done.returncode} in {time.time() - started:.0f} s", flush=True)
        if done.returncode:
            print("  " + "\n  ".join(done.stderr.strip().splitlines()[-5:]), flush=True)
    errors: list[float] = []
    for spec, values in MEASURED:
        if spec.split(".")[0] not in specs:
            continue
        if "xnli_local" in spec and not DATA.is_dir():
            print(f"{spec}: skipped ({DATA} missing)")
            continue
        plan = xexp("plan", f"specs/{spec}", "--store", str(store), "--json", "--cpus", str(cpus), *sets(values), env=env)
        if plan.returncode:
            print(f"{spec}: plan failed: {plan.stderr.strip()[-500:]}")
            continue
        cost = json.loads(plan.stdout)["cost"]
        started = time.time()
        run = subprocess.run([sys.executable, "-m", "xexp.cli", "run", f"specs/{spec}", "--store", str(store),
                              "--num-cpus", str(cpus), *sets(values)], capture_output=True, text=True, env=env, cwd=ROOT)
        runs = sorted((store / "runs").glob("*/run.json"), key=lambda p: p.parent.name)
        record = json.loads(runs[-1].read_text())
        wall = float((record.get("summary") or {}).get("wall_seconds") or (time.time() - started))
        measured = {}
        for key, est in cost["nodes"].items():
            found = list(store.glob(f"*/{key}/_complete.json"))
            if found:
                data = json.loads(found[0].read_text())
                measured[key] = (data["kind"], float(data["timings"]["seconds"]))
                if est["seconds"] > 0 and measured[key][1] > 0:
                    errors.append(math.log(measured[key][1] / est["seconds"]))
        print(f"\n{spec} {' '.join(values)} (exit {run.returncode}; {len(measured)} nodes run)")
        if run.returncode:
            print("  " + "\n  ".join(run.stderr.strip().splitlines()[-5:]))
        print(f"  {'kind':<9} {'nodes':>5} {'estimated':>10} {'measured':>10} {'ratio':>6}  basis")
        for row in cost["kinds"]:
            keys = [k for k, (kind, _) in measured.items() if kind == row["kind"]]
            actual = sum(measured[k][1] for k in keys)
            est = sum(cost["nodes"][k]["seconds"] for k in keys)
            ratio = est / actual if actual else float("nan")
            print(f"  {row['kind']:<9} {len(keys):>5} {est:>9.1f}s {actual:>9.1f}s {ratio:>6.2f}  {'; '.join(row['basis'])}")
        estimate = cost["makespan_seconds"]
        print(f"  wall time: estimated {estimate:.1f} s, measured {wall:.1f} s "
              f"({100 * (estimate - wall) / wall:+.1f}%; goal ±25%)")
        etas = eta_after_first_training(run.stderr)
        if etas:
            worst = max(abs(total - wall) / wall for total in etas)
            print(f"  ETA after the first training finished: {len(etas)} readings, elapsed+ETA from "
                  f"{min(etas):.0f} to {max(etas):.0f} s against {wall:.0f} s measured: worst {100 * worst:.0f}% (goal ±30%)")
    if errors:
        mean = sum(errors) / len(errors)
        sigma = math.sqrt(sum((e - mean) ** 2 for e in errors) / max(1, len(errors) - 1))
        print(f"\nper-node log error of the estimates: mean {mean:+.2f}, sd {sigma:.2f} over {len(errors)} nodes")
    return errors


def eta_after_first_training(stderr: str) -> list[float]:
    """elapsed + ETA of each progress line after the first training finished."""
    totals, trained = [], False
    for line in stderr.splitlines():
        found = ETA_LINE.search(line)
        if not found:
            continue
        elapsed, eta, counts = found.groups()
        done = re.search(r"train (\d+)/", counts)
        trained = trained or bool(done and int(done.group(1)) > 0)
        if trained and eta != "?":
            totals.append(seconds_of(elapsed) + seconds_of(eta))
    return totals


def part_b(sigma: float, repeats: int, gpus: int) -> None:
    os.environ.setdefault("XEXP_CACHE", tempfile.mkdtemp())
    from xexp.compiler import compile_text, read_spec
    from xexp.runtime.engine.estimate.simulate import SimNode, simulate

    cost = {"model": 20.0, "load": 5.0, "perturb": 5.0, "train": 3600.0, "evaluate": 120.0, "attack": 600.0,
            "report": 30.0}
    spec_path = ROOT / "specs" / "xnli_robustness.xexp"
    _, graph = compile_text(read_spec(spec_path), str(spec_path))
    ratios = []
    for repeat in range(repeats):
        rng = random.Random(repeat)
        true = {n.key: cost[n.kind] * rng.lognormvariate(0, 0.2) for n in graph.nodes}
        believed = {k: v * rng.lognormvariate(0, sigma) for k, v in true.items()}
        nodes = []
        for n in graph.nodes:
            demand = {"GPU": 1.0, "CPU": 0.0} if n.kind == "train" else (
                {"GPU": 0.5} if n.kind in ("evaluate", "attack") else {"CPU": 1.0})
            nodes.append(SimNode(n.key, true[n.key], {k: v for k, v in demand.items() if v}, tuple(n.inputs.values())))
        result = simulate(nodes, {"GPU": float(gpus), "CPU": 8.0}, believed=believed)
        ratios.append(result.makespan / result.lower_bound)
    print(f"\n(b) {spec_path.name}: {len(graph.nodes)} nodes on {gpus} simulated GPUs, estimates off by a "
          f"log-normal error of sd {sigma:.2f}: makespan / lower bound {min(ratios):.3f}-{max(ratios):.3f} "
          f"(mean {sum(ratios) / len(ratios):.3f}) over {repeats} draws; goal <= 1.05")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=["a", "b"], default=None)
    parser.add_argument("--sigma", type=float, default=None, help="part b's estimate error (default: part a's)")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--gpus", type=int, default=8)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--specs", default="demo,xnli_local", help="which measured specs (part a)")
    args = parser.parse_args()
    sigma = args.sigma
    if args.part in (None, "a"):
        with tempfile.TemporaryDirectory(prefix="xexp-estimate-") as tmp:
            env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
            errors = part_a(Path(tmp) / "store", env, args.cpus, tuple(args.specs.split(",")))
        if sigma is None and errors:
            mean = sum(errors) / len(errors)
            sigma = math.sqrt(sum((e - mean) ** 2 for e in errors) / max(1, len(errors) - 1))
    if args.part in (None, "b"):
        part_b(sigma if sigma is not None else 0.5, args.repeats, args.gpus)


if __name__ == "__main__":
    main()
