"""Real work functions (and a driver script) for the scheduler tests.

Imported by Ray workers as ``scheduler_work:run`` (the tests' folder is on their PYTHONPATH), so
it must not import the tests themselves. Every execution leaves one file under
``<store>/_executions/`` so the tests can count how often each node really ran.

Run as a script it is a driver: ``python scheduler_work.py STORE ADDRESS RUN_ID GRAPH`` builds
the named graph and executes it on the Ray at ADDRESS (used for kill -9 and cluster tests).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

from xexp.compiler.graph.node import Graph, Node, Resources

WORK = "scheduler_work:run"


def store_root(ctx) -> Path:
    return ctx.scratch_dir.parents[2]  # <root>/scratch/<kind>/<key>


def record_execution(node: Node, ctx) -> None:
    executions = store_root(ctx) / "_executions"
    executions.mkdir(exist_ok=True)
    (executions / f"{node.key}.{os.getpid()}.{time.time_ns()}").write_text(node.name)


def executions(root: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for file in (root / "_executions").glob("*"):
        key = file.name.split(".")[0]
        counts[key] = counts.get(key, 0) + 1
    return counts


def run(node: Node, ctx) -> dict:
    """Behaviours by ``params["behaviour"]``: value (default), die_once, raise, interval.

    A file ``<store>/_fail/<key>`` makes the node raise too (without changing its key).
    """
    record_execution(node, ctx)
    behaviour = node.params.get("behaviour", "value")
    ctx.logger.info("behaviour %s", behaviour)
    started = time.time()
    if behaviour == "die_once":
        marker = ctx.scratch_dir / "died_once"
        if not marker.exists():
            marker.write_text("x")
            os._exit(1)  # the worker process dies: a system failure Ray must retry
    if behaviour == "raise" or (store_root(ctx) / "_fail" / node.key).exists():
        raise ValueError(f"boom in {node.name}")
    time.sleep(float(node.params.get("sleep", 0.0)))
    ctx.progress({"step": 1, "of": 1})
    upstream = sorted(a.manifest["value"] for a in ctx.inputs.values())
    value = hashlib.sha256(json.dumps([node.params.get("value"), upstream]).encode()).hexdigest()[:16]
    (ctx.out_dir / "value.txt").write_text(value)
    (ctx.out_dir / "sub").mkdir()
    (ctx.out_dir / "sub" / "payload.bin").write_bytes(value.encode() * 64)
    manifest = {"value": value, "start": started, "end": time.time(), "pid": os.getpid()}
    if behaviour == "interval":
        manifest["gpus"] = node.resources.num_gpus
        manifest["cuda_visible_devices"] = os.environ.get("CUDA_VISIBLE_DEVICES")
    return manifest


def node(kind: str, name: str, inputs: dict[str, str] | None = None,
         resources: Resources | None = None, **params) -> Node:
    return Node.make(kind, name, params, inputs or {}, resources=resources)


def sleepy_graph(leaves: int = 6, sleep: float = 0.8) -> Graph:
    """Independent sleeping nodes feeding one report: the kill -9 test's graph."""
    nodes = [node("evaluate", f"evaluate:leaf{i}", value=i, sleep=sleep) for i in range(leaves)]
    report = node("report", "report:all", {f"in{i}": n.key for i, n in enumerate(nodes)}, value="r")
    return Graph(experiment="sleepy", nodes=nodes + [report])


def two_node_graph(per_node: int = 2) -> Graph:
    """Nodes pinned by custom resources to the head and to the worker Ray node."""
    nodes = []
    for where in ("head_node", "worker_node"):
        for i in range(per_node):
            nodes.append(Node.make("evaluate", f"evaluate:{where}{i}", {"value": f"{where}{i}", "sleep": 0.2},
                                   resources=Resources(num_cpus=1, custom={where: 0.5})))
    report = Node.make("report", "report:both", {"value": "r"},
                       {f"in{i}": n.key for i, n in enumerate(nodes)},
                       resources=Resources(num_cpus=1, custom={"head_node": 0.5}))
    return Graph(experiment="two-nodes", nodes=nodes + [report])


GRAPHS = {"sleepy": sleepy_graph, "two_node": two_node_graph}


def main(argv: list[str]) -> int:
    store_path, address, run_id, graph_name = argv
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray

    from xexp.runtime.engine.ray_session import connect
    from xexp.runtime.engine.scheduler import execute_graph
    from xexp.runtime.engine.store import Store

    info = connect(address)  # workers find this module: Ray puts the driver script's folder on their path
    assert not info["local"], info
    if graph_name == "two_node":  # wait until both Ray nodes have joined
        deadline = time.time() + 120
        while len([n for n in ray.nodes() if n["Alive"]]) < 2:
            if time.time() > deadline:
                print("second Ray node never joined", file=sys.stderr)
                return 3
            time.sleep(0.5)
    result = execute_graph(GRAPHS[graph_name](), Store(store_path), run_id=run_id, work=WORK)
    print(json.dumps(result.to_dict()))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
