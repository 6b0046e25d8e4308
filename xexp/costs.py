"""`xexp plan`'s cost section and `xexp profile`: what a study will cost, before it runs.

The estimate itself lives in runtime/engine/estimate/; this module turns it into the lines a plan
prints and measures a model for a profile.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from xexp.compiler.graph import Graph
from xexp.compiler.graph.contracts import DEFAULT_MAX_LEN


def duration(seconds: float) -> str:
    """'2:05:13', '4:10' or '0:03'; days where a study runs for days."""
    seconds = int(round(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}:{minutes:02d}:{secs:02d}" if hours or days else f"{minutes}:{secs:02d}"
    return f"{days}d {text}" if days else text


def plan_cost(graph: Graph, store: str | Path | None, rows: list[dict], *, gpus: float | None,
              cpus: float | None):
    """The cost of the nodes the plan will run, on the given (else this machine's) resources."""
    from xexp.runtime.engine.estimate import estimate_cost, local_capacity

    root = None
    if store is not None:
        from xexp.runtime.engine.store import local_store_path

        try:
            root = local_store_path(store)
        except Exception:  # a URL store xexp cannot read locally: no history
            root = None
    to_run = {row["key"] for row in rows if row["state"] == "run"}
    capacity = local_capacity(gpus, cpus)
    if gpus is None and any(n.resources.num_gpus > 0 for n in graph.nodes if n.key in to_run) and not capacity["GPU"]:
        capacity["GPU"] = max(n.resources.num_gpus for n in graph.nodes)  # say so below
        capacity["assumed_gpu"] = 1.0
    return estimate_cost(graph, root, to_run, capacity)


def cost_lines(estimate) -> list[str]:
    """The plan's cost section: per kind, compute, makespan, critical path, and the bases."""
    if not estimate.nodes:
        return ["cost: nothing to run"]
    capacity = {k: v for k, v in estimate.capacity.items() if k != "assumed_gpu"}
    history = (f"history of {estimate.samples} finished nodes in this store" if estimate.samples
               else "no history in this store yet")
    lines = [f"cost (estimated from {history}):"]
    width = max(len(r["kind"]) for r in estimate.by_kind())
    for row in estimate.by_kind():
        lines.append(f"  {row['kind']:<{width}}  {row['nodes']:>5} × ~{duration(row['each_median']):>8} = "
                     f"{duration(row['seconds']):>10}   ({'; '.join(row['basis'])})")
    lines.append(f"  compute: {estimate.gpu_hours:.2f} GPU-hours, {estimate.cpu_hours:.2f} CPU-hours")
    sim = estimate.simulation
    where = f"{capacity.get('GPU', 0):g} GPU{'s' if capacity.get('GPU', 0) != 1 else ''}, {capacity.get('CPU', 0):g} CPUs"
    if estimate.capacity.get("assumed_gpu"):
        where += " (no GPU here: assumed; give --gpus N)"
    lines.append(f"  makespan on {where}: {duration(sim.makespan)} "
                 f"(lower bound {duration(sim.lower_bound)}: critical path, or the busiest resource's work / its count)")
    if sim.critical_path:
        names = [estimate.names.get(k, k) for k in sim.critical_path]
        shown = names if len(names) <= 6 else names[:3] + ["…"] + names[-2:]
        lines.append(f"  critical path ({len(names)} nodes, {duration(sim.critical_seconds)}): {' → '.join(shown)}")
    if sim.unplaceable:
        lines.append(f"  {len(sim.unplaceable)} nodes ask for more than these resources and are left out of the makespan")
    return lines


# --- xexp profile -----------------------------------------------------------------------------
def profile_from_cli(args) -> int:
    """Measure a few training and evaluation steps of the spec's model(s) at the spec's lengths."""
    from xexp.spec_loading import compile_for_command

    spec, graph = compile_for_command(args.file, args.set, inputs=False)
    models = [n for n in graph.nodes if n.kind == "model"]
    if args.model:
        models = [n for n in models if n.labels.get("model") == args.model or n.name.endswith(":" + args.model)]
        if not models:
            names = ", ".join(sorted({n.name for n in graph.nodes if n.kind == "model"}))
            print(f"xexp profile: no model {args.model!r} in {args.file} (its models: {names})", file=sys.stderr)
            return 2
    train_len = max((int(n.params["hparams"]["max_len"]) for n in graph.nodes if n.kind == "train"),
                    default=DEFAULT_MAX_LEN)
    eval_len = max((int(n.params["max_len"]) for n in graph.nodes if n.kind == "evaluate"),
                   default=DEFAULT_MAX_LEN)
    for node in models:
        profile = measure(node.params["source"], device=args.device, train_len=train_len, eval_len=eval_len,
                          batch=args.batch, steps=args.steps)
        from xexp.runtime.engine.estimate.models import write_profile

        path = write_profile(profile)
        print(f"{profile['model']} on {profile['device_name']}: training {1 / profile['train_s_per_token']:,.0f} "
              f"tokens/s at {train_len}, evaluation {1 / profile['eval_s_per_token']:,.0f} tokens/s at {eval_len} "
              f"-> {path}")
    return 0


def measure(source: dict[str, Any], *, device: str, train_len: int, eval_len: int, batch: int,
            steps: int) -> dict[str, Any]:
    """Seconds per token of forward+backward and of forward alone, after one warm-up step."""
    import tempfile

    import torch
    from transformers import AutoModel

    from xexp.runtime.engine.estimate.history import model_label
    from xexp.runtime.learning.models.sources import materialize_model

    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("xexp profile: --device cuda, but torch sees no CUDA device here")
    with tempfile.TemporaryDirectory(prefix="xexp-profile-") as tmp:
        manifest = materialize_model(source, Path(tmp) / "model")
        model = AutoModel.from_pretrained(manifest["path_or_id"], revision=manifest.get("revision"),
                                          trust_remote_code=False).to(device)
    vocab = int(model.config.vocab_size)
    positions = int(getattr(model.config, "max_position_embeddings", 512)) - 2
    dtype = torch.bfloat16 if device == "cuda" else None

    def timed(length: int, train: bool) -> float:
        length = max(8, min(length, positions))
        ids = torch.randint(5, vocab, (batch, length), device=device)
        model.train(train)
        elapsed = 0.0
        for step in range(steps + 1):
            started = time.perf_counter()
            with torch.autocast(device_type=device, dtype=dtype, enabled=dtype is not None):
                if train:
                    model(input_ids=ids).last_hidden_state.float().mean().backward()
                else:
                    with torch.no_grad():
                        model(input_ids=ids)
            if device == "cuda":
                torch.cuda.synchronize()
            if step:  # the first step warms caches and kernels up
                elapsed += time.perf_counter() - started
        return elapsed / (steps * batch * length)

    train, evaluate = timed(train_len, True), timed(eval_len, False)
    name = torch.cuda.get_device_name(0) if device == "cuda" else "cpu"
    return {"model": model_label(source), "device": "gpu" if device == "cuda" else "cpu", "device_name": name,
            "train_s_per_token": train, "eval_s_per_token": evaluate, "train_len": train_len,
            "eval_len": eval_len, "batch": batch, "steps": steps,
            "measured": datetime.now(timezone.utc).isoformat(timespec="seconds")}
