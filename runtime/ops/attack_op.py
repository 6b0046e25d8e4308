"""`attack`: a model-aware adversarial attack on the clean eval set, queries batched."""

from __future__ import annotations

from xexp.compiler.graph.contracts import AttackParams
from xexp.compiler.graph.node import Node
from xexp.runtime.context import NodeContext
from xexp.runtime.formats import PREDICTIONS_FILE
from xexp.runtime.ops.common import input_data, model_manifest, write_table


def run(node: Node, ctx: NodeContext) -> dict:
    import pyarrow as pa

    from xexp.runtime.attacks import run_attack, summarize
    from xexp.runtime.attacks.subset import attack_subset
    from xexp.runtime.evaluation import predictor
    from xexp.runtime.tasks import get_task

    p = AttackParams.model_validate(node.params)
    model = model_manifest(ctx.inputs["model"])
    examples = attack_subset(input_data(ctx.inputs["data"]).to_pylist(), p.params.get("examples"))
    labels = list(get_task(p.task_type).labels)
    predict = predictor(model["path_or_id"], p.task_type, max_len=p.max_len, batch=p.batch)
    records = run_attack(p.attack, p.params, examples, lang=p.language, field=p.field,
                         predict_proba=predict, label_names=labels, seed=p.seed)
    write_table(pa.Table.from_pylist(records), ctx.out_dir / PREDICTIONS_FILE)
    summary = summarize(records)
    ctx.logger.info("%s: %s", node.name, summary)
    return {"file": PREDICTIONS_FILE, "n": len(records), "summary": summary}
