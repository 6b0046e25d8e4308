"""`train`: fine-tune a base encoder (or an intermediate checkpoint, head replaced) on a task,
or on the members of a `mix` variant at once (runtime/multitask.py).

A hyperparameter given as `sweep[…]` turns the node into a Ray Tune search (see sweep.py);
the best trial's checkpoint becomes the node's artifact either way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from xexp.compiler.graph.contracts import TrainParams, TrainSettings, member_input
from xexp.compiler.graph.node import Node
from xexp.runtime.context import NodeContext
from xexp.runtime.ops.common import input_data, model_manifest

#: fit(hparams, out_dir, scratch_dir, progress) -> manifest: one training of a node's data, with
#: the settings of one trial (TrainSettings.trial).
Fit = Callable[[TrainSettings, Path, Path, Callable[[dict], None] | None], dict]


def run(node: Node, ctx: NodeContext) -> dict:
    p = TrainParams.model_validate(node.params)
    base = model_manifest(ctx.inputs["base"])
    fit, has_dev = training_of(p, base, ctx)
    if p.hparams.sweeps():
        from xexp.runtime.ops.sweep import run_sweep

        manifest = run_sweep(node, ctx, fit, has_dev)
    else:
        manifest = fit(p.hparams.trial(), ctx.out_dir, ctx.scratch_dir, _logging_resume(ctx))
    # the spec's decision (base comes from model_manifest, runtime/provenance.py), recorded so that
    # provenance can tell a record whose flag was changed afterwards; it is never read to load
    manifest["trust_remote_code"] = base["trust_remote_code"]
    manifest["revision"] = None
    return manifest


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


def training_of(p: TrainParams, base: dict, ctx: NodeContext) -> tuple[Fit, bool]:
    """The node's training as a function of its hyperparameters, and whether it has dev data."""
    if p.members is None:
        from xexp.runtime.training import train

        assert p.task_type is not None  # the contract: a single-task training names its type
        task_type = p.task_type
        train_table = input_data(ctx.inputs["train"])
        dev_table = input_data(ctx.inputs["dev"]) if "dev" in ctx.inputs else None

        def fit(hparams: TrainSettings, out_dir: Path, scratch_dir: Path, progress) -> dict:
            return train(base=base, task_type=task_type, train_table=train_table, dev_table=dev_table,
                         hparams=hparams, seed=p.seed, out_dir=out_dir, scratch_dir=scratch_dir, progress=progress,
                         task_params=p.task_params)

        return fit, dev_table is not None

    from xexp.runtime.training import train_mix

    sampling = p.sampling
    assert sampling is not None  # the contract: a mix has its sampling rule
    members = [{"task_type": m.task_type, "task_params": m.task_params, "max_len": m.max_len,
                "train_table": member_table(ctx, "train", i, m.languages),
                "dev_table": member_table(ctx, "dev", i, m.dev_languages) if m.dev_languages else None}
               for i, m in enumerate(p.members)]

    def fit_mix(hparams: TrainSettings, out_dir: Path, scratch_dir: Path, progress) -> dict:
        return train_mix(base=base, members=members, sampling=sampling, hparams=hparams, seed=p.seed,
                         out_dir=out_dir, scratch_dir=scratch_dir, progress=progress)

    return fit_mix, any(m["dev_table"] is not None for m in members)


def member_table(ctx: NodeContext, split: str, index: int, languages: list[str]):
    """A mix member's rows of one split: its tables in every language it is read in, one after
    the other; with several languages each id gets its language (`de:17`) to stay unique."""
    import pyarrow as pa

    tables = [input_data(ctx.inputs[member_input(split, index, lang)]) for lang in languages]
    if len(tables) == 1:
        return tables[0]
    prefixed = []
    for lang, table in zip(languages, tables):
        ids = pa.array([f"{lang}:{i}" for i in table.column("id").to_pylist()], pa.string())
        prefixed.append(table.set_column(table.schema.get_field_index("id"), "id", ids))
    return pa.concat_tables(prefixed, promote_options="default")
