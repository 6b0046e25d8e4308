"""The work of each node kind: `execute(node, ctx)` runs the op `OPS` names for the node's kind.

Each kind module has `run(node, ctx) -> manifest`, its kind's typed manifest (a `NodeManifest`,
runtime/engine/completion.py). They are thin: they read inputs from the store, call the library code
(data sources, training, perturbations, attacks, report) and write artifacts; all the science
lives in those libraries.
"""

from __future__ import annotations

from typing import Protocol

from xexp.compiler.graph.node import Kind, Node
from xexp.runtime.engine.completion import NodeManifest
from xexp.runtime.engine.context import NodeContext
from xexp.runtime.implementations import resolve_path


class Op(Protocol):
    """The work of one node kind: the node's params and inputs in, its manifest out."""

    def __call__(self, node: Node, ctx: NodeContext) -> NodeManifest: ...


#: The op of each node kind, as "module:attribute" for the one resolver (runtime/implementations.py):
#: an op's module is imported only when a node of its kind runs (training imports torch).
#: tests/test_dispatch.py checks that every kind of `Kind` has one.
OPS: dict[Kind, str] = {
    "model": "xexp.runtime.ops.model_op:run",
    "load": "xexp.runtime.ops.load_op:run",
    "perturb": "xexp.runtime.ops.perturb_op:run",
    "train": "xexp.runtime.ops.train_op:run",
    "evaluate": "xexp.runtime.ops.evaluate_op:run",
    "attack": "xexp.runtime.ops.attack_op:run",
    "report": "xexp.runtime.ops.report_op:run",
}


def execute(node: Node, ctx: NodeContext) -> NodeManifest:
    if node.kind not in OPS:
        raise ValueError(f"no op for node kind {node.kind!r} (ops: {', '.join(OPS)})")
    op: Op = resolve_path(OPS[node.kind])
    return op(node, ctx)
