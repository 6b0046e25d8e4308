"""The work of each node kind: `execute(node, ctx)` runs the op its kind's class names
(`IMPLEMENTATION`, compiler/graph/kinds.py), resolved like every registry implementation and
imported only when a node of the kind runs (training imports torch).

Each kind module has `run(node, ctx) -> manifest`, its kind's typed manifest (a `NodeManifest`,
runtime/engine/completion.py). They are thin: they read inputs from the store, call the library code
(data sources, training, perturbations, attacks, report) and write artifacts; all the science
lives in those libraries.
"""

from __future__ import annotations

from typing import Protocol

from xexp.compiler.graph.kinds import kind_of
from xexp.compiler.graph.node import Node
from xexp.runtime.engine.completion import NodeManifest
from xexp.runtime.engine.context import NodeContext
from xexp.runtime.implementations import resolve_path


class Op(Protocol):
    """The work of one node kind: the node's params and inputs in, its manifest out."""

    def __call__(self, node: Node, ctx: NodeContext) -> NodeManifest: ...


def execute(node: Node, ctx: NodeContext) -> NodeManifest:
    op: Op = resolve_path(kind_of(node.kind).IMPLEMENTATION)  # an unknown kind: kind_of's error
    return op(node, ctx)
