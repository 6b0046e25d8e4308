"""Fencing (runtime/engine/fencing.py): a holder whose lease was taken over while it stalled stops at
its next write, in one line, and writes nothing beside the new holder: no completion record, no
`_failed.json`, no checkpoint. The unit tests take the lease over from inside the work (as a
second driver does once the heartbeat stops); the slow test SIGSTOPs a real training."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xexp.compiler import compile_text
from xexp.runtime.engine import fencing
from xexp.runtime.engine.worker import execute_node
from xexp.runtime.engine.leases import break_stale, lease_path, read_owner, try_acquire
from xexp.runtime.engine.store import Store

SPEC = (Path(__file__).resolve().parent / "specs" / "concurrent_tiny.xexp").read_text()
#: What the new holder put in the node's folder: the old one must leave it alone.
NEW_HOLDERS_FILE = "written-by-B.txt"


def take_over(node, ctx) -> None:
    """What a second driver does to a stalled holder's lease: break it, take it, work."""
    root = ctx.out_dir.parents[1]
    path = lease_path(root, node.kind, node.key)
    assert break_stale(path, read_owner(path))
    new = try_acquire(root, node.kind, node.key, run_id="B")
    assert not isinstance(new, dict)
    (ctx.out_dir / NEW_HOLDERS_FILE).write_text("B")


def stalled_then_crashed(node, ctx):
    take_over(node, ctx)
    raise FileNotFoundError("resume-91.safetensors.g1.tmp")  # B's cleanup removed A's file


def stalled_then_reported_progress(node, ctx):
    take_over(node, ctx)
    ctx.progress({"step": 64})
    raise AssertionError("progress of a fenced holder must stop the work")


def stalled_then_finished(node, ctx):
    take_over(node, ctx)
    return {"done": True}


@pytest.mark.parametrize("work", ["stalled_then_crashed", "stalled_then_reported_progress",
                                  "stalled_then_finished"])
def test_a_holder_that_lost_its_lease_stops_in_one_line_and_writes_nothing(tmp_path, work):
    _, graph = compile_text(SPEC, "tiny.xexp", {})
    node = next(n for n in graph.nodes if n.kind == "model")
    store = Store(tmp_path / "store")
    summary = execute_node(node.model_dump(), store.url, "A", f"test_fencing:{work}", {})
    assert summary["outcome"] == "busy" and summary["owner"]["run_id"] == "B"
    assert "lost to run B" in summary["fenced"] and "\n" not in summary["fenced"]
    folder = store.artifact_dir(node.kind, node.key)
    assert sorted(p.name for p in folder.iterdir()) == ["log.txt", NEW_HOLDERS_FILE]
    assert read_owner(lease_path(store.root, node.kind, node.key))["run_id"] == "B"  # not released by A
    if work != "stalled_then_finished":  # stopped inside the work: its log says so
        assert "stopped: lease generation 1 lost to run B" in (folder / "log.txt").read_text()


def test_each_lease_has_a_new_generation_until_the_node_is_left_alone(tmp_path):
    first = try_acquire(tmp_path, "train", "k", run_id="A")
    assert first.generation == 1 and first.owner["generation"] == 1
    path = lease_path(tmp_path, "train", "k")
    assert break_stale(path, read_owner(path))
    second = try_acquire(tmp_path, "train", "k", run_id="B")
    assert second.generation == 2
    with fencing.holding(first):
        assert fencing.lost()
        with pytest.raises(fencing.LeaseLost, match="generation 1 lost to run B"):
            fencing.check()
    with fencing.holding(second):
        fencing.check()
        assert fencing.generation() == 2
    first.release()  # not A's any more: B's lease stays
    assert read_owner(path)["run_id"] == "B"
    second.release()
    assert not path.exists() and not path.with_suffix(".generation").exists()
    assert try_acquire(tmp_path, "train", "k", run_id="C").generation == 1


LONG = SPEC.replace('synthetic("nli", size=24)', 'synthetic("nli", size=600)').replace(
    "train target { lr=1e-3 batch=8 epochs=1 max_len=32 }",
    "train target { lr=1e-3 batch=2 epochs=3 max_len=32 checkpoint_every=10 }")


def driver(spec: Path, store: Path) -> subprocess.Popen:
    env = {**os.environ, "XEXP_LEASE_STALE_S": "8", "XEXP_LEASE_HEARTBEAT_S": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "xexp.cli", "run", str(spec), "--store", str(store),
                             "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_a_sigstopped_holder_resumed_after_a_takeover_leaves_one_record_and_no_failure(tmp_path):
    spec = tmp_path / "long.xexp"
    spec.write_text(LONG)
    store = tmp_path / "store"
    _, graph = compile_text(LONG, str(spec), {})
    train = next(n for n in graph.nodes if n.kind == "train")
    lease = lease_path(store, "train", train.key)
    progress = store / "train" / train.key / "_progress.json"

    a = driver(spec, store)
    wait_for(lambda: progress.exists() and json.loads(progress.read_text()).get("step", 0) >= 20,
             600, "driver A's training to pass step 20")
    worker = read_owner(lease)["pid"]
    stopped = [worker, a.pid]
    for pid in stopped:
        os.kill(pid, signal.SIGSTOP)
    try:
        b = driver(spec, store)
        wait_for(lambda: (read_owner(lease) or {}).get("pid") not in (None, worker), 300,
                 "driver B to take the training over")
        time.sleep(3)  # B resumes from A's checkpoint and writes its own
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)
    out_b, err_b = b.communicate(timeout=600)
    out_a, err_a = a.communicate(timeout=600)
    assert b.returncode == 0, err_b[-3000:]
    assert a.returncode == 0, err_a[-3000:]
    assert "Traceback" not in err_a and "Traceback" not in err_b
    lost = [line for line in err_a.splitlines() if "lost to run" in line]
    assert len(lost) == 1, err_a[-3000:]
    folder = store / "train" / train.key
    assert (folder / "_complete.json").exists() and not (folder / "_failed.json").exists()
    assert not list(store.glob("*/*/_failed.json"))
    record = json.loads((folder / "_complete.json").read_text())
    assert record["run_id"] == json.loads(out_b.strip().splitlines()[-1])["run_id"]
    assert Store(store).verify("train", train.key) == []


def test_a_stalled_but_alive_holder_is_not_called_dead(tmp_path):
    """The driver's line when it breaks a lease says what it knows: a silent heartbeat."""
    import subprocess

    from xexp.runtime.engine.leases import LeaseWatch

    stopped = subprocess.Popen(["sleep", "600"])
    os.kill(stopped.pid, signal.SIGSTOP)
    try:
        path = lease_path(tmp_path, "train", "k")
        path.parent.mkdir(parents=True)
        import socket

        path.write_text(json.dumps({"token": "t", "run_id": "A", "host": socket.gethostname(),
                                    "pid": stopped.pid}))
        watch = LeaseWatch(path, stale_s=0.2)
        assert watch.check() == "held"
        time.sleep(0.3)
        assert watch.check() == "broken"
        assert "heartbeat stopped" in watch.reason and "dead or stalled" in watch.reason
        assert "whose process is gone" not in watch.reason
    finally:
        os.kill(stopped.pid, signal.SIGKILL)
        stopped.wait()
