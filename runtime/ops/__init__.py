"""The work of each node kind: `execute(node, ctx)` dispatches to `runtime/ops/<kind>.py`.

Each kind module has `run(node, ctx) -> manifest`, its kind's typed manifest (a `NodeManifest`,
runtime/completion.py). They are thin: they read inputs from the store, call the library code
(data sources, training, perturbations, attacks, report) and write artifacts; all the science
lives in those libraries.
"""

from __future__ import annotations

from importlib import import_module

from xexp.compiler.graph.node import NODE_KINDS, Node
from xexp.runtime.completion import NodeManifest
from xexp.runtime.context import NodeContext


def execute(node: Node, ctx: NodeContext) -> NodeManifest:
    if node.kind not in NODE_KINDS:
        raise ValueError(f"no implementation for node kind {node.kind!r}")
    return import_module(f"xexp.runtime.ops.{node.kind}_op").run(node, ctx)
