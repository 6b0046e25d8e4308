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
from xexp.runtime.engine.estimate.work import Work, load_rows
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
    # nothing else of its kind: every estimate is corrected by the run's ratio so far (2x)
    assert display.eta_seconds() == pytest.approx(24.0, abs=0.5)
    assert "?" not in display.eta_text() and "≥" not in display.eta_text()
