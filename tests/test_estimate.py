"""Cost estimates: the scheduler's replay, the fit of rates, the bases of estimates, the ETA."""

from __future__ import annotations

import io
import json

import pytest

from xexp.compiler.graph import Graph, Node
from xexp.compiler.graph.node import Resources
from xexp.progress import ProgressDisplay
from xexp.runtime.engine.estimate.history import Sample
from xexp.runtime.engine.estimate.models import compute_parameters, parameter_count
from xexp.runtime.engine.estimate.rates import RateBook, fit_line
from xexp.runtime.engine.estimate.simulate import SimNode, simulate
from xexp.runtime.engine.estimate.work import FORWARD_SHARE, Work, load_rows, planned_work, recorded_work
from xexp.runtime.engine.scheduler import critical_path_priority


# --- the replay ------------------------------------------------------------------------------
def test_replay_of_a_join_on_one_and_two_cpus():
    nodes = [SimNode("a", 2, {"CPU": 1}), SimNode("b", 3, {"CPU": 1}), SimNode("c", 1, {"CPU": 1}, ("a", "b"))]
    one, two = simulate(nodes, {"CPU": 1}), simulate(nodes, {"CPU": 2})
    assert (one.makespan, one.lower_bound) == (6, 6)
    assert (two.makespan, two.lower_bound) == (4, 4)
    assert two.critical_path == ["b", "c"] and two.critical_seconds == 4


def test_replay_starts_the_longest_chain_first_and_backfills_cpu_work_beside_a_gpu_node():
    # g1 -> g2 is the long chain on the one GPU; the CPU nodes run beside it, not after it
    nodes = [SimNode("cpu1", 5, {"CPU": 1}), SimNode("g1", 4, {"GPU": 1, "CPU": 1}),
             SimNode("g2", 4, {"GPU": 1, "CPU": 1}, ("g1",)), SimNode("cpu2", 3, {"CPU": 1})]
    result = simulate(nodes, {"CPU": 2, "GPU": 1})
    assert result.makespan == 8
    assert result.critical_path == ["g1", "g2"]


def test_nodes_asking_more_than_the_cluster_are_left_out_with_their_consumers():
    nodes = [SimNode("big", 1, {"GPU": 2}), SimNode("after", 1, {"CPU": 1}, ("big",)), SimNode("x", 2, {"CPU": 1})]
    result = simulate(nodes, {"CPU": 1, "GPU": 1})
    assert result.unplaceable == ["big", "after"]
    assert result.makespan == 2


def test_running_nodes_go_first_in_the_replay():
    nodes = [SimNode("short_running", 1, {"CPU": 1}), SimNode("long", 10, {"CPU": 1})]
    assert simulate(nodes, {"CPU": 1}, first={"short_running"}).makespan == 11
    assert simulate(nodes, {"CPU": 1}).critical_path == ["long"]


def test_scheduler_priorities_follow_the_estimates_when_given():
    a = Node.make("evaluate", "evaluate:a", {"x": 1})
    b = Node.make("evaluate", "evaluate:b", {"x": 2})
    graph = Graph(experiment="t", nodes=[a, b])
    assert critical_path_priority(graph)[a.key] == critical_path_priority(graph)[b.key]
    ranked = critical_path_priority(graph, {a.key: 30.0, b.key: 3.0})
    assert ranked[a.key] > ranked[b.key]


# --- rates -----------------------------------------------------------------------------------
def test_fit_recovers_overhead_and_rate_and_never_goes_negative():
    overhead, rate = fit_line([(100, 12.0), (200, 22.0), (400, 42.0)])
    assert overhead == pytest.approx(2.0) and rate == pytest.approx(0.1)
    assert fit_line([(100, 10.0)]) == (0.0, 0.1)
    overhead, rate = fit_line([(100, 30.0), (200, 10.0)])  # more work, less time: no slope
    assert rate == 0.0 and overhead == pytest.approx(20.0)


def _samples(kind, model, seconds_per_unit, overhead=1.0, device="cpu"):
    return [Sample(kind, model, device, Work("tokens", u), overhead + seconds_per_unit * u) for u in (1e4, 2e4, 4e4)]


def test_rates_rest_on_history_then_a_scaled_model_then_a_profile_then_parameters():
    small, large = {"source": "hf", "id": "xlm-roberta-base"}, {"source": "hf", "id": "xlm-roberta-large"}
    params = {"xlm-roberta-base": parameter_count(small), "xlm-roberta-large": parameter_count(large),
              "unknown-model": None}
    book = RateBook(_samples("train", "xlm-roberta-base", 1e-3), parameters=params)
    own = book.rate("train", "xlm-roberta-base", "cpu")
    assert own.basis == "history of 3 nodes" and own.per_unit == pytest.approx(1e-3)
    scaled = book.rate("train", "xlm-roberta-large", "cpu")
    assert "scaled by parameter count" in scaled.basis
    assert scaled.per_unit == pytest.approx(1e-3 * params["xlm-roberta-large"] / params["xlm-roberta-base"])
    # no history on a GPU: parameter count and an assumed throughput, labelled as such
    assert "parameter count" in book.rate("train", "xlm-roberta-large", "gpu").basis
    profiled = RateBook([], parameters=params, profiles={("xlm-roberta-large", "gpu"): {
        "train_s_per_token": 2e-5, "eval_s_per_token": 5e-6}})
    assert profiled.rate("evaluate", "xlm-roberta-large", "gpu").per_unit == pytest.approx(5e-6)
    assert "profile" in profiled.rate("evaluate", "xlm-roberta-large", "gpu").basis
    assert "unknown" in book.rate("train", "unknown-model", "cpu").basis


def test_a_one_size_history_borrows_its_models_overhead_instead_of_charging_it_per_token():
    # every evaluation of the history had the same size: alone, it says 4 s per 2e4 tokens,
    # all of it per token; the model's attacks, of varied sizes, show 3 s of it are overhead
    same_size = [Sample("evaluate", "m", "cpu", Work("tokens", 2e4), 4.0) for _ in range(5)]
    alone = RateBook(same_size).rate("evaluate", "m", "cpu")
    assert alone.overhead == 0.0 and alone.seconds(8e4) == pytest.approx(16.0)
    book = RateBook(same_size + _samples("attack", "m", 1e-4, overhead=3.0))
    rate = book.rate("evaluate", "m", "cpu")
    assert rate.overhead == pytest.approx(3.0) and "attack" in rate.basis
    assert rate.seconds(2e4) == pytest.approx(4.0)  # the history itself is still met
    assert rate.seconds(8e4) == pytest.approx(3.0 + 1.0 * 4)
    # an overhead larger than the group's own time is capped: the work keeps a share of it
    capped = RateBook(same_size + _samples("attack", "m", 1e-4, overhead=9.0)).rate("evaluate", "m", "cpu")
    assert 0 < capped.overhead < 4.0 and capped.per_unit > 0
    # another model's overhead is not borrowed
    assert RateBook(same_size + _samples("attack", "other", 1e-4, overhead=3.0)).rate(
        "evaluate", "m", "cpu").overhead == 0.0


def _train_node(task_type, train_rows, dev_rows, **hparams):
    load_train = Node.make("load", "load:train", {"rows": train_rows})
    load_dev = Node.make("load", "load:dev", {"rows": dev_rows, "split": "dev"})
    settings = {"batch": 8, "epochs": 2, "max_len": 64, **hparams}
    train = Node.make("train", "train:x", {"task_type": task_type, "hparams": settings},
                      {"train": load_train.key, "dev": load_dev.key})
    return train, {load_train.key: float(train_rows), load_dev.key: float(dev_rows)}


def test_training_work_counts_choices_and_dev_scoring_alike_planned_and_recorded():
    train, rows = _train_node("nli", 80, 30)
    steps = 80 // 8 * 2
    dev = 30 * 64 * (2 + 1) * FORWARD_SHARE  # after each of 2 epochs, and once at the end
    planned = planned_work(train, rows.get).amount
    assert planned == pytest.approx(steps * 8 * 64 + dev)
    manifest = {"checkpoint": "checkpoint", "dev_metric": 0.5, "best_step": steps, "steps": steps,
                "train_examples": 80, "seconds": 1.0, "examples_per_second": 1.0,
                "resumed_from_step": None, "stopped_early": False}
    assert recorded_work("train", train.params, manifest, dev_rows=30.0).amount == pytest.approx(planned)
    # a multiple-choice example is read once per ending
    mc, mc_rows = _train_node("multiple_choice", 80, 30)
    assert planned_work(mc, mc_rows.get).amount == pytest.approx(4 * planned)
    # eval_every: one scoring per that many steps, and the final one
    every, every_rows = _train_node("nli", 80, 30, eval_every=5)
    assert planned_work(every, every_rows.get).amount == pytest.approx(steps * 8 * 64 + 30 * 64 * (4 + 1) * FORWARD_SHARE)


def _record(store, kind, key, seconds, params=None, manifest=None, inputs=None):
    folder = store / kind / key
    folder.mkdir(parents=True)
    (folder / "_complete.json").write_text(json.dumps({
        "key": key, "params": params or {}, "manifest": manifest or {}, "inputs": inputs or {},
        "timings": {"seconds": seconds}}))
    return folder


def test_a_recorded_training_counts_the_dev_rows_of_a_load_older_than_those_read(tmp_path, monkeypatch):
    import os

    from xexp.runtime.engine.estimate import history

    store = tmp_path / "store"
    old = _record(store, "load", "dev0", 0.1, manifest={"file": "data.parquet", "rows": 30})
    os.utime(old / "_complete.json", (1, 1))  # older than every other load
    _record(store, "load", "train0", 0.1, manifest={"file": "data.parquet", "rows": 80})
    manifest = {"checkpoint": "checkpoint", "dev_metric": 0.5, "best_step": 20, "steps": 20,
                "train_examples": 80, "seconds": 1.0, "examples_per_second": 1.0,
                "resumed_from_step": None, "stopped_early": False}
    params = {"task_type": "nli", "hparams": {"batch": 8, "epochs": 2, "max_len": 64}}
    _record(store, "train", "t0", 9.0, params=params, manifest=manifest,
            inputs={"train": {"kind": "load", "key": "train0"}, "dev": {"kind": "load", "key": "dev0"}})
    monkeypatch.setattr(history, "PER_KIND", 1)  # the fit reads only the newest load
    (train,) = [s for s in history.read_samples(store) if s.kind == "train"]
    assert train.work.amount == pytest.approx(20 * 8 * 64 + 30 * 64 * 3 * FORWARD_SHARE)
    # a dev input whose kind is not a node kind names no folder of this store: a record outside
    # it, where "../load" would lead, is not read
    _record(tmp_path, "load", "dev0", 0.1, manifest={"file": "data.parquet", "rows": 30})
    os.utime(store / "train" / "t0" / "_complete.json", (1, 1))
    _record(store, "train", "t1", 7.0, params=params, manifest=manifest,
            inputs={"train": {"kind": "load", "key": "train0"}, "dev": {"kind": "../load", "key": "dev0"}})
    (newest,) = [s for s in history.read_samples(store) if s.kind == "train"]
    assert newest.seconds == 7.0 and newest.work.amount == pytest.approx(20 * 8 * 64)


def test_tiny_parameter_count_matches_the_built_model(tiny_base):
    """The compute parameters counted from a shape equal the encoder layers' parameters of the
    model xexp builds from it."""
    from transformers import AutoModel

    model = AutoModel.from_pretrained(tiny_base["path_or_id"])
    layers = sum(p.numel() for name, p in model.named_parameters() if ".layer." in name)
    config = model.config
    assert compute_parameters(config.num_hidden_layers, config.hidden_size, config.intermediate_size) == layers


def test_load_rows_from_slices_synthetic_sizes_and_local_files(tmp_path):
    data = tmp_path / "dev.jsonl"
    data.write_text("".join(json.dumps({"premise": "a", "hypothesis": "b", "label": 0}) + "\n" for _ in range(37)))
    local = {"source": {"source": "local", "path": str(data)}, "rows": None, "split": "dev"}
    assert load_rows(local) == 37
    assert load_rows({**local, "rows": [0, 10]}) == 10
    assert load_rows({"source": {"source": "synthetic", "size": 600}, "rows": [0, 90]}) == 90
    assert load_rows({"source": {"source": "hf", "id": "facebook/xnli"}, "rows": None}) is None


# --- the progress line -------------------------------------------------------------------------
def test_eta_replays_the_estimates_and_corrects_them_by_what_was_measured():
    load = Node.make("load", "load:a", {"x": 3})
    train = Node.make("train", "train:b", {"x": 4}, {"data": load.key})
    evaluate = Node.make("evaluate", "evaluate:c", {"x": 5}, {"model": train.key})
    graph = Graph(experiment="t", nodes=[load, train, evaluate])
    estimates = {load.key: 1.0, train.key: 10.0, evaluate.key: 2.0}
    display = ProgressDisplay(graph, stream=io.StringIO(), live=False, estimates=estimates, capacity={"CPU": 2})
    assert display.eta_seconds() == pytest.approx(13.0, abs=0.5)  # known before anything finished
    display({"event": "started", "key": load.key})
    display({"event": "finished", "key": load.key, "seconds": 2.0})  # twice its estimate
    # no other load is left, and the kinds still to run keep their own estimates: a load's
    # ratio says nothing of how far off a training's estimate is
    assert display.eta_seconds() == pytest.approx(12.0, abs=0.5)
    assert "?" not in display.eta_text() and "≥" not in display.eta_text()
