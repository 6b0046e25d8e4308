"""Multi-task (`mix`) training: the sampling shares, each epoch's schedule, the shared encoder,
and that a mix training killed and resumed equals the uninterrupted one (runtime/learning/multitask.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import needs
from killing import kill_inside_epoch
from xexp.compiler.graph.contracts import Sampling, TrainSettings
from xexp.runtime.data.sources import load_rows
from xexp.runtime.learning.multitask import Schedule, apportion, build_members, epoch_quotas
from xexp.runtime.learning.tasks import get_task
from xexp.runtime.learning.tasks.base import Task
from xexp.runtime.learning.tasks.batching import training_batches
from xexp.runtime.learning.training import train, train_mix

torch.set_num_threads(1)  # two cores shared by many (see test_training.py)


# --- shares and schedules ------------------------------------------------------------------------

def test_sampling_shares_follow_jiant():
    sizes = [100, 400, 1600]
    assert Sampling().probabilities(sizes) == pytest.approx([1 / 21, 4 / 21, 16 / 21])
    assert Sampling(kind="capped", cap=400).probabilities(sizes) == pytest.approx([1 / 9, 4 / 9, 4 / 9])
    # T = 2: sqrt(n) = 10, 20, 40
    assert Sampling(kind="temperature", temperature=2.0).probabilities(sizes) == pytest.approx([1 / 7, 2 / 7, 4 / 7])
    assert Sampling(kind="temperature", temperature=1.0).probabilities(sizes) == pytest.approx(
        Sampling().probabilities(sizes))


def test_epoch_quotas():
    sizes = [10, 40, 160]  # batches of 8: 2, 5, 20
    assert epoch_quotas(Sampling(), sizes, 8) == [2, 5, 20]
    assert epoch_quotas(Sampling(kind="capped", cap=40), sizes, 8) == [2, 5, 5]
    # temperature 2: sqrt shares of the 27 batches of a proportional epoch
    quotas = epoch_quotas(Sampling(kind="temperature", temperature=2.0), sizes, 8)
    shares = np.sqrt(sizes) / np.sqrt(sizes).sum()
    assert sum(quotas) == 27 and np.abs(np.array(quotas) - 27 * shares).max() < 1
    assert apportion(10, [0.001, 0.999]) == [1, 10]  # every member trains at least once an epoch


def test_a_schedule_is_a_function_of_seed_and_epoch():
    lengths = [np.arange(10) % 7, np.arange(40) % 5, np.arange(3)]
    rule = Sampling(kind="temperature", temperature=3.0)
    schedule = Schedule(lengths, 4, seed=5, sampling=rule)
    again = Schedule(lengths, 4, seed=5, sampling=rule)
    first = schedule.epoch(0)
    assert [(m, b.tolist()) for m, b in first] == [(m, b.tolist()) for m, b in again.epoch(0)]
    assert [m for m, _ in first] != [m for m, _ in schedule.epoch(1)]
    assert [m for m, _ in first] != [m for m, _ in Schedule(lengths, 4, seed=6, sampling=rule).epoch(0)]
    counts = np.bincount([m for m, _ in first], minlength=3)
    assert counts.tolist() == schedule.quotas and len(first) == schedule.batches_per_epoch
    # the small member (1 batch a pass) is upsampled: its stream goes on through its passes
    assert schedule.quotas[2] > 1
    stream = [b.tolist() for e in range(3) for b in schedule.member_batches(2, e)]
    passes = [b.tolist() for p in range(len(stream)) for b in training_batches(lengths[2], 4, seed=5, epoch=p, stream=2)]
    assert stream == passes[: len(stream)]


def test_a_proportional_epoch_sees_every_feature_once():
    lengths = [np.arange(10), np.arange(23), np.arange(5)]
    epoch = Schedule(lengths, 4, seed=1, sampling=Sampling()).epoch(2)
    for member, size in enumerate([10, 23, 5]):
        seen = np.concatenate([b for m, b in epoch if m == member])
        assert sorted(seen.tolist()) == list(range(size))


def test_one_member_is_the_single_task_order():
    lengths = np.arange(30) % 9
    for epoch in range(3):
        mixed = Schedule([lengths], 4, seed=2).epoch(epoch)
        assert [m for m, _ in mixed] == [0] * 8
        assert all(np.array_equal(a, b) for (_, a), b in zip(mixed, training_batches(lengths, 4, seed=2, epoch=epoch)))


# --- training -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def base(tiny_base) -> dict:
    return tiny_base  # tests/conftest.py


#: Three task types on real data: MNLI pairs, SQuAD-style QA (XQuAD), HellaSwag endings; QA without dev.
MEMBERS = (("nli", "mnli/dev_matched.jsonl", 24, True), ("extractive_qa", "xquad/xquad.en.json", 2, False),
           ("multiple_choice", "hellaswag/val.jsonl", 8, True))
MIX_HPARAMS = TrainSettings(batch=4, epochs=2, max_len=64, lr=3e-3, checkpoint_every=3, eval_every=4)
MIX_SAMPLING = Sampling(kind="temperature", temperature=2.0)


def member_tables(data: Path) -> list[dict]:
    out = []
    for task_type, name, n, dev in MEMBERS:
        table = load_rows({"source": "local", "path": str(data / name)}, task_type=task_type, split=None,
                          rows=(0, n), language=None)
        out.append({"task_type": task_type, "task_params": {}, "train_table": table,
                    "dev_table": table.slice(0, 4) if dev else None})
    return out


@pytest.fixture(scope="module")
def members() -> list[dict]:
    return member_tables(needs.data())


def test_members_share_one_encoder_and_keep_their_heads(base):
    tasks = [get_task(t) for t in ("extractive_qa", "nli", "multiple_choice")]
    container, models, owner = build_members(base, tasks, seed=0)
    assert owner == 1  # the QA model's encoder has no pooler: the largest encoder is shared
    encoders = {id(m.base_model) for m in models}
    assert encoders == {id(container.encoder)}
    names = [name for name, _ in container.named_parameters()]
    assert len(names) == len(set(names)) and sum(n.startswith("encoder.") for n in names) > 0
    heads = [dict(m.named_children()) for m in models]
    assert "qa_outputs" in heads[0] and "classifier" in heads[1] and "classifier" in heads[2]
    assert heads[1]["classifier"] is not heads[2]["classifier"]


@pytest.mark.needs_data
def test_a_mix_of_one_member_is_the_single_task_training(base, members, tmp_path):
    member = members[0]
    hparams = TrainSettings(batch=8, max_len=64, lr=1e-3, epochs=2)
    alone = train(base=base, task_type="nli", train_table=member["train_table"], dev_table=member["dev_table"],
                  hparams=hparams, seed=4, out_dir=tmp_path / "alone", scratch_dir=tmp_path / "alone-scratch")
    mixed = train_mix(base=base, members=[member], sampling=Sampling(), hparams=hparams, seed=4,
                      out_dir=tmp_path / "mix", scratch_dir=tmp_path / "mix-scratch")
    assert mixed.steps == alone.steps == 6 and mixed.dev_metric == alone.dev_metric
    assert (tmp_path / "mix/checkpoint/model.safetensors").read_bytes() == \
        (tmp_path / "alone/checkpoint/model.safetensors").read_bytes()


CHILD = """
import json, sys, time
from pathlib import Path
import torch
torch.set_num_threads(1)
sys.path.insert(0, sys.argv[2])
from test_multitask import MIX_HPARAMS, MIX_SAMPLING, member_tables
from xexp.runtime.learning.training import train_mix
args = json.loads(sys.argv[1])
def slow(event):  # gives the parent time to kill us between checkpoints
    time.sleep(0.1)
train_mix(base=args["base"], members=member_tables(Path(args["data"])), sampling=MIX_SAMPLING,
          hparams=MIX_HPARAMS, seed=7, out_dir=Path(args["out"]), scratch_dir=Path(args["scratch"]), progress=slow,
          log_every=1)
"""


def mix_run(base, members, folder: Path) -> dict:
    return train_mix(base=base, members=members, sampling=MIX_SAMPLING, hparams=MIX_HPARAMS, seed=7,
                     out_dir=folder / "out", scratch_dir=folder / "scratch", log_every=1)


@pytest.mark.needs_data
def test_a_mix_training_killed_and_resumed_equals_the_uninterrupted_one(base, members, tmp_path):
    """SIGKILL once a checkpoint inside the second epoch stands; resuming must give the bytes of an
    uninterrupted run (each epoch's schedule made again from (seed, epoch))."""
    reference = mix_run(base, members, tmp_path / "reference")
    folder = tmp_path / "killed"
    args = {"base": base, "data": str(needs.data()), "out": str(folder / "out"), "scratch": str(folder / "scratch")}
    child = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(args), str(Path(__file__).parent)],
                             env=dict(os.environ, OMP_NUM_THREADS="1"), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    kill_inside_epoch(child, folder / "scratch", epoch=1)
    assert not (folder / "out/checkpoint").exists(), "the killed run must not have finished"
    resumed = mix_run(base, members, folder)
    per_epoch = sum(m.batches_per_epoch for m in reference.members)
    assert reference.resumed_from_step is None
    assert per_epoch < resumed.resumed_from_step < 2 * per_epoch
    for key in ("dev_metric", "best_step", "steps", "train_examples", "members"):
        assert getattr(resumed, key) == getattr(reference, key), key
    for name in ("curve.json", "checkpoint/model.safetensors", "checkpoint/config.json"):
        assert (folder / "out" / name).read_bytes() == (tmp_path / "reference/out" / name).read_bytes(), name
    curve = json.loads((tmp_path / "reference/out/curve.json").read_text())
    assert curve["metric"] == "mean_dev"
    for point in curve["dev"]:  # the mean over the members with a dev split (QA has none here)
        assert set(point["members"]) == {"0:nli", "2:multiple_choice"}
        assert point["mean_dev"] == pytest.approx(sum(point["members"].values()) / 2)
    assert [m.member for m in reference.members] == ["0:nli", "1:extractive_qa", "2:multiple_choice"]


class MaskedLMProbe(Task):
    """A task whose head is tied to the input embeddings, as a masked-LM head is (only what
    building its model reads)."""

    name = "masked_lm_probe"
    auto_class_name = "AutoModelForMaskedLM"


def test_sharing_the_encoder_reties_a_head_tied_to_the_embeddings(base):
    container, models, owner = build_members(base, [MaskedLMProbe(), get_task("nli")], seed=0)
    assert owner == 1  # the NLI encoder has a pooler: the MLM model is moved onto it
    shared = container.encoder.get_input_embeddings().weight
    assert models[0].base_model is container.encoder
    assert models[0].get_output_embeddings().weight is shared
