"""`evaluate`: per-example predictions of a trained model on one (clean or perturbed) set."""

from __future__ import annotations

from xexp.compiler.graph.contracts import EvaluateParams
from xexp.compiler.graph.node import Node
from xexp.runtime.engine.context import NodeContext
from xexp.runtime.data.formats import PREDICTIONS_FILE
from xexp.runtime.ops.common import input_data, model_manifest, write_table
from xexp.runtime.manifests.tables import EvaluateManifest


def run(node: Node, ctx: NodeContext) -> EvaluateManifest:
    from xexp.runtime.learning.evaluation import evaluate
    from xexp.runtime.learning.tasks import get_task

    p = EvaluateParams.model_validate(node.params)
    model = model_manifest(ctx.inputs["model"])
    table = input_data(ctx.inputs["data"])
    predictions = evaluate(model_dir=model["path_or_id"], task_type=p.task_type, table=table,
                           batch=p.batch, max_len=p.max_len, doc_stride=p.doc_stride, task_params=p.task_params)
    write_table(predictions, ctx.out_dir / PREDICTIONS_FILE)
    correct = predictions.column("correct").to_pylist()
    accuracy = sum(correct) / len(correct) if correct else 0.0
    scores = get_task(p.task_type).configured(p.task_params).summary(predictions)
    ctx.logger.info("%s: accuracy %.4f on %d %s", node.name, accuracy, len(correct), scores or "")
    # a task's own accuracy (tagging: per token) stands for the one of the `correct` column
    return EvaluateManifest.model_validate({"n": len(correct), "accuracy": accuracy, **scores})
