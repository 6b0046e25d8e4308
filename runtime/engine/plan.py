"""What a run would do, node by node, before anything runs: cached or to run, and why.

Read by `xexp plan` and `xexp status` as well as by the scheduler, so it is kept light: it
reads completion records and file sizes only (no hashing, no Ray, no torch).
"""

from __future__ import annotations

import time
from typing import Collection

from xexp.compiler.graph.node import Graph
from xexp.errors import SpecValueError
from xexp.runtime.engine.completion import CompletionRecord
from xexp.runtime.engine.states import ArtifactProblems, PlanState
from xexp.runtime.engine.store import Store

NO_RECORD = "no completion record"


def check_graph(graph: Graph) -> None:
    """Every input names an earlier node: the graph is complete and topologically ordered."""
    seen: set[str] = set()
    for node in graph.nodes:
        for role, key in node.inputs.items():
            if key not in seen:
                raise ValueError(f"node {node.name!r} ({node.short_key}): input {role!r} = {key[:10]} "
                                 "is not an earlier node of the graph")
        if node.key in seen:
            raise ValueError(f"node {node.name!r}: key {node.short_key} appears twice in the graph")
        seen.add(node.key)


def resolve_force(graph: Graph, force: Collection[str]) -> set[str]:
    """Keys named by ``force``: a kind, a full key or a unique key prefix."""
    kinds = {n.kind for n in graph.nodes}
    keys: set[str] = set()
    for item in force:
        if item in kinds:
            keys |= {n.key for n in graph.nodes if n.kind == item}
            continue
        matches = [n.key for n in graph.nodes if n.key.startswith(item)]
        if not matches:
            raise SpecValueError(f"--force {item!r}: no kind or node key of this graph matches "
                                 f"(kinds: {', '.join(sorted(kinds))})")
        if len(matches) > 1:
            raise SpecValueError(f"--force {item!r}: prefix matches {len(matches)} nodes; give more characters")
        keys.add(matches[0])
    return keys


def plan_status(graph: Graph, store: Store, force: Collection[str] = ()) -> dict[str, PlanState]:
    """For every node, ("cached" | "run", why). Checks sizes only: no file is hashed here."""
    check_graph(graph)
    forced = resolve_force(graph, force)
    by_key = graph.by_key()
    plan: dict[str, PlanState] = {}
    for node in graph.nodes:
        running_input = next((k for k in node.inputs.values() if plan[k][0] == "run"), None)
        if node.key in forced:
            plan[node.key] = PlanState("run", "forced")
        elif running_input is not None:
            plan[node.key] = PlanState("run", f"input {by_key[running_input].name} will run")
        else:
            found = store.read_record_checked(node.kind, node.key)
            record = found if isinstance(found, CompletionRecord) else None
            problems = store.verify(node.kind, node.key, hashes=False, record=record) if record else []
            if record is None:
                failure = store.read_failure(node.kind, node.key)
                reason = NO_RECORD if found is None else f"{NO_RECORD} ({found})"
                if failure:
                    reason += f" (failed before: {failure.error_type}: {failure.message[:80]})"
                plan[node.key] = PlanState("run", reason)
            elif problems:
                plan[node.key] = PlanState("run", ArtifactProblems(problems))
            else:
                done = time.strftime("%Y-%m-%d %H:%M:%S",
                                     time.localtime(record.timings.end))
                plan[node.key] = PlanState("cached", f"done at {done}")
    return plan
