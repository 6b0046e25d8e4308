"""Trained checkpoints keep only what training changed; unchanged tensors are read, verified by
sha256, from the store node the training started from (runtime/learning/models/shared_weights.py)."""

from __future__ import annotations

import json
from pathlib import Path

import needs
import pytest
import torch
from safetensors.torch import load_file

from xexp.compiler.graph.contracts import TrainSettings
from xexp.runtime.data.sources import load_rows
from xexp.runtime.learning.models.shared_weights import SHARED_FILE, SharedWeightsError
from xexp.runtime.learning.models.sources import load_model
from xexp.runtime.learning.models.tiny import build_tiny
from xexp.runtime.learning.tasks import get_task
from xexp.runtime.learning.training import train

torch.set_num_threads(1)

EMBEDDINGS = "bert.embeddings.word_embeddings.weight"
HPARAMS = TrainSettings(batch=8, max_len=64, lr=1e-2, max_steps=3, freeze_embeddings=True)


def store_node(root: Path, kind: str, key: str) -> dict:
    """A manifest as ops/common.model_manifest gives it for a node of a store at `root`."""
    node_dir = root / kind / key
    model_dir = node_dir / ("model" if kind == "model" else "checkpoint")
    return {"path_or_id": str(model_dir), "revision": None, "trust_remote_code": False,
            "origin": {"kind": kind, "key": key, "dir": str(node_dir)}}


def run_training(base: dict, out: Path) -> dict:
    table = load_rows({"source": "local", "path": str(needs.data("mnli", "dev_matched.jsonl"))}, task_type="nli", split=None, rows=(0, 16),
                      language=None)
    return train(base=base, task_type="nli", train_table=table, dev_table=table.slice(0, 8),
                 hparams=HPARAMS, seed=0, out_dir=out, scratch_dir=out / "scratch")


def state_of(checkpoint: Path) -> dict:
    model = load_model({"path_or_id": str(checkpoint), "revision": None, "trust_remote_code": False},
                       get_task("nli").auto_class())
    return model.state_dict()


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("store")
    build_tiny(root / "model" / "m1" / "model", layers=1, hidden=32, heads=2, intermediate=64)
    return root


def test_frozen_embeddings_are_shared_not_copied(store, tmp_path):
    shared = run_training(store_node(store, "model", "m1"), store / "train" / "t1")
    checkpoint = store / "train" / "t1" / "checkpoint"
    assert [s.model_dump() for s in shared.shared_from] == [{"kind": "model", "key": "m1"}]
    assert EMBEDDINGS not in load_file(checkpoint / "model.safetensors")
    sidecar = json.loads((checkpoint / SHARED_FILE).read_text())["sources"]
    assert sidecar[0]["tensors"] == {EMBEDDINGS: "embeddings.word_embeddings.weight"}

    # The same training from outside the store writes everything: the loaded models are equal.
    outside = {"path_or_id": str(store / "model" / "m1" / "model"), "revision": None, "trust_remote_code": False}
    full = run_training(outside, tmp_path / "full")
    assert full.shared_from == [] and not (tmp_path / "full" / "checkpoint" / SHARED_FILE).exists()
    assert (checkpoint / "model.safetensors").stat().st_size < \
        (tmp_path / "full" / "checkpoint" / "model.safetensors").stat().st_size
    mine, theirs = state_of(checkpoint), state_of(tmp_path / "full" / "checkpoint")
    assert mine.keys() == theirs.keys()
    for name in mine:
        assert torch.equal(mine[name], theirs[name]), name

    # A training on top of that one shares the embeddings with the model node, through it.
    chained = run_training(store_node(store, "train", "t1"), store / "train" / "t2")
    assert {"kind": "model", "key": "m1"} in [s.model_dump() for s in chained.shared_from]
    assert EMBEDDINGS not in load_file(store / "train" / "t2" / "checkpoint" / "model.safetensors")
    assert torch.equal(state_of(store / "train" / "t2" / "checkpoint")[EMBEDDINGS], mine[EMBEDDINGS])


def test_an_altered_shared_file_is_refused(store, tmp_path):
    import shutil

    root = tmp_path / "store"
    shutil.copytree(store / "model", root / "model")
    run_training(store_node(root, "model", "m1"), root / "train" / "t9")
    weights = root / "model" / "m1" / "model" / "model.safetensors"
    tensors = load_file(weights)
    tensors["embeddings.word_embeddings.weight"] += 1.0
    from safetensors.torch import save_file

    save_file(tensors, str(weights), metadata={"format": "pt"})
    with pytest.raises(SharedWeightsError, match="changed since"):
        state_of(root / "train" / "t9" / "checkpoint")
