"""What `xexp plan` shows: every node, cached or to run and why, resources, inputs."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from xexp.compiler.graph import Graph, Node

KIND_ORDER = ("model", "load", "perturb", "train", "attack", "evaluate", "report")


def node_states(graph: Graph, store: str | Path | None, force=()) -> dict[str, tuple[str, str]]:
    """(state, reason) per node key; without a store on disk every node runs."""
    from xexp.runtime.scheduler import plan_status  # light: reads completion records only
    from xexp.runtime.store import Store, local_store_path

    if store is None or not local_store_path(store).exists():
        return {n.key: ("run", "no store yet") for n in graph.nodes}

    return plan_status(graph, Store(store), force=force)


def resources_text(node: Node) -> str:
    r = node.resources
    parts = [f"cpu={r.num_cpus:g}"]
    if r.num_gpus:
        parts.append(f"gpu={r.num_gpus:g}")
    if r.memory:
        parts.append(f"mem={r.memory / 1024**3:.3g}G")
    parts += [f"{k}={v:g}" for k, v in sorted(r.custom.items())]
    return " ".join(parts)


def plan_rows(graph: Graph, store: str | Path | None, force=()) -> list[dict]:
    states = node_states(graph, store, force)
    names = {n.key: n.name for n in graph.nodes}
    rows = []
    for n in graph.nodes:
        state, reason = states[n.key]
        rows.append({
            "key": n.key, "short_key": n.short_key, "kind": n.kind, "name": n.name, "state": state,
            "reason": reason, "resources": n.resources.model_dump(), "inputs": {r: names[k] for r, k in n.inputs.items()},
        })
    return rows


def render_table(graph: Graph, rows: list[dict]) -> str:
    by_kind: dict[str, list[dict]] = {}
    for row in rows:
        by_kind.setdefault(row["kind"], []).append(row)
    nodes_by_key = graph.by_key()
    total_run = sum(r["state"] == "run" for r in rows)
    lines = [f"experiment {graph.experiment}: {len(rows)} nodes, {total_run} to run, {len(rows) - total_run} cached"]
    summary = ", ".join(f"{kind} {len(by_kind[kind])}" for kind in KIND_ORDER if kind in by_kind)
    lines.append(f"  {summary}")
    for kind in KIND_ORDER:
        group = by_kind.get(kind)
        if not group:
            continue
        states = Counter(r["state"] for r in group)
        lines.append("")
        lines.append(f"{kind} ({len(group)}: {states.get('run', 0)} to run, {states.get('cached', 0)} cached)")
        width = min(60, max(len(r["name"]) for r in group))
        for row in group:
            node = nodes_by_key[row["key"]]
            deps = ", ".join(row["inputs"].values()) if kind != "report" else f"{len(row['inputs'])} inputs"
            lines.append(f"  {row['short_key']}  {row['name']:<{width}}  {row['state']:<6}  "
                         f"{resources_text(node):<14}  {row['reason']}" + (f"  <- {deps}" if deps else ""))
    return "\n".join(lines)


def _node_id(key: str) -> str:
    return "n" + key[:12]


def render_dot(graph: Graph, rows: list[dict]) -> str:
    state = {r["key"]: r["state"] for r in rows}
    colours = {"run": "#fde68a", "cached": "#bbf7d0"}
    lines = [f'digraph "{graph.experiment}" {{', "  rankdir=LR;", '  node [shape=box, style="rounded,filled", fontname="Helvetica"];']
    for n in graph.nodes:
        label = json.dumps(f"{n.name}\n{n.short_key}")
        lines.append(f'  {_node_id(n.key)} [label={label}, fillcolor="{colours[state[n.key]]}"];')
    for n in graph.nodes:
        for role, key in n.inputs.items():
            lines.append(f'  {_node_id(key)} -> {_node_id(n.key)} [label="{role}"];')
    lines.append("}")
    return "\n".join(lines)


def render_mermaid(graph: Graph, rows: list[dict]) -> str:
    state = {r["key"]: r["state"] for r in rows}
    lines = ["flowchart LR"]
    for n in graph.nodes:
        label = n.name.replace('"', "'")
        lines.append(f'  {_node_id(n.key)}["{label}"]:::{state[n.key]}')
    for n in graph.nodes:
        for key in n.inputs.values():
            lines.append(f"  {_node_id(key)} --> {_node_id(n.key)}")
    lines.append("  classDef run fill:#fde68a")
    lines.append("  classDef cached fill:#bbf7d0")
    return "\n".join(lines)
