"""What a study will cost before it runs: each node's time, compute split into GPU- and
CPU-hours, and the makespan on given resources, learned from what the store has measured.

`estimate_nodes` gives every node of a graph an estimated duration with its basis (rates.py);
`estimate_cost` adds up the nodes that will run and replays the scheduler on them
(simulate.py). The scheduler orders ready nodes by the same durations, and the progress line's
time left is the same replay over what is left. Light: no torch, no Ray (plan stays instant).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from xexp.compiler.graph.kinds import kind_of
from xexp.compiler.graph.contracts import DEFAULT_MAX_LEN
from xexp.runtime.engine.estimate.history import Sample, model_label, read_record, read_samples
from xexp.runtime.engine.estimate.models import parameter_count, read_profiles
from xexp.runtime.engine.estimate.rates import RateBook, bounded
from xexp.runtime.engine.estimate.simulate import SimNode, Simulation, simulate
from xexp.runtime.engine.estimate.work import load_rows, planned_work, recorded_rows


@dataclass(frozen=True)
class NodeEstimate:
    key: str
    kind: str
    name: str
    seconds: float
    basis: str
    gpus: float
    cpus: float
    size_known: bool = True


@dataclass
class CostEstimate:
    """The nodes that will run, their estimates, and the replay of the scheduler on them."""

    nodes: list[NodeEstimate]
    capacity: dict[str, float]
    simulation: Simulation
    samples: int
    names: dict[str, str] = field(default_factory=dict)

    def by_kind(self) -> list[dict[str, Any]]:
        kinds: dict[str, list[NodeEstimate]] = {}
        for node in self.nodes:
            kinds.setdefault(node.kind, []).append(node)
        rows = []
        for kind, nodes in kinds.items():
            bases = sorted({n.basis for n in nodes}, key=lambda b: -sum(n.basis == b for n in nodes))
            unknown = sum(not n.size_known for n in nodes)
            if unknown:
                bases.append(f"{unknown} of unknown size: the kind's typical time")  # history's, or this plan's median
            rows.append({"kind": kind, "nodes": len(nodes), "seconds": sum(n.seconds for n in nodes),
                         "each_median": sorted(n.seconds for n in nodes)[len(nodes) // 2],
                         "basis": bases})
        return rows

    @property
    def gpu_hours(self) -> float:
        return sum(n.seconds * n.gpus for n in self.nodes if n.gpus > 0) / 3600

    @property
    def cpu_hours(self) -> float:
        return sum(n.seconds * n.cpus for n in self.nodes if n.gpus == 0) / 3600

    def to_json(self) -> dict[str, Any]:
        sim = self.simulation
        return {
            "samples": self.samples, "capacity": self.capacity, "kinds": self.by_kind(),
            "gpu_hours": self.gpu_hours, "cpu_hours": self.cpu_hours,
            "makespan_seconds": sim.makespan, "lower_bound_seconds": sim.lower_bound,
            "critical_path": [self.names.get(k, k) for k in sim.critical_path],
            "critical_path_seconds": sim.critical_seconds,
            "unplaceable": [self.names.get(k, k) for k in sim.unplaceable],
            "nodes": {n.key: {"seconds": n.seconds, "basis": n.basis} for n in self.nodes},
        }


def _samples(root: Path | None) -> list[Sample]:
    return read_samples(root) if root is not None and root.is_dir() else []


def estimate_nodes(graph: Any, store_root: str | Path | None,
                   samples: list[Sample] | None = None) -> dict[str, NodeEstimate]:
    """Every node's estimated duration (seconds) and what it rests on; `samples`: the store's,
    when the caller has read them already."""
    root = Path(store_root) if store_root is not None else None
    samples = _samples(root) if samples is None else samples
    by_key = graph.by_key()
    models: dict[str, str | None] = {}
    sources: dict[str, dict] = {}

    def model_of(key: str) -> str | None:
        if key not in models:
            node = by_key[key]
            found: str | None = None
            if node.kind == "model":
                sources[model_label(node.params["source"])] = node.params["source"]
                found = model_label(node.params["source"])
            else:
                for role in ("model", "base"):
                    if role in node.inputs and node.inputs[role] in by_key:
                        found = model_of(node.inputs[role])
                        break
            models[key] = found
        return models[key]

    rows: dict[str, float | None] = {}

    def rows_of(key: str) -> float | None:
        if key not in rows:
            node = by_key.get(key)
            found: float | None = None
            if node is not None:
                record = read_record(root, node.kind, key)
                recorded = recorded_rows(record.get("manifest") or {}) if record else None
                if recorded is not None:
                    found = recorded
                elif node.kind == "load":
                    found = load_rows(node.params)
                elif "data" in node.inputs:
                    found = rows_of(node.inputs["data"])
            rows[key] = found
        return rows[key]

    for node in graph.nodes:
        model_of(node.key)
    parameters = {label: parameter_count(source) for label, source in sources.items()}
    book = RateBook(samples, parameters=parameters, profiles=read_profiles())
    out: dict[str, NodeEstimate] = {}
    unsized: list[str] = []
    for node in graph.nodes:
        gpus, cpus = float(node.resources.num_gpus), float(node.resources.num_cpus)
        device = "gpu" if gpus > 0 else "cpu"
        max_len = int(node.params.get("max_len") or (node.params.get("hparams") or {}).get("max_len") or DEFAULT_MAX_LEN)
        rate = book.rate(node.kind, model_of(node.key) if kind_of(node.kind).MODEL_BOUND else None,
                         device, max_len)
        work = planned_work(node, rows_of)
        out[node.key] = NodeEstimate(node.key, node.kind, node.name, bounded(rate.seconds(work.amount)),
                                     rate.basis, gpus, cpus, work.amount is not None or rate.per_unit == 0)
        if work.amount is None and rate.typical is None and rate.per_unit > 0:
            unsized.append(node.key)
    # of unknown size and no history: as long as the plan's sized nodes of the same kind (median)
    for key in unsized:
        estimate = out[key]
        sized = sorted(e.seconds for e in out.values() if e.kind == estimate.kind and e.size_known)
        if sized:
            out[key] = replace(estimate, seconds=sized[len(sized) // 2])
    return out


def sim_nodes(graph: Any, seconds: dict[str, float], keep: set[str]) -> list[SimNode]:
    """The graph's nodes in `keep`, for the replay (inputs outside `keep` count as done)."""
    out = []
    for node in graph.nodes:
        if node.key not in keep:
            continue
        r = node.resources
        demand = {"CPU": float(r.num_cpus), "GPU": float(r.num_gpus)}
        out.append(SimNode(node.key, seconds[node.key], {k: v for k, v in demand.items() if v > 0},
                           tuple(k for k in node.inputs.values() if k in keep)))
    return out


def local_capacity(gpus: float | None = None, cpus: float | None = None) -> dict[str, float]:
    """The resources of this machine as an embedded Ray would see them, unless given: its CPU
    count and its NVIDIA cards (counted without importing torch)."""
    if cpus is None:
        cpus = float(os.cpu_count() or 1)
    if gpus is None:
        cards = Path("/proc/driver/nvidia/gpus")
        gpus = float(len(list(cards.iterdir()))) if cards.is_dir() else 0.0
    return {"CPU": float(cpus), "GPU": float(gpus)}


def estimate_cost(graph: Any, store_root: str | Path | None, to_run: set[str],
                  capacity: dict[str, float]) -> CostEstimate:
    """The cost of running the nodes in `to_run` on `capacity`."""
    samples = _samples(Path(store_root) if store_root is not None else None)  # read once
    estimates = estimate_nodes(graph, store_root, samples)
    nodes = [estimates[n.key] for n in graph.nodes if n.key in to_run]
    replay = simulate(sim_nodes(graph, {k: e.seconds for k, e in estimates.items()}, to_run), capacity)
    return CostEstimate(nodes, capacity, replay, len(samples), {n.key: n.name for n in graph.nodes})

