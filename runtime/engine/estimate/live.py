"""The time a running study has left: the scheduler replayed over what is left, on estimates
corrected by what this run has measured so far.

Each kind's estimates are multiplied by how far off they were for the nodes of that kind that
finished in this run (measured / estimated, summed). A kind none of whose nodes has finished
keeps its estimates as they are: kinds are off by different factors (a training's estimate
can be short while an evaluation's is long), so one kind's ratio would move another's the
wrong way (bench/README.md, the ETA figures). A running node holds its resources for its
corrected estimate less the time it has run (never less than nothing).
"""

from __future__ import annotations

import time
from typing import Any

from xexp.runtime.engine.estimate.simulate import SimNode, simulate

#: A correction ratio is kept within these bounds: one odd node must not throw the whole estimate.
RATIO_BOUNDS = (0.1, 10.0)


def estimated_seconds(graph: Any, store_root: Any) -> dict[str, float] | None:
    """Each node's estimated seconds, or None when no estimate can be made (never raises: an
    estimate only orders work and informs; it must not stop a run)."""
    try:
        from xexp.runtime.engine.estimate import estimate_nodes

        return {k: e.seconds for k, e in estimate_nodes(graph, store_root).items()}
    except Exception:  # noqa: BLE001 - see the docstring
        return None


class TimeLeft:
    """Seconds left of a run, from the estimates and the events seen so far."""

    def __init__(self, graph: Any, estimates: dict[str, float], capacity: dict[str, float]) -> None:
        self.nodes = graph.nodes
        self.kind_of = {n.key: n.kind for n in graph.nodes}
        self.estimates = estimates
        self.capacity = {k: v for k, v in capacity.items() if k in ("CPU", "GPU")}
        self.measured: dict[str, list[tuple[float, float]]] = {}  # kind -> (estimated, measured)

    def finished(self, key: str, seconds: float) -> None:
        kind = self.kind_of.get(key)
        if kind is not None and key in self.estimates:
            self.measured.setdefault(kind, []).append((self.estimates[key], seconds))

    def ratio(self, kind: str) -> float:
        pairs = self.measured.get(kind) or []
        estimated = sum(e for e, _ in pairs)
        if not pairs or estimated <= 0:
            return 1.0
        low, high = RATIO_BOUNDS
        return min(high, max(low, sum(m for _, m in pairs) / estimated))

    def seconds(self, states: dict[str, str], started: dict[str, float], now: float | None = None) -> float:
        """Time left, given each node's state ('pending', 'queued', 'running' or final) and when
        running nodes started."""
        now = time.time() if now is None else now
        left = {n.key for n in self.nodes if states.get(n.key, "pending") in ("pending", "queued", "running")}
        if not left:
            return 0.0
        ratios = {kind: self.ratio(kind) for kind in set(self.kind_of.values())}
        nodes, running = [], set()
        for node in self.nodes:
            if node.key not in left:
                continue
            seconds = self.estimates.get(node.key, 0.0) * ratios[node.kind]
            if states.get(node.key) == "running":
                running.add(node.key)
                seconds = max(0.0, seconds - (now - started.get(node.key, now)))
            r = node.resources
            demand = {"CPU": float(r.num_cpus), "GPU": float(r.num_gpus)}
            capacity_ok = {k: min(v, self.capacity.get(k, v)) for k, v in demand.items() if v > 0}
            nodes.append(SimNode(node.key, seconds, capacity_ok, tuple(k for k in node.inputs.values() if k in left)))
        capacity = dict(self.capacity)
        for res in ("CPU", "GPU"):  # a cluster without GPUs still replays the GPU nodes
            capacity[res] = max(capacity.get(res, 0.0), max((n.demand.get(res, 0.0) for n in nodes), default=0.0))
        return simulate(nodes, capacity, first=running).makespan
