"""Early stopping on the dev metric (`patience`, jiant's `no_improvements_for_n_evals`, the
recipe of Phang et al. 2020: see bench/README.md): a run with patience is the run without it,
cut where `patience` evaluations in a row brought no new best; the best checkpoint is what it
keeps; and a run killed just before stopping resumes with its counter and stops at the same step.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import needs
from xexp.compiler import compile_text
from xexp.compiler.graph.contracts import TrainParams, TrainSettings
from xexp.runtime.data.sources import load_rows
from xexp.runtime.learning.training import train

torch.set_num_threads(1)  # two cores shared by many (see test_training.py)

HPARAMS = {"batch": 8, "epochs": 3, "max_len": 64, "lr": 1e-2, "eval_every": 1, "checkpoint_every": 1}
PATIENCE = 2


@pytest.fixture(scope="module")
def base(tiny_base) -> dict:
    return tiny_base  # tests/conftest.py


@pytest.fixture(scope="module")
def table():
    path = needs.data("mnli", "dev_matched.jsonl")
    return load_rows({"source": "local", "path": str(path)}, task_type="nli", split=None,
                     rows=(0, 48), language=None)


def run(base, table, out: Path, progress=None, **extra) -> dict:
    return train(base=base, task_type="nli", train_table=table, dev_table=table.slice(0, 16),
                 hparams=TrainSettings(**{**HPARAMS, **extra}), log_every=1, seed=5, out_dir=out,
                 scratch_dir=out / "scratch",
                 progress=progress)


def curve(out: Path) -> dict:
    return json.loads((out / "curve.json").read_text())


def expected_stop(dev: list[dict], patience: int) -> int:
    """The step where jiant's rule stops, read off the dev curve of a run without patience."""
    best, since = None, 0
    for point in dev:
        if best is None or point["accuracy"] > best:
            best, since = point["accuracy"], 0
        else:
            since += 1
        if since >= patience:
            return point["step"]
    raise AssertionError("the run without patience never stalls: the test data cannot show early stopping")


@pytest.fixture(scope="module")
def reference(base, table, tmp_path_factory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("no_patience")
    return run(base, table, out), out


@pytest.fixture(scope="module")
def patient(base, table, tmp_path_factory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("patience")
    return run(base, table, out, patience=PATIENCE), out


@pytest.mark.needs_data
def test_patience_cuts_the_same_run_where_the_dev_metric_stalls(reference, patient):
    (full, full_out), (early, early_out) = reference, patient
    stop = expected_stop(curve(full_out)["dev"], PATIENCE)
    assert stop < full.steps == 18, "the data must stall before the end to show anything"
    assert early.steps == stop and early.stopped_early and not full.stopped_early
    cut, whole = curve(early_out), curve(full_out)
    # the same training up to the stopping point: every loss and dev score, bit for bit
    assert cut["dev"] == [p for p in whole["dev"] if p["step"] <= stop]
    assert cut["loss"] == [p for p in whole["loss"] if p["step"] <= stop]
    scores = [p["accuracy"] for p in cut["dev"]]
    assert early.dev_metric == max(scores)
    assert early.best_step == cut["best_step"] == cut["dev"][scores.index(max(scores))]["step"]


@pytest.mark.needs_data
def test_the_best_checkpoint_is_what_an_early_stopped_run_keeps(patient, table):
    from xexp.runtime.learning.evaluation import evaluate

    result, out = patient
    predictions = evaluate(model_dir=str(out / "checkpoint"), task_type="nli", table=table.slice(0, 16),
                           batch=16, max_len=64)
    correct = predictions.column("correct").to_pylist()
    accuracy = sum(correct) / len(correct)
    assert result.best_step < result.steps
    assert accuracy == pytest.approx(result.dev_metric)


class Crash(RuntimeError):
    pass


@pytest.mark.needs_data
def test_a_run_killed_before_it_stops_resumes_its_counter(base, table, patient, tmp_path):
    """Killed at the stopping step, after the checkpoint of the step before (where the counter
    stands at patience - 1): the resumed run must stop at the same step with the same bytes. A
    counter that is not saved would start again at 0 and train on."""
    result, reference_out = patient
    stop = result.steps

    def crash_at_stop(event: dict) -> None:
        if event["step"] == stop:
            raise Crash

    with pytest.raises(Crash):
        run(base, table, tmp_path, progress=crash_at_stop, patience=PATIENCE)
    saved = json.loads((tmp_path / "scratch" / "resume.json").read_text())["loop"]
    assert saved["step"] == stop - 1 and saved["evals_since_best"] == PATIENCE - 1
    resumed = run(base, table, tmp_path, patience=PATIENCE)
    assert resumed.resumed_from_step == stop - 1
    assert resumed.steps == stop and resumed.stopped_early
    for name in ("curve.json", "checkpoint/model.safetensors"):
        assert (tmp_path / name).read_bytes() == (reference_out / name).read_bytes(), name


SPEC = """\
experiment patience
model m = tiny()
task mnli = nli(synthetic("nli", size=40), train="train", dev="dev[:20]")
task xnli = nli(synthetic("nli", size=40), test="test")
intermediate = [none mnli]
target = xnli trained_on mnli
languages = [en]
seeds = [1]
train intermediate { eval_every=5 %s }
"""


def train_hparams(text: str) -> list[dict]:
    _, graph = compile_text(text)
    return [node.params["hparams"] for node in graph.nodes if node.kind == "train"]


def test_patience_is_a_training_setting_that_enters_only_the_keys_that_set_it():
    with_patience, without = train_hparams(SPEC % "patience=3"), train_hparams(SPEC % "")
    patiences = [h.get("patience") for h in with_patience]  # the intermediate's 3; targets unset
    assert patiences.count(3) == 1 and patiences.count(None) == len(patiences) - 1 >= 1
    assert all("patience" not in h for h in without), "an unset setting must leave old keys alone"
    params = TrainParams(task_type="nli", task_params={}, hparams=TrainSettings(patience=3), seed=1)
    assert TrainParams.model_validate(params.to_params()).hparams.patience == 3
    with pytest.raises(ValueError, match="patience"):
        TrainSettings(patience=0)


def test_patience_on_a_training_without_dev_data_is_refused_at_its_setting():
    """Without a dev split nothing is evaluated, so `patience` would silently never stop it."""
    from xexp.compiler import SpecError

    text = (SPEC % "").replace('dev="dev[:20]"', "") + "train target { patience=2 }\n"
    with pytest.raises(SpecError) as caught:
        compile_text(text)
    (error,) = [e for e in caught.value.errors if "patience" in e.message]
    assert "`mnli` has no `dev=` split" in error.message and "dev=" in (error.hint or "")
    line = text.splitlines()[error.line - 1]
    assert line[error.column - 1:].startswith("patience")
    compile_text(SPEC % "" + "train target { patience=2 }\n")  # with dev data: fine
