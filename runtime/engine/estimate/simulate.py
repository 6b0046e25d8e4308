"""The scheduler's policy replayed on estimated durations: makespan, lower bound, critical path.

`xexp plan` uses it to say how long a study takes on the resources given, and the progress line
uses it for the time left. The policy is the scheduler's own (runtime/engine/scheduler.py): every node
whose inputs are done is ready; ready nodes start in order of their critical-path priority (the
node's duration plus the longest chain of consumers after it), and a node starts as soon as its
demand fits what is free, so smaller shapes backfill behind a node that waits for a whole GPU.
Ray's queue (the scheduler submits up to twice the cluster) only decides who starts first, which
the priority order already says, so it is left out.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

#: Demands are compared with this slack (fractional GPUs add up to 0.999…).
EPS = 1e-9


@dataclass(frozen=True)
class SimNode:
    """One node to simulate: its duration (seconds), what it holds while it runs, its inputs."""

    key: str
    seconds: float
    demand: dict[str, float]
    inputs: tuple[str, ...] = ()


@dataclass
class Simulation:
    """What a replay found. `makespan` and `lower_bound` in seconds; `critical_path` the keys of
    the longest chain of durations, first to last; `unplaceable` nodes ask more than the whole
    cluster has (they are left out, and say why the makespan is not the whole story)."""

    makespan: float
    lower_bound: float
    critical_path: list[str]
    critical_seconds: float
    busy_seconds: dict[str, float] = field(default_factory=dict)
    unplaceable: list[str] = field(default_factory=list)


def priorities(nodes: list[SimNode]) -> dict[str, float]:
    """Each node's duration plus the longest chain of its consumers' durations (nodes given in a
    topological order, as a Graph holds them)."""
    consumers: dict[str, list[str]] = {n.key: [] for n in nodes}
    for node in nodes:
        for parent in node.inputs:
            if parent in consumers:
                consumers[parent].append(node.key)
    rank: dict[str, float] = {}
    for node in reversed(nodes):
        rank[node.key] = node.seconds + max((rank[c] for c in consumers[node.key]), default=0.0)
    return rank


def critical_path(nodes: list[SimNode], rank: dict[str, float] | None = None) -> list[str]:
    """The chain that bounds the makespan from below, from its first node to its last."""
    rank = rank if rank is not None else priorities(nodes)
    if not nodes:
        return []
    by_key = {n.key: n for n in nodes}
    consumers: dict[str, list[str]] = {n.key: [] for n in nodes}
    for node in nodes:
        for parent in node.inputs:
            if parent in consumers:
                consumers[parent].append(node.key)
    roots = [n.key for n in nodes if not any(p in by_key for p in n.inputs)]
    key = max(roots, key=lambda k: rank[k])
    path = [key]
    while consumers[key]:
        key = max(consumers[key], key=lambda k: rank[k])
        path.append(key)
    return path


def simulate(nodes: list[SimNode], capacity: dict[str, float], first: set[str] | frozenset = frozenset(),
             believed: dict[str, float] | None = None) -> Simulation:
    """Replay the scheduler on `nodes` (topological order) with `capacity` (e.g. {"CPU": 8,
    "GPU": 2}); inputs not among `nodes` count as done. Nodes in `first` start before any other
    (nodes running already, given with the time they have left). `believed`: the durations the
    scheduler orders by, when they differ from the nodes' true ones (an estimate's error)."""
    rank = priorities([SimNode(n.key, believed.get(n.key, n.seconds), n.demand, n.inputs) for n in nodes]
                      if believed else nodes)
    for key in first:
        if key in rank:
            rank[key] += 1e18
    order = {n.key: i for i, n in enumerate(nodes)}
    by_key = {n.key: n for n in nodes}
    unplaceable = [n.key for n in nodes
                   if any(v > capacity.get(r, 0.0) + EPS for r, v in n.demand.items())]
    blocked = set(unplaceable)
    consumers: dict[str, list[str]] = {n.key: [] for n in nodes}
    waiting: dict[str, int] = {}
    for node in nodes:
        inside = [p for p in node.inputs if p in by_key]
        waiting[node.key] = len(inside)
        for parent in inside:
            consumers[parent].append(node.key)
    # a node downstream of one that cannot run cannot run either
    for node in nodes:
        if node.key in blocked:
            blocked.update(consumers[node.key])
    shapes: dict[tuple, list[tuple[float, int, str]]] = {}

    def push(key: str) -> None:
        if key in blocked:
            return
        shape = tuple(sorted(by_key[key].demand.items()))
        heapq.heappush(shapes.setdefault(shape, []), (-rank[key], order[key], key))

    for node in nodes:
        if waiting[node.key] == 0:
            push(node.key)
    free = dict(capacity)
    running: list[tuple[float, int, str]] = []  # (end time, order, key)
    now = 0.0
    busy: dict[str, float] = {}

    def fits(demand: dict[str, float]) -> bool:
        return all(free.get(r, 0.0) + EPS >= v for r, v in demand.items())

    while True:
        while True:  # start the best ready node that fits, over all shapes, until none fits
            best: tuple | None = None
            for shape, heap in shapes.items():
                if heap and fits(dict(shape)) and (best is None or heap[0] < shapes[best][0]):
                    best = shape
            if best is None:
                break
            _, _, key = heapq.heappop(shapes[best])
            node = by_key[key]
            for r, v in node.demand.items():
                free[r] = free.get(r, 0.0) - v
                busy[r] = busy.get(r, 0.0) + v * node.seconds
            heapq.heappush(running, (now + node.seconds, order[key], key))
        if not running:
            break
        now, _, key = heapq.heappop(running)
        for r, v in by_key[key].demand.items():
            free[r] += v
        for consumer in consumers[key]:
            waiting[consumer] -= 1
            if waiting[consumer] == 0:
                push(consumer)
    placeable = [n for n in nodes if n.key not in blocked]
    path = critical_path(placeable) if placeable else []
    critical = sum(by_key[k].seconds for k in path)
    bound = max([critical] + [busy.get(r, 0.0) / capacity[r] for r in busy if capacity.get(r)])
    return Simulation(makespan=now, lower_bound=bound, critical_path=path, critical_seconds=critical,
                      busy_seconds=busy, unplaceable=sorted(blocked, key=order.__getitem__))
