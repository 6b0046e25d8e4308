"""What `xexp plan` shows: every node, cached or to run and why, resources, inputs."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from xexp.compiler.errors import SpecError
from xexp.compiler.graph import Graph, Node
from xexp.compiler.graph.node import NODE_KINDS
from xexp.runtime.engine.states import PlanState

#: How many of the store's latest runs are searched for a node's previous parameters.
PREVIOUS_RUNS = 20
FILE_CHANGED = "input file changed: "


def node_states(graph: Graph, store: str | Path | None, force=()) -> dict[str, PlanState]:
    """What will happen to each node and why; without a store on disk every node runs. An
    unknown `--force` item is a SpecError (one line, exit status 2), store or no store."""
    from xexp.runtime.engine.plan import resolve_force  # light: no Ray

    try:
        resolve_force(graph, force)
    except ValueError as err:
        raise SpecError(str(err), file="xexp plan") from None
    from xexp.runtime.engine.plan import plan_status  # light: reads completion records only
    from xexp.runtime.engine.store import Store, local_store_path

    if store is None or not local_store_path(store).exists():
        return {n.key: PlanState("run", "no store yet") for n in graph.nodes}

    opened = Store(store)
    states = plan_status(graph, opened, force=force)
    states.update(changed_inputs(graph, opened, states))
    return states


def changed_inputs(graph: Graph, store, states: dict[str, PlanState]) -> dict[str, PlanState]:
    """("run", "input file changed: PATH") for nodes that have no record only because a file
    they read has new content: the same node (kind, name and parameters but the files' sha256)
    was in one of the store's recent runs."""
    from xexp.compiler.inputs import content_paths, without_content

    candidates = [n for n in graph.nodes
                  if states[n.key].state == "run" and states[n.key].reason.startswith("no completion record")
                  and content_paths(n.params)]
    if not candidates:
        return {}
    before = previous_params(store, {(n.kind, n.name) for n in candidates})
    reasons = {}
    for node in candidates:
        old = before.get((node.kind, node.name))
        if old is None or without_content(old) != without_content(node.params):
            continue
        was, now = content_paths(old), content_paths(node.params)
        changed = [path for path, digest in now.items() if was.get(path) != digest]
        if changed:
            reasons[node.key] = PlanState("run", FILE_CHANGED + ", ".join(changed))
    return reasons


def previous_params(store, wanted: set[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    """(kind, name) -> parameters of that node in the newest of the store's recent runs that had it."""
    runs = sorted((p for p in store.runs_dir().glob("*/run.json")), key=lambda p: p.parent.name, reverse=True)
    found: dict[tuple[str, str], dict] = {}
    for path in runs[:PREVIOUS_RUNS]:
        try:
            nodes = json.loads(path.read_text(encoding="utf-8"))["graph"]["nodes"]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a run record being written or damaged says nothing about inputs
        for node in nodes:
            ident = (node.get("kind"), node.get("name"))
            if ident in wanted and ident not in found:
                found[ident] = node.get("params", {})
        if len(found) == len(wanted):
            break
    return found


def plan_notes(graph: Graph) -> list[str]:
    """Warnings about what the plan cannot promise: hub sources without a pinned revision."""
    from xexp.compiler.inputs import is_hub_source

    unpinned: dict[str, None] = {}
    for node in graph.nodes:
        source = node.params.get("source") if node.kind in ("model", "load") else None
        if isinstance(source, dict) and is_hub_source(source) and not source.get("revision"):
            unpinned.setdefault(str(source.get("id")), None)
    if not unpinned:
        return []
    return [f"note: unpinned hub source{'s' if len(unpinned) > 1 else ''} {', '.join(unpinned)}: each run "
            "reads the hub's latest commit (recorded in the node's manifest); "
            "pin one with revision=\"<commit>\""]


def plan_targets(spec) -> list[dict]:
    """The spec's targets as `xexp plan` shows them: task, type, what it is trained on, the
    languages it is evaluated in, the perturbations that apply to it and its evaluation
    settings (its own `evaluate TARGET {…}` over the spec-wide one)."""
    return [{"task": t.task, "task_type": spec.tasks[t.task].type, "trained_on": t.trained_on,
             "languages": list(t.languages), "perturbations": list(t.perturbations),
             "evaluate": spec.evaluate_settings(t.task).model_dump()} for t in spec.targets]


def targets_text(targets: list[dict]) -> list[str]:
    lines = []
    for t in targets:
        applied = ", ".join(t["perturbations"]) or "none"
        trained = f"trained_on {t['trained_on']}" if t["trained_on"] else "not trained"
        lines.append(f"  target {t['task']} ({t['task_type']}) {trained} in "
                     f"[{' '.join(t['languages'])}]; perturbations: {applied}")
        if "evaluate" in t:
            settings = t["evaluate"]
            limit = f"the first {settings['limit']} examples" if settings.get("limit") else "every example"
            lines.append(f"    evaluated with max_len {settings['max_len']}, batch {settings['batch']}, "
                         f"on {limit} per language")
    return lines


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
            **({"members": n.labels["members"]} if "members" in n.labels else {}),  # a mix variant's tasks
        })
    return rows


def render_table(graph: Graph, rows: list[dict], targets: list[dict] | None = None) -> str:
    by_kind: dict[str, list[dict]] = {}
    for row in rows:
        by_kind.setdefault(row["kind"], []).append(row)
    nodes_by_key = graph.by_key()
    total_run = sum(r["state"] == "run" for r in rows)
    lines = [f"experiment {graph.experiment}: {len(rows)} nodes, {total_run} to run, {len(rows) - total_run} cached"]
    summary = ", ".join(f"{kind} {len(by_kind[kind])}" for kind in NODE_KINDS if kind in by_kind)
    lines.append(f"  {summary}")
    lines += targets_text(targets or [])
    for kind in NODE_KINDS:
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
    notes = plan_notes(graph)
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)


def _node_id(key: str) -> str:
    return "n" + key[:12]


def render_dot(graph: Graph, rows: list[dict]) -> str:
    state = {r["key"]: r["state"] for r in rows}
    colours = {"run": "#fde68a", "cached": "#bbf7d0"}
    lines = [f'digraph "{graph.experiment}" {{', "  rankdir=LR;", '  node [shape=box, style="rounded,filled", fontname="Helvetica"];']
    for n in graph.nodes:
        label = json.dumps(f"{n.name}\n{n.short_key}", ensure_ascii=False)  # Graphviz reads UTF-8, not \u escapes
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
