"""`perturb`: apply one model-agnostic perturbation to a loaded eval set (cached, shared by
every variant), recording per example whether the text really changed.

The task family decides how: a tagged table's words are perturbed one by one, tags kept
(runtime/robustness/perturbations/tagged.py); pair, QA and multiple-choice fields through `perturb_table`
(QA answers kept at valid offsets). The family is that of the task type the `load` input was
read as — its params, authenticated by its key — never guessed from the table's columns.
"""

from __future__ import annotations

from xexp.compiler.graph.contracts import LoadParams, PerturbParams
from xexp.compiler.graph.node import Node
from xexp.compiler.registry.base import task_family
from xexp.runtime.engine.context import NodeContext
from xexp.runtime.data.formats import DATA_FILE
from xexp.runtime.ops.common import input_data, write_table
from xexp.runtime.manifests.tables import PerturbManifest


def run(node: Node, ctx: NodeContext) -> PerturbManifest:
    p = PerturbParams.model_validate(node.params)
    data = ctx.inputs["data"]
    table = input_data(data)
    if task_family(LoadParams.model_validate(data.params).task_type) == "tagging":
        from xexp.runtime.robustness.perturbations.tagged import perturb_tagged_table

        out = perturb_tagged_table(p.perturbation, p.params, table, p.language, p.seed)
    else:
        from xexp.runtime.robustness.perturbations import perturb_table

        out = perturb_table(p.perturbation, p.params, p.field, table, p.language, p.seed)
    write_table(out, ctx.out_dir / DATA_FILE)
    changed = int(sum(out.column("changed").to_pylist()))
    ctx.logger.info("%s: %d of %d examples changed", p.description, changed, out.num_rows)
    return PerturbManifest(rows=out.num_rows, changed=changed, description=p.description)
