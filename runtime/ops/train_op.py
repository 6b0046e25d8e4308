"""`train`: fine-tune a base encoder (or an intermediate checkpoint, head replaced) on a task,
or on the members of a `mix` variant at once (runtime/learning/multitask.py).

A hyperparameter given as `sweep[…]` turns the node into a Ray Tune search (see sweep.py);
the best trial's checkpoint becomes the node's artifact either way. Both run the node's
training as fit.py states it, a function of the hyperparameters.
"""

from __future__ import annotations

from xexp.compiler.graph.contracts import TrainParams
from xexp.compiler.graph.node import Node
from xexp.runtime.engine.context import NodeContext
from xexp.runtime.ops.common import model_manifest
from xexp.runtime.ops.fit import training_of
from xexp.runtime.ops.sweep import run_sweep
from xexp.runtime.manifests.train import TrainManifest


def run(node: Node, ctx: NodeContext) -> TrainManifest:
    p = TrainParams.model_validate(node.params)
    base = model_manifest(ctx.inputs["base"])
    fit, has_dev = training_of(p, base, ctx)
    if p.hparams.sweeps():
        manifest = run_sweep(node, ctx, fit, has_dev)
    else:
        manifest = fit(p.hparams.trial(), ctx.out_dir, ctx.scratch_dir, _logging_resume(ctx))
    # the spec's decision (base comes from model_manifest, runtime/engine/provenance.py), recorded so that
    # provenance can tell a record whose flag was changed afterwards; it is never read to load
    return manifest.model_copy(update={"trust_remote_code": base["trust_remote_code"]})


def _logging_resume(ctx: NodeContext):
    """ctx.progress that also writes "resumed from step N of M" to the node's log, once."""
    said = False

    def progress(info: dict) -> None:
        nonlocal said
        if "resumed_from" in info and not said:
            said = True
            ctx.logger.info("resumed from step %d of %d", info["resumed_from"], info["total"])
        ctx.progress(info)

    return progress
