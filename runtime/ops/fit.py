"""A train node's training as a function of its hyperparameters: what one plain training and
each trial of a sweep run (train_op.py, sweep.py), stated once below both."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from xexp.compiler.graph.contracts import TrainParams, TrainSettings, member_input
from xexp.runtime.engine.context import NodeContext
from xexp.runtime.ops.common import input_data
from xexp.runtime.manifests.train import TrainManifest

#: fit(hparams, out_dir, scratch_dir, progress) -> manifest: one training of a node's data, with
#: the settings of one trial (TrainSettings.trial).
Fit = Callable[[TrainSettings, Path, Path, Callable[[dict], None] | None], TrainManifest]


def training_of(p: TrainParams, base: dict, ctx: NodeContext) -> tuple[Fit, bool]:
    """The node's training as a function of its hyperparameters, and whether it has dev data."""
    if p.members is None:
        from xexp.runtime.learning.training import train

        assert p.task_type is not None  # the contract: a single-task training names its type
        task_type = p.task_type
        train_table = input_data(ctx.inputs["train"])
        dev_table = input_data(ctx.inputs["dev"]) if "dev" in ctx.inputs else None

        def fit(hparams: TrainSettings, out_dir: Path, scratch_dir: Path, progress) -> TrainManifest:
            return train(base=base, task_type=task_type, train_table=train_table, dev_table=dev_table,
                         hparams=hparams, seed=p.seed, out_dir=out_dir, scratch_dir=scratch_dir, progress=progress,
                         task_params=p.task_params)

        return fit, dev_table is not None

    from xexp.runtime.learning.training import train_mix

    sampling = p.sampling
    assert sampling is not None  # the contract: a mix has its sampling rule
    members = [{"task_type": m.task_type, "task_params": m.task_params, "max_len": m.max_len,
                "train_table": member_table(ctx, "train", i, m.languages),
                "dev_table": member_table(ctx, "dev", i, m.dev_languages) if m.dev_languages else None}
               for i, m in enumerate(p.members)]

    def fit_mix(hparams: TrainSettings, out_dir: Path, scratch_dir: Path, progress) -> TrainManifest:
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

