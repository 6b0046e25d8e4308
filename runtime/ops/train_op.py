"""`train`: fine-tune a base encoder (or an intermediate checkpoint, head replaced) on a task.

A hyperparameter given as `sweep[…]` turns the node into a Ray Tune search (see sweep.py);
the best trial's checkpoint becomes the node's artifact either way.
"""

from __future__ import annotations

from xexp.compiler.graph.contracts import TrainParams
from xexp.compiler.graph.node import Node
from xexp.runtime.context import NodeContext
from xexp.runtime.ops.common import input_data, model_manifest


def run(node: Node, ctx: NodeContext) -> dict:
    p = TrainParams.model_validate(node.params)
    base = model_manifest(ctx.inputs["base"])
    train_table = input_data(ctx.inputs["train"])
    dev_table = input_data(ctx.inputs["dev"]) if "dev" in ctx.inputs else None
    if p.hparams.sweeps():
        from xexp.runtime.ops.sweep import run_sweep

        manifest = run_sweep(node, ctx, base, train_table, dev_table)
    else:
        from xexp.runtime.training import train

        manifest = train(base=base, task_type=p.task_type, train_table=train_table, dev_table=dev_table,
                         hparams=training_hparams(p), seed=p.seed, out_dir=ctx.out_dir,
                         scratch_dir=ctx.scratch_dir, progress=ctx.progress, task_params=p.task_params)
    manifest["trust_remote_code"] = base["trust_remote_code"]
    manifest["revision"] = None
    return manifest


def training_hparams(p: TrainParams, values: dict | None = None) -> dict:
    """The hyperparameters `train()` takes: the spec's settings (one sweep combination when
    `values` are given) plus the task's own `doc_stride` where it declares one."""
    hparams = {**p.hparams.model_dump(mode="json"), **(values or {})}
    if p.doc_stride() is not None:
        hparams["doc_stride"] = p.doc_stride()
    return hparams
