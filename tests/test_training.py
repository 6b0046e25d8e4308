"""Training mechanics with a tiny model on real MNLI/XQuAD: head replacement, exact resume
after SIGKILL, determinism, frozen embeddings, dev-based checkpoint selection, learning."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import needs
from xexp.runtime.data.sources import load_rows
from xexp.runtime.models.tiny import build_tiny
from xexp.runtime.tasks import get_task
from xexp.runtime.training import train
from xexp.runtime.training_setup import build_model, resolve_hparams

# Two cores shared by many: one intra-op thread avoids OpenMP oversubscription (20x slower),
# and the killed subprocess below runs with the same setting so that its steps match ours.
torch.set_num_threads(1)

DATA = needs.DATA
MNLI = str(DATA / "mnli" / "dev_matched.jsonl")
XQUAD = str(DATA / "xquad" / "xquad.en.json")


def rows(path: str, task_type: str, start: int, stop: int):
    return load_rows({"source": "local", "path": str(needs.data(path))}, task_type=task_type, split=None,
                     rows=(start, stop), language=None)


def manifest_of(path: Path) -> dict:
    return {"path_or_id": str(path), "revision": None, "trust_remote_code": False}


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> dict:
    path = build_tiny(tmp_path_factory.mktemp("tiny") / "model", layers=1, hidden=32, heads=2,
                      intermediate=64)
    return manifest_of(path)


def quick_train(base, task_type, out: Path, *, data, seed=0, **hparams):
    start, stop = hparams.pop("rows", (0, 16))
    table = rows(data, task_type, start, stop)
    hp = {"batch": 8, "max_len": 64, "lr": 1e-3, **hparams}
    return train(base=base, task_type=task_type, train_table=table, dev_table=table.slice(0, 8),
                 hparams=hp, seed=seed, out_dir=out, scratch_dir=out / "scratch")


@pytest.fixture(scope="module")
def qa_checkpoint(base, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("qa")
    quick_train(base, "extractive_qa", out, data=XQUAD, max_steps=2, rows=(0, 4))
    return out / "checkpoint"


@pytest.fixture(scope="module")
def nli_checkpoint(base, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("nli")
    quick_train(base, "nli", out, data=MNLI, max_steps=3, lr=1e-2)
    return out / "checkpoint"


# --- head replacement --------------------------------------------------------------------------

def encoder_and_head(state: dict) -> tuple[dict, dict]:
    encoder = {k: v for k, v in state.items() if k.startswith("bert.") and ".pooler." not in k}
    head = {k: v for k, v in state.items() if not k.startswith("bert.")}
    return encoder, head


def test_qa_to_nli_keeps_encoder_and_replaces_head(qa_checkpoint):
    saved_encoder, saved_head = encoder_and_head(load_file(qa_checkpoint / "model.safetensors"))
    assert set(saved_head) == {"qa_outputs.weight", "qa_outputs.bias"}
    model = build_model(manifest_of(qa_checkpoint), get_task("nli"), seed=0)
    encoder, head = encoder_and_head(model.state_dict())
    assert set(encoder) == set(saved_encoder)
    for name, tensor in saved_encoder.items():
        assert torch.equal(encoder[name], tensor), name
    assert set(head) == {"classifier.weight", "classifier.bias"}
    assert head["classifier.weight"].shape == (3, 32) and model.config.id2label[2] == "contradiction"


def test_same_task_head_is_reinitialised_from_the_seed(nli_checkpoint):
    saved_encoder, saved_head = encoder_and_head(load_file(nli_checkpoint / "model.safetensors"))
    first = build_model(manifest_of(nli_checkpoint), get_task("nli"), seed=0)
    again = build_model(manifest_of(nli_checkpoint), get_task("nli"), seed=0)
    other = build_model(manifest_of(nli_checkpoint), get_task("nli"), seed=1)
    for name, tensor in saved_encoder.items():
        assert torch.equal(first.state_dict()[name], tensor), name
    weight = first.classifier.weight
    assert not torch.equal(weight, saved_head["classifier.weight"]), "the trained head must not be reused"
    assert torch.equal(weight, again.classifier.weight) and not torch.equal(weight, other.classifier.weight)
    assert torch.count_nonzero(first.classifier.bias) == 0 and 0.01 < weight.std().item() < 0.04


def test_nli_to_multiple_choice_and_qa_heads(nli_checkpoint):
    mc = build_model(manifest_of(nli_checkpoint), get_task("multiple_choice"), seed=0)
    assert mc.classifier.weight.shape == (1, 32)
    qa = build_model(manifest_of(nli_checkpoint), get_task("extractive_qa"), seed=0)
    assert qa.qa_outputs.weight.shape == (2, 32)


# --- resume after a kill ------------------------------------------------------------------------

CHILD = """
import json, sys, time
from pathlib import Path
import torch
torch.set_num_threads(1)
from xexp.runtime.data.sources import load_rows
from xexp.runtime.training import train
args = json.loads(sys.argv[1])
table = load_rows({"source": "local", "path": args["data"]}, task_type="nli", split=None,
                  rows=(0, 48), language=None)
def slow(event):  # gives the parent time to kill us between checkpoints
    time.sleep(0.25)
train(base=args["base"], task_type="nli", train_table=table, dev_table=table.slice(0, 16),
      hparams=args["hparams"], seed=3, out_dir=Path(args["out"]), scratch_dir=Path(args["scratch"]),
      progress=slow)
"""

RESUME_HPARAMS = {"batch": 8, "epochs": 3, "max_len": 64, "lr": 3e-3, "checkpoint_every": 4,
                  "eval_every": 5, "log_every": 1}


@pytest.mark.needs_data
def test_killed_training_resumes_and_equals_an_uninterrupted_run(base, tmp_path):
    scratch, out = tmp_path / "scratch", tmp_path / "out"
    args = {"data": MNLI, "base": base, "hparams": RESUME_HPARAMS, "out": str(out), "scratch": str(scratch)}
    env = dict(os.environ, OMP_NUM_THREADS="1")
    child = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(args)], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while not (scratch / "resume.pt").exists():
            assert child.poll() is None, f"training died early: {child.stderr.read().decode()[-2000:]}"
            assert time.monotonic() < deadline, "no checkpoint within 120 s"
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert not (out / "checkpoint").exists(), "the killed run must not have finished"

    table = rows(MNLI, "nli", 0, 48)
    kwargs = dict(base=base, task_type="nli", train_table=table, dev_table=table.slice(0, 16),
                  hparams=RESUME_HPARAMS, seed=3)
    resumed = train(**kwargs, out_dir=out, scratch_dir=scratch)
    reference = train(**kwargs, out_dir=tmp_path / "ref", scratch_dir=tmp_path / "ref-scratch")

    assert reference["resumed_from_step"] is None
    assert resumed["resumed_from_step"] and resumed["resumed_from_step"] % 4 == 0
    assert resumed["resumed_from_step"] < resumed["steps"] == reference["steps"] == 18
    for key in ("dev_metric", "best_step", "train_examples"):
        assert resumed[key] == reference[key], key
    assert json.loads((out / "curve.json").read_text()) == json.loads((tmp_path / "ref" / "curve.json").read_text())
    mine = load_file(out / "checkpoint" / "model.safetensors")
    theirs = load_file(tmp_path / "ref" / "checkpoint" / "model.safetensors")
    assert mine.keys() == theirs.keys()
    for name in mine:
        assert torch.equal(mine[name], theirs[name]), f"{name} differs after resume"


def test_seed_and_fingerprint_decide_what_is_resumed(base, tmp_path):
    one = quick_train(base, "nli", tmp_path / "a", data=MNLI, max_steps=3, seed=0, checkpoint_every=1)
    assert one["resumed_from_step"] is None
    # The same training again finds its own last checkpoint (step 2 of 3) ...
    again = quick_train(base, "nli", tmp_path / "a", data=MNLI, max_steps=3, seed=0, checkpoint_every=1)
    assert again["resumed_from_step"] == 2
    # ... but a different training (other seed) does not resume from it, and differs.
    other = quick_train(base, "nli", tmp_path / "a", data=MNLI, max_steps=3, seed=1, checkpoint_every=1)
    assert other["resumed_from_step"] is None
    same = quick_train(base, "nli", tmp_path / "b", data=MNLI, max_steps=3, seed=0, checkpoint_every=1)
    weights = {name: load_file(tmp_path / name / "checkpoint" / "model.safetensors") for name in "ab"}
    assert not torch.equal(weights["a"]["classifier.weight"], weights["b"]["classifier.weight"])
    assert same["dev_metric"] == one["dev_metric"]


# --- hyperparameters ----------------------------------------------------------------------------

def test_frozen_word_embeddings_stay_put(base, tmp_path):
    quick_train(base, "nli", tmp_path, data=MNLI, max_steps=3, lr=1e-2, freeze_embeddings=True)
    before = load_file(Path(base["path_or_id"]) / "model.safetensors")
    after = load_file(tmp_path / "checkpoint" / "model.safetensors")
    key = "embeddings.word_embeddings.weight"
    assert torch.equal(after["bert." + key], before[key])
    layer = "encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(after["bert." + layer], before[layer])


def test_periodic_dev_scoring_keeps_the_best_step(base, tmp_path):
    result = quick_train(base, "nli", tmp_path, data=MNLI, max_steps=7, eval_every=2, lr=1e-2,
                         rows=(0, 64))
    curve = json.loads((tmp_path / "curve.json").read_text())
    assert [d["step"] for d in curve["dev"]] == [2, 4, 6, 7]
    scores = [d["accuracy"] for d in curve["dev"]]
    assert result["dev_metric"] == max(scores)
    assert result["best_step"] == curve["dev"][scores.index(max(scores))]["step"] == curve["best_step"]
    assert list((tmp_path / "scratch").glob("best-*.pt")), "best weights are kept in scratch"


def test_hparams_are_checked():
    assert resolve_hparams({}).lr == 1e-5 and resolve_hparams({"eval_every": None}).eval_every is None
    with pytest.raises(ValueError, match="unknown training hyperparameter"):
        resolve_hparams({"learning_rate": 1e-5})
    with pytest.raises(ValueError, match="batch must be a positive integer"):
        resolve_hparams({"batch": 0})


def test_tiny_model_learns_mnli_pairs(base, tmp_path):
    """Memorising 64 real MNLI pairs: the loss must fall far below chance (ln 3 = 1.10) and
    accuracy on those pairs far above a third. (Generalising to held-out MNLI is beyond a
    random-init byte-level model trained for seconds.)"""
    table = rows(MNLI, "nli", 0, 64)
    result = train(base=base, task_type="nli", train_table=table, dev_table=table, seed=0,
                   hparams={"batch": 16, "epochs": 30, "max_len": 64, "lr": 1e-2, "warmup": 0.05,
                            "log_every": 10, "eval_every": 40},
                   out_dir=tmp_path, scratch_dir=tmp_path / "scratch")
    losses = [point["loss"] for point in json.loads((tmp_path / "curve.json").read_text())["loss"]]
    assert len(losses) == 12 and losses[0] > 1.0 and min(losses[-3:]) < 0.5
    assert result["dev_metric"] >= 0.75
