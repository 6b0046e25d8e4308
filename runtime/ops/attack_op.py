"""`attack`: a model-aware adversarial attack on the clean eval set, queries batched."""

from __future__ import annotations

from xexp.compiler.graph.contracts import AttackParams
from xexp.compiler.graph.node import Node
from xexp.runtime.engine.context import NodeContext
from xexp.runtime.data.formats import PREDICTIONS_FILE
from xexp.runtime.ops.common import input_data, model_manifest, write_table
from xexp.runtime.manifests.tables import AttackManifest, AttackSummary


def run(node: Node, ctx: NodeContext) -> AttackManifest:
    import pyarrow as pa

    from xexp.runtime.robustness.attacks import summarize
    from xexp.runtime.robustness.attacks.runner import run_task_attack
    from xexp.runtime.robustness.attacks.subset import attack_subset
    from xexp.runtime.robustness.attacks.targets import TABLE_TARGETS, PairTarget
    from xexp.runtime.learning.evaluation import predictor, table_predictor
    from xexp.runtime.implementations import entry_of

    p = AttackParams.model_validate(node.params)
    model = model_manifest(ctx.inputs["model"])
    examples = attack_subset(input_data(ctx.inputs["data"]).to_pylist(), p.params.get("examples"))
    target: object
    if p.task_type in TABLE_TARGETS:
        target = TABLE_TARGETS[p.task_type](table_predictor(model["path_or_id"], p.task_type, max_len=p.max_len,
                                                            batch=p.batch, doc_stride=p.doc_stride))
    else:
        labels = list(entry_of("task_type", p.task_type).labels)  # the head's classes, as declared
        target = PairTarget(predictor(model["path_or_id"], p.task_type, max_len=p.max_len, batch=p.batch), labels)
    # the models an attack uses as tools (word_attack's masked LM and encoder), by parameter name
    tools = {role: model_manifest(artifact)["path_or_id"] for role, artifact in ctx.inputs.items()
             if role not in ("model", "data")}
    records = run_task_attack(p.attack, p.params, examples, lang=p.language, field=p.field,
                              target=target, seed=p.seed, models=tools)
    write_table(pa.Table.from_pylist(records), ctx.out_dir / PREDICTIONS_FILE)
    summary = AttackSummary.model_validate(summarize(records))
    ctx.logger.info("%s: %s", node.name, summary)
    return AttackManifest(n=len(records), summary=summary)
