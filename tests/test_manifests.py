"""Each kind's typed manifest writes the JSON stores have always held, and reads back what
earlier versions wrote; one that names another file, or is of another shape, does not read."""

from __future__ import annotations

import pytest

from xexp.runtime.engine.completion import ManifestError
from xexp.runtime.manifests.model import ModelManifest
from xexp.runtime.manifests.report import ReportManifest
from xexp.runtime.manifests.tables import (
    AttackManifest, DataManifest, EvaluateManifest, LoadManifest, PerturbManifest, PredictionsManifest,
)
from xexp.runtime.manifests.train import TrainManifest

COMMIT = "c" * 40
SUMMARY = {"total": 4, "succeeded": 1, "failed": 2, "skipped": 1, "original_accuracy": 0.75,
           "accuracy_under_attack": 0.5, "attack_success_rate": 1 / 3, "avg_words_perturbed_pct": 12.5,
           "avg_queries": 7.0}
TRAINED = {"checkpoint": "checkpoint", "shared_from": [{"kind": "model", "key": "a" * 64}], "dev_metric": 0.5,
           "best_step": 3, "select": "best", "steps": 4, "train_examples": 8, "seconds": 1.25,
           "examples_per_second": 6.5, "resumed_from_step": None, "stopped_early": False,
           "trust_remote_code": False, "revision": None}

#: Manifests as the ops wrote them before they were typed (the dicts of runtime/ops/ and
#: runtime/learning/training.py), one per shape a kind writes.
WRITTEN = [
    (ModelManifest, {"source": "tiny", "path_or_id": "/s/model/k/model", "revision": None,
                     "trust_remote_code": False, "model_dir": "model"}),
    (ModelManifest, {"source": "hf", "path_or_id": "org/encoder", "revision": COMMIT,
                     "resolved_revision": COMMIT, "trust_remote_code": True}),
    (LoadManifest, {"file": "data.parquet", "rows": 3, "columns": ["id", "premise", "hypothesis", "label"]}),
    (LoadManifest, {"file": "data.parquet", "rows": 3, "columns": ["id"], "unlabelled_dropped": 2,
                    "source_revision": COMMIT}),
    (PerturbManifest, {"file": "data.parquet", "rows": 3, "changed": 2, "description": "typos (p=0.1) on both"}),
    (EvaluateManifest, {"file": "predictions.parquet", "n": 3, "accuracy": 2 / 3}),
    (EvaluateManifest, {"file": "predictions.parquet", "n": 9, "accuracy": 0.875, "macro_f1": 0.5,
                        "micro_f1": 0.875, "entity_f1": 0.25}),
    (EvaluateManifest, {"file": "predictions.parquet", "n": 5, "accuracy": 0.4, "precision": 0.5,
                        "recall": 0.25, "f1": 1 / 3}),
    (AttackManifest, {"file": "predictions.parquet", "n": 4, "summary": SUMMARY}),
    (TrainManifest, TRAINED),
    (TrainManifest, {**TRAINED, "members": [{"member": "0:nli", "train_examples": 8, "train_features": 8,
                                             "batches_per_epoch": 2}],
                     "sweep": {"trials": 2, "best": "trial1", "best_hparams": {"lr": 2e-5}, "table": "trials.csv"}}),
    (ReportManifest, {"cells": 4, "summary_file": "summary.txt", "html": "report.html", "lines": 12}),
]


@pytest.mark.parametrize("model, written", WRITTEN, ids=lambda v: v.__name__ if isinstance(v, type) else "")
def test_a_manifest_reads_and_writes_the_same_json(model, written):
    assert model.read(written, "kind/0123456789").to_json() == written


def test_a_training_recorded_yesterday_still_reads():
    """Until 2026-12-07 a training kept its `hparams` and had no `select`; before 2026-12-01 it
    shared no tensors: the fields read as what their absence meant."""
    yesterday = {k: v for k, v in TRAINED.items() if k not in ("select", "shared_from")}
    read = TrainManifest.read({**yesterday, "hparams": {"lr": 1e-5, "batch": 32}}, "train/0123456789")
    assert read.select == "best" and read.shared_from == [] and read.dev_metric == 0.5


@pytest.mark.parametrize("model, stored, says", [
    (DataManifest, {"file": "../../elsewhere/data.parquet", "rows": 3}, "file"),
    (PredictionsManifest, {"file": "data.parquet", "n": 3}, "file"),
    (ModelManifest, {"source": "tiny", "path_or_id": "/m", "revision": None, "trust_remote_code": "yes"},
     "trust_remote_code"),
    (TrainManifest, {"checkpoint": "checkpoint", "trust_remote_code": False}, "dev_metric"),
    (DataManifest, ["data.parquet"], "its manifest is list"),
])
def test_a_manifest_of_another_shape_does_not_read(model, stored, says):
    with pytest.raises(ManifestError, match=f"^load/0123456789: .*{says}"):
        model.read(stored, "load/0123456789")
