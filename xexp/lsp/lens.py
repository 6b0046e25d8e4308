"""The node counts `xexp plan` shows, for a code lens (and hover) on `target` and `intermediate`.

Lowering is the compiler's own (`lower`, with the spec's folder for its local inputs); it costs
more than a diagnostic pass on a large grid, so it runs only when the editor asks for lenses, once
per analysed version of the document.
"""

from __future__ import annotations

from xexp.compiler import lower, spec_folder
from xexp.compiler.graph.node import NODE_KINDS
from xexp.lsp.analysis import Analysis

LENS_STATEMENTS = ("target", "intermediate")


def plan_summary(analysis: Analysis) -> str | None:
    """`79 nodes: model 1, load 9, …; 3 trainings, 50 evaluations`, as `xexp plan`/`check` count
    them; None while the spec does not validate."""
    if analysis.spec is None:
        return None
    cached = getattr(analysis, "_plan_summary", None)
    if cached is not None:
        return cached
    graph = lower(analysis.spec, spec_folder(analysis.filename))
    counts = graph.counts()
    kinds = ", ".join(f"{kind} {counts[kind]}" for kind in NODE_KINDS if kind in counts)
    text = (f"{len(graph.nodes)} nodes: {kinds}; {counts.get('train', 0)} trainings, "
            f"{counts.get('evaluate', 0) + counts.get('attack', 0)} evaluations")
    setattr(analysis, "_plan_summary", text)
    return text
