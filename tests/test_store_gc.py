"""`xexp gc`: what no kept run references goes (only with --apply), what one does stays.

The store is written through its own API with the graphs of the real smoke spec (two seeds,
two runs); the node work itself is irrelevant to what is referenced, so it is not run here.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from xexp.cli import main
from xexp.compiler import compile_text
from xexp.runtime.engine.runs import RunLog, create_run
from xexp.runtime.engine.store import Store
from xexp.runtime.engine.store_gc import collect
from xexp.runtime.manifests.train import SharedFrom, TrainManifest

SMOKE = (Path(__file__).resolve().parents[1] / "specs" / "smoke.xexp").read_text()


def graph_with_seed(seed: int):
    return compile_text(SMOKE.replace("seeds        = [1]", f"seeds        = [{seed}]"), "smoke.xexp", {})[1]


def complete(store: Store, graph, run_id: str, extra: dict | None = None) -> None:
    """Every node of `graph` done, with a 1 KiB artifact and a scratch file."""
    kinds = {n.key: n.kind for n in graph.nodes}
    for node in graph.nodes:
        if store.is_done(node.kind, node.key):
            continue
        attempt = store.begin_attempt(node.kind, node.key)
        (store.artifact_dir(node.kind, node.key) / "data.bin").write_bytes(os.urandom(1024))
        manifest = dict((extra or {}).get(node.kind, {}))
        store.write_record(node, manifest=manifest, started=0.0, ended=1.0, attempt=attempt,
                           inputs={r: {"key": k, "kind": kinds[k]} for r, k in node.inputs.items()},
                           run_id=run_id, ray_node_id=None)


def finished_run(store: Store, graph) -> str:
    run_id = create_run(store, graph)
    complete(store, graph, run_id)
    RunLog(store, run_id).finish("done")
    time.sleep(0.01)  # distinct start times
    return run_id


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path / "store")


def test_gc_dry_run_then_apply(store, capsys):
    old, new = graph_with_seed(1), graph_with_seed(2)
    old_run = finished_run(store, old)
    finished_run(store, new)
    # An orphan (its run record deleted by hand) and a scratch folder left by a failed attempt.
    orphan = store.artifact_dir("evaluate", "f" * 64)
    orphan.mkdir(parents=True)
    (orphan / "predictions.parquet").write_bytes(b"x" * 5000)
    (store.scratch_dir("train", "e" * 64) / "resume.json").parent.mkdir(parents=True)
    (store.scratch_dir("train", "e" * 64) / "resume.json").write_bytes(b"y" * 3000)
    unknown = store.root / "somebody-elses-folder"
    unknown.mkdir()

    # Every run kept: only the orphans are garbage.
    garbage = collect(store)
    assert [(k, key) for k, key, _ in garbage.nodes] == [("evaluate", "f" * 64)]
    assert garbage.scratch == [store.scratch_dir("train", "e" * 64)] and garbage.runs == []

    # Only the newest run kept: the old seed's own nodes go with its run record; the nodes both
    # seeds share (the model, the data) stay.
    assert main(["gc", "--store", str(store.root), "--keep-last", "1"]) == 0
    printed = capsys.readouterr().out
    assert "would free" in printed and "--apply" in printed
    assert orphan.exists() and (store.runs_dir() / old_run).exists(), "a dry run deletes nothing"
    only_old = {n.key for n in old.nodes} - {n.key for n in new.nodes}
    shared = {n.key for n in old.nodes} - only_old
    assert only_old and {n.kind for n in old.nodes if n.key in shared} >= {"model", "load"}
    assert main(["gc", "--store", str(store.root), "--keep-last", "1", "--apply"]) == 0
    assert "freed" in capsys.readouterr().out
    for node in old.nodes:
        assert store.is_done(node.kind, node.key) == (node.key not in only_old), node.name
    for node in new.nodes:
        assert store.verify(node.kind, node.key) == [], node.name
    assert not orphan.exists() and not (store.runs_dir() / old_run).exists()
    assert not store.scratch_dir("train", "e" * 64).exists() and unknown.exists()
    assert collect(store).paths == []


def test_gc_keeps_what_a_kept_training_shares_weights_with(store):
    graph = graph_with_seed(1)
    run_id = create_run(store, graph)
    shared_model = store.artifact_dir("model", "a" * 64)
    shared_model.mkdir(parents=True)
    (shared_model / "model.safetensors").write_bytes(b"w" * 100)
    trained = TrainManifest(checkpoint="checkpoint", dev_metric=0.5, best_step=1, steps=1, train_examples=4,
                            seconds=1.0, examples_per_second=4.0, resumed_from_step=None, stopped_early=False,
                            shared_from=[SharedFrom(kind="model", key="a" * 64)])
    complete(store, graph, run_id, extra={"train": trained.to_json()})
    RunLog(store, run_id).finish("done")
    assert collect(store).paths == []


def test_gc_refuses_to_delete_while_a_run_is_going(store, capsys):
    finished_run(store, graph_with_seed(1))
    going = create_run(store, graph_with_seed(2))
    log = RunLog(store, going)  # heartbeat of this (live) process
    orphan = store.artifact_dir("report", "d" * 64)
    orphan.mkdir(parents=True)
    try:
        assert main(["gc", "--store", str(store.root), "--apply"]) == 1
        assert "is going on" in capsys.readouterr().err and orphan.exists()
    finally:
        log.close()


def test_gc_counts_a_stopped_driver_as_alive_and_never_removes_a_leased_node(store, capsys, tmp_path):
    """A Ctrl-Z'd run (its driver SIGSTOPped on this host, heartbeat silent for an hour) is not
    finished: `gc --keep-last 1` keeps its run record, its in-progress training and the resume
    checkpoints, and `--apply` deletes nothing of it. A node with a lease stays whatever the runs say."""
    import json
    import signal
    import subprocess

    from xexp.runtime.engine.leases import lease_path
    from xexp.runtime.engine.store import write_json_atomic

    paused_graph = graph_with_seed(2)
    paused = create_run(store, paused_graph)
    train = next(n for n in paused_graph.nodes if n.kind == "train")
    complete(store, type(paused_graph)(experiment=paused_graph.experiment,
                                       nodes=[n for n in paused_graph.nodes if n.kind in ("model", "load")]), paused)
    store.begin_attempt("train", train.key)  # in progress: no record yet
    (store.scratch_dir("train", train.key) / "resume-63.safetensors").write_bytes(b"r" * 2000)
    time.sleep(0.01)
    finished_run(store, graph_with_seed(1))  # newer, finished: the one --keep-last 1 keeps
    orphan_leased = store.artifact_dir("evaluate", "c" * 64)
    orphan_leased.mkdir(parents=True)
    lease = lease_path(store.root, "evaluate", "c" * 64)
    lease.parent.mkdir(parents=True, exist_ok=True)
    lease.write_text(json.dumps({"token": "t", "host": "elsewhere", "pid": 1, "run_id": "x"}))

    driver = subprocess.Popen(["sleep", "600"])
    os.kill(driver.pid, signal.SIGSTOP)
    try:
        record = json.loads((store.runs_dir() / paused / "run.json").read_text())
        record["driver"] = {"pid": driver.pid, "hostname": record["driver"]["hostname"]}
        write_json_atomic(store.runs_dir() / paused / "run.json", record)
        write_json_atomic(store.runs_dir() / paused / "heartbeat", {"time": time.time() - 3600})

        garbage = collect(store, keep_last=1)
        assert paused in garbage.live_runs and paused in garbage.kept_runs
        removable = set(garbage.paths)
        used = [store.artifact_dir("train", train.key), store.scratch_dir("train", train.key),
                store.runs_dir() / paused, orphan_leased]
        assert not removable & set(used)
        assert main(["gc", "--store", str(store.root), "--keep-last", "1", "--apply"]) == 1
        assert "is going on" in capsys.readouterr().err
        assert all(path.exists() for path in used)
        assert (store.scratch_dir("train", train.key) / "resume-63.safetensors").exists()
    finally:
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait()
    # Once the driver is gone the run is over: what only it used may go; the leased node stays.
    garbage = collect(store, keep_last=1)
    assert paused not in garbage.kept_runs and store.runs_dir() / paused in garbage.paths
    assert orphan_leased not in garbage.paths


def test_gc_on_a_read_only_store_deletes_nothing_and_says_so_in_one_line(store, capsys, tmp_path):
    import subprocess

    finished_run(store, graph_with_seed(1))
    orphan = store.artifact_dir("evaluate", "f" * 64)
    orphan.mkdir(parents=True)
    (orphan / "predictions.parquet").write_bytes(b"x" * 5000)
    view = tmp_path / "ro"
    view.mkdir()
    if subprocess.run(["mount", "--bind", str(store.root), str(view)], capture_output=True).returncode:
        pytest.skip("cannot bind-mount here: needs root")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(view)], check=True, capture_output=True)
        assert main(["gc", "--store", str(view), "--apply"]) == 1
        captured = capsys.readouterr()
        assert captured.out == "" and len(captured.err.strip().splitlines()) == 1
        assert "not writable" in captured.err and "read-only" in captured.err
        assert (orphan / "predictions.parquet").exists()
    finally:
        subprocess.run(["umount", "-l", str(view)], capture_output=True)
