"""The execution graph: typed nodes with content-addressed keys."""

from xexp.compiler.graph.node import Graph, Node, Resources, node_key

__all__ = ["Graph", "Node", "Resources", "node_key"]
