"""`perturb`: apply one model-agnostic perturbation to a loaded eval set (cached, shared by
every variant), recording per example whether the text really changed. The table's columns say
its family: tagged tokens are perturbed word by word (tags kept); pair, QA and multiple-choice
fields through `perturb_table` (QA answers kept at valid offsets)."""

from __future__ import annotations

from xexp.compiler.graph.contracts import PerturbParams
from xexp.compiler.graph.node import Node
from xexp.runtime.context import NodeContext
from xexp.runtime.formats import DATA_FILE
from xexp.runtime.ops.common import input_data, write_table
from xexp.runtime.table_manifests import PerturbManifest


def run(node: Node, ctx: NodeContext) -> PerturbManifest:
    from xexp.runtime.perturbations import perturb_table

    p = PerturbParams.model_validate(node.params)
    table = input_data(ctx.inputs["data"])
    if "tokens" in table.column_names:  # a tagged table: tokens perturbed one by one, tags kept
        from xexp.runtime.tasks.tagging import perturb_tagged_table

        out = perturb_tagged_table(p.perturbation, p.params, table, p.language, p.seed)
    else:
        out = perturb_table(p.perturbation, p.params, p.field, table, p.language, p.seed)
    write_table(out, ctx.out_dir / DATA_FILE)
    changed = int(sum(out.column("changed").to_pylist()))
    ctx.logger.info("%s: %d of %d examples changed", p.description, changed, out.num_rows)
    return PerturbManifest(rows=out.num_rows, changed=changed, description=p.description)
