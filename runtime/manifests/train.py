"""What a `train` node hands on: its manifest (runtime/learning/training.py writes it, sweep.py adds the
search's outcome).

Apart from training.py so that the store's readers — provenance (which folder holds the model,
whether the spec trusts it), `gc` (the tensors a checkpoint shares), the estimates (the steps it
took) and tracking — read it without importing the training code.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, StrictBool

from xexp.runtime.engine.completion import NodeManifest


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SharedFrom(_Part):
    """A store node whose tensors the checkpoint reads instead of keeping a copy
    (runtime/learning/models/shared_weights.py); `gc` keeps it while the training is kept."""

    kind: str
    key: str


class MemberStats(_Part):
    """One member of a mix: its label (`0:nli`), its training examples and features, and the
    batches it trained per epoch (runtime/learning/multitask.py)."""

    member: str
    train_examples: int
    train_features: int
    batches_per_epoch: int


class SweepOutcome(_Part):
    """A sweep's trials, the best one and its values; `table` is the trials file (trials.csv)."""

    trials: int
    best: str
    best_hparams: dict[str, float | int]
    table: str


class TrainManifest(NodeManifest):
    """A finished training. `checkpoint` is the folder the model is in (provenance accepts only
    `checkpoint`); `dev_metric` is the dev score of the checkpoint handed on (`select`: the best
    or the last one; None without a dev split); `trust_remote_code` records the spec's decision
    so that provenance can tell a record whose flag was changed afterwards (it is never read to
    load). Fields added later (`shared_from`, `select`, a mix's `members`, a sweep's outcome)
    read as what their absence meant."""

    OMITTED_AT_DEFAULT = ("members", "sweep")

    checkpoint: str
    dev_metric: float | None
    best_step: int
    steps: int
    train_examples: int
    seconds: float
    examples_per_second: float
    resumed_from_step: int | None
    stopped_early: bool
    shared_from: list[SharedFrom] = []
    select: Literal["best", "last"] = "best"
    members: list[MemberStats] | None = None
    sweep: SweepOutcome | None = None
    trust_remote_code: StrictBool = False
    #: a trained checkpoint has no hub revision; kept because records have always carried it
    revision: None = None
