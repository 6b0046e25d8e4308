"""The manifests of the nodes that write one table (formats.py says its columns): a dataset
(`load`, `perturb`: data.parquet) or predictions (`evaluate`, `attack`: predictions.parquet).

A consumer finds the table through the manifest's typed `file`, which can only ever name the
table its kind writes: a manifest in a shared store that names another file does not read
(`NodeManifest.read`), so no writer can point a consumer at something else.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict

from xexp.runtime.engine.completion import NodeManifest
from xexp.runtime.data.formats import DATA_FILE, PREDICTIONS_FILE

DataFile = Literal["data.parquet"]
PredictionsFile = Literal["predictions.parquet"]
assert get_args(DataFile) == (DATA_FILE,) and get_args(PredictionsFile) == (PREDICTIONS_FILE,)


class DataManifest(NodeManifest):
    """A dataset node: its table and its number of rows (what `load` and `perturb` share)."""

    file: DataFile = "data.parquet"
    rows: int


class LoadManifest(DataManifest):
    """`unlabelled_dropped`: rows without a gold label that the load left out (MNLI's '-',
    runtime/data/normalize.py); `source_revision`: the hub commit the rows came from
    (runtime/data/hub_revision.py). Both are written only when there is something to say."""

    OMITTED_AT_DEFAULT = ("unlabelled_dropped", "source_revision")

    columns: list[str]
    unlabelled_dropped: int = 0
    source_revision: str | None = None


class PerturbManifest(DataManifest):
    """`changed`: the rows the perturbation really altered; `description` names it for people."""

    changed: int
    description: str


class PredictionsManifest(NodeManifest):
    """A predictions node: its table and its number of predictions (evaluate and attack)."""

    file: PredictionsFile = "predictions.parquet"
    n: int


class EvaluateManifest(PredictionsManifest):
    """`accuracy` and the scores the task type adds to it (runtime/learning/tasks/: tagging's F1s over
    tags and entities, bitext mining's precision, recall and F1), each written only where the
    task gives it."""

    OMITTED_AT_DEFAULT = ("macro_f1", "micro_f1", "entity_f1", "precision", "recall", "f1")

    accuracy: float
    macro_f1: float | None = None
    micro_f1: float | None = None
    entity_f1: float | None = None
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None


class AttackSummary(BaseModel):
    """TextAttack's figures of one attack (runtime/robustness/attacks/summary.py); a rate whose
    denominator is empty is None."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    total: int
    succeeded: int
    failed: int
    skipped: int
    original_accuracy: float | None
    accuracy_under_attack: float | None
    attack_success_rate: float | None
    avg_words_perturbed_pct: float | None
    avg_queries: float | None


class AttackManifest(PredictionsManifest):
    summary: AttackSummary
