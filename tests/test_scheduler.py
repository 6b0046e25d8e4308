"""The Ray scheduler on a real local Ray (2 CPUs, 4 logical GPUs), real files, real work."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scheduler_work import WORK, executions, node, sleepy_graph
from xexp.compiler.graph.node import Graph, Resources
from xexp.errors import Category
from xexp.runtime.engine import runs
from xexp.runtime.engine.usage import usage_from_log
from xexp.progress import ProgressDisplay
from xexp.runtime.engine.runs import new_run_id, read_events, run_dir
from xexp.runtime.engine.plan import plan_status
from xexp.runtime.engine.ray_executor import needs_fresh_worker
from xexp.runtime.engine.scheduler import execute_graph
from xexp.runtime.engine.store import Store

HERE = Path(__file__).resolve().parent


def run(graph: Graph, store: Store, **options):
    return execute_graph(graph, store, run_id=new_run_id(), work=WORK, **options)


def diamond(perturb_value: str = "p1") -> Graph:
    """load ─┬─ perturb ─┐
             ├─ train ───┴─ evaluate1 ─┐
    load2 ───┴───────────── evaluate2 ─┴─ report"""
    load = node("load", "load:en", value="en")
    load2 = node("load", "load:de", value="de")
    perturb = node("perturb", "perturb:typos", {"data": load.key}, value=perturb_value)
    train = node("train", "train:mnli", {"data": load.key}, value="t")
    eval1 = node("evaluate", "evaluate:typos", {"model": train.key, "data": perturb.key}, value="e")
    eval2 = node("evaluate", "evaluate:de", {"model": train.key, "data": load2.key}, value="e")
    report = node("report", "report", {"a": eval1.key, "b": eval2.key}, value="r")
    return Graph(experiment="diamond", nodes=[load, load2, perturb, train, eval1, eval2, report])


def test_second_run_is_cached_and_a_param_change_redoes_only_downstream(ray_local, tmp_path):
    store = Store(tmp_path / "store")
    first = run(diamond(), store)
    assert (first.executed, first.cached, first.failed) == (7, 0, 0), first.summary_line()
    assert first.summary_line() == "7 nodes: 7 executed, 0 cached, 0 failed"

    second = run(diamond(), store)
    assert (second.executed, second.cached) == (0, 7)

    changed = diamond(perturb_value="p2")
    third = run(changed, store)
    names = {n.key: n.name for n in changed.nodes}
    assert sorted(names[k] for k in third.keys("done")) == ["evaluate:typos", "perturb:typos", "report"]
    assert third.cached == 4
    counts = executions(store.root)
    assert sum(counts.values()) == 7 + 3
    assert all(n == 1 for n in counts.values())

    record = store.read_record("report", changed.nodes[-1].key)
    assert record.ray_node_id and record.hostname and record.attempt == 1
    assert {f.path for f in record.files} == {"value.txt", "sub/payload.bin"}
    assert record.inputs["a"].kind == "evaluate"
    assert record.timings.seconds >= 0
    assert (store.log_path("report", record.key)).read_text().count("behaviour value") == 1


def test_plan_status_reasons(ray_local, tmp_path):
    store = Store(tmp_path / "store")
    graph = diamond()
    plan = plan_status(graph, store)
    assert {state for state, _ in plan.values()} == {"run"}
    assert plan[graph.nodes[0].key][1] == "no completion record"
    run(graph, store)
    plan = plan_status(graph, store, force=["train"])
    by_name = {n.name: plan[n.key] for n in graph.nodes}
    assert by_name["train:mnli"] == ("run", "forced")
    assert by_name["evaluate:de"] == ("run", "input train:mnli will run")
    assert by_name["load:de"][0] == "cached" and by_name["load:de"][1].startswith("done at ")
    with pytest.raises(ValueError, match="no kind or node key"):
        plan_status(graph, store, force=["nonsense"])
    forced = run(graph, store, force=[graph.nodes[0].key[:12]])  # load:en by key prefix
    assert forced.executed == 6 and forced.cached == 1  # all but load:de


def test_dead_worker_is_retried_and_the_run_succeeds(ray_local, tmp_path):
    store = Store(tmp_path / "store")
    dying = node("train", "train:dies-once", value="d", behaviour="die_once")
    after = node("evaluate", "evaluate:after", {"model": dying.key}, value="a")
    result = run(Graph(experiment="retry", nodes=[dying, after]), store)
    assert result.ok, result.errors
    assert executions(store.root)[dying.key] == 2
    assert store.read_record("train", dying.key).attempt == 2

    gone = run(Graph(experiment="gone", nodes=[dying]), Store(tmp_path / "fresh"), max_retries=0)
    assert gone.states[dying.key] == "failed"  # no retry left: the driver records a system failure
    assert Store(tmp_path / "fresh").read_failure("train", dying.key).category == Category.SYSTEM


def test_a_node_asking_more_than_the_whole_cluster_fails_as_a_resources_problem(ray_local, tmp_path):
    store = Store(tmp_path / "store")
    greedy = node("train", "train:greedy", value="g", resources=Resources(num_cpus=0, num_gpus=8))
    result = run(Graph(experiment="greedy", nodes=[greedy]), store)
    assert result.states[greedy.key] == "failed" and greedy.key not in executions(store.root)
    failure = store.read_failure("train", greedy.key)
    assert failure.category == Category.RESOURCES and failure.message.splitlines() == [failure.message]
    assert "asks {'GPU': 8.0} but the whole Ray cluster has {'GPU': 4.0}" in failure.message


def test_raising_node_is_recorded_not_retried_and_keep_going_finishes_the_rest(ray_local, tmp_path):
    store = Store(tmp_path / "store")
    root = node("load", "load:ok", value="ok")
    bad = node("train", "train:bad", {"data": root.key}, value="b", behaviour="raise")
    downstream = node("evaluate", "evaluate:blocked", {"model": bad.key}, value="x")
    side = node("train", "train:side", {"data": root.key}, value="s")
    side_eval = node("evaluate", "evaluate:side", {"model": side.key}, value="s")
    graph = Graph(experiment="fail", nodes=[root, bad, downstream, side, side_eval])

    result = run(graph, store, keep_going=True)
    assert result.states[bad.key] == "failed" and result.states[downstream.key] == "blocked"
    assert result.states[side_eval.key] == "done" and result.states[root.key] == "done"
    assert not result.ok and result.summary_line().endswith("1 failed, 1 blocked")
    assert "ValueError: boom in train:bad" in result.errors[bad.key]
    assert executions(store.root)[bad.key] == 1  # application errors are not retried
    failure = store.read_failure("train", bad.key)
    assert failure.error_type == "ValueError" and failure.category == Category.UNEXPECTED
    assert "scheduler_work.py" in failure.traceback and "boom in train:bad" in failure.traceback
    assert "boom in train:bad" in store.log_path("train", bad.key).read_text()
    assert store.read_record("train", bad.key) is None

    summary = runs.status(store, result.run_id)
    assert summary["status"] == "failed"
    assert summary["kinds"]["evaluate"]["blocked"] == 1 and summary["kinds"]["train"]["failed"] == 1
    assert summary["failures"][0]["name"] == "train:bad"


def test_without_keep_going_the_first_failure_stops_new_work(ray_local, tmp_path):
    store = Store(tmp_path / "store")
    # train:bad has the highest critical-path priority, so it is submitted (and run) first
    bad = node("train", "train:bad", value="b", behaviour="raise")
    slow = node("load", "load:slow", value="s", sleep=1.5)
    after_slow = node("evaluate", "evaluate:after-slow", {"data": slow.key}, value="a")
    result = run(Graph(experiment="stop", nodes=[slow, bad, after_slow]), store)
    assert result.states[bad.key] == "failed"
    assert result.states[slow.key] == "done"  # already submitted: it finishes
    assert result.states[after_slow.key] == "pending"
    assert after_slow.key not in executions(store.root)
    assert result.summary_line() == "3 nodes: 1 executed, 0 cached, 1 failed, 1 not run"


def test_logical_gpus_are_never_oversubscribed(ray_local, tmp_path):
    store = Store(tmp_path / "store")
    nodes = [node("train", f"train:{i}", value=i, sleep=1.5, behaviour="interval",
                  resources=Resources(num_cpus=0, num_gpus=1)) for i in range(5)]
    nodes += [node("evaluate", f"evaluate:{i}", value=i, sleep=1.5, behaviour="interval",
                   resources=Resources(num_cpus=0, num_gpus=0.5)) for i in range(6)]
    result = run(Graph(experiment="gpus", nodes=nodes), store)
    assert result.ok, result.errors
    intervals = [store.read_record(n.kind, n.key).manifest for n in nodes]
    assert all(m["cuda_visible_devices"] not in (None, "") for m in intervals)
    points = sorted({m["start"] for m in intervals})
    in_use = [sum(m["gpus"] for m in intervals if m["start"] <= t < m["end"]) for t in points]
    assert max(in_use) <= 4.0, in_use
    assert max(in_use) > 2.0, f"the test saw too little concurrency to mean anything: {in_use}"


def test_every_node_logs_its_peak_memory_and_real_gpu_nodes_get_a_fresh_worker(ray_local, tmp_path):
    store = Store(tmp_path / "store")
    gpu = Resources(num_cpus=0, num_gpus=0.5)
    first = node("evaluate", "evaluate:first", value=1, resources=gpu)
    second = node("load", "load:second", {"model": first.key}, value=2)
    result = run(Graph(experiment="usage", nodes=[first, second]), store)
    assert result.ok, result.errors
    for n in (first, second):
        usage = usage_from_log(store.log_path(n.kind, n.key).read_text(encoding="utf-8"))
        assert usage is not None and usage["device"] == "cpu" and usage["peak_gpu_bytes"] is None
        assert 10 * 2**20 < usage["peak_rss_bytes"] < 8 * 2**30, usage
    # A worker that used a real card keeps its CUDA context, cache and card: never reuse it.
    # The tests' GPUs are logical (no accelerator_type resource): their workers are reused.
    totals = ray_local.cluster_resources()
    assert not needs_fresh_worker(0.5, totals) and not needs_fresh_worker(0, totals)
    real = {**totals, "accelerator_type:H200": 1.0}
    assert needs_fresh_worker(0.5, real) and needs_fresh_worker(1, real)
    assert not needs_fresh_worker(0, real)


def test_truncated_artifact_is_detected_and_its_node_redone(ray_local, tmp_path):
    store = Store(tmp_path / "store")
    load = node("load", "load:en", value="en")
    train = node("train", "train:t", {"data": load.key}, value="t")
    graph = Graph(experiment="truncate", nodes=[load, train])
    assert run(graph, store).executed == 2
    payload = store.artifact_dir("load", load.key) / "sub" / "payload.bin"
    original = payload.read_bytes()
    payload.write_bytes(original[:10])
    plan = plan_status(graph, store)
    assert plan[load.key][0] == "run" and "size mismatch sub/payload.bin" in plan[load.key][1]
    assert plan[train.key] == ("run", "input load:en will run")
    again = run(graph, store)
    assert again.executed == 2 and payload.read_bytes() == original
    events, _ = read_events(run_dir(store, again.run_id) / "events.jsonl")
    recorded = [e for e in events if e["event"] == "invalidated"]
    assert [(e["key"], e["found_by"]) for e in recorded] == [(load.key, "plan")]
    assert recorded[0]["problems"] == ["size mismatch sub/payload.bin: 10 bytes, recorded 1024"]


def test_altered_input_of_same_size_is_caught_by_its_consumer(ray_local, tmp_path):
    store = Store(tmp_path / "store")
    load = node("load", "load:en", value="en")
    train = node("train", "train:t", {"data": load.key}, value="t")
    graph = Graph(experiment="alter", nodes=[load, train])
    run(graph, store)
    value_file = store.artifact_dir("load", load.key) / "value.txt"
    original = value_file.read_text()
    value_file.write_text(original[::-1])  # same size, other bytes: only sha256 can tell
    assert plan_status(graph, store)[load.key][0] == "cached"  # sizes look fine
    result = run(graph, store, force=["train"])
    assert result.ok, result.errors
    assert executions(store.root) == {load.key: 2, train.key: 2}
    assert value_file.read_text() == original
    events, _ = read_events(run_dir(store, result.run_id) / "events.jsonl")
    invalidated = [e for e in events if e["event"] == "invalidated"]
    assert len(invalidated) == 1 and invalidated[0]["key"] == load.key
    assert "sha256 mismatch value.txt" in invalidated[0]["problems"][0]


def test_consumers_in_flight_together_share_one_redo_of_an_altered_input(ray_local, tmp_path):
    store = Store(tmp_path / "store")
    load = node("load", "load:en", value="en")
    consumers = [node("evaluate", f"evaluate:{i}", {"data": load.key}, value=i, sleep=0.3) for i in range(4)]
    report = node("report", "report", {f"c{i}": c.key for i, c in enumerate(consumers)}, value="r")
    graph = Graph(experiment="shared-input", nodes=[load, *consumers, report])
    assert run(graph, store).ok
    value_file = store.artifact_dir("load", load.key) / "value.txt"
    original = value_file.read_text()
    value_file.write_text(original[::-1])  # same size: each consumer's sha256 check finds it
    result = run(graph, store, force=["evaluate"])  # all four consumers verify the input at once
    assert result.ok, result.errors
    assert executions(store.root)[load.key] == 2  # one redo, not one per consumer
    assert value_file.read_text() == original
    events, _ = read_events(run_dir(store, result.run_id) / "events.jsonl")
    assert [e["key"] for e in events if e["event"] == "invalidated"] == [load.key]


def test_a_failed_run_never_publishes_an_earlier_runs_report(ray_local, tmp_path):
    from xexp.running import publish_report

    store = Store(tmp_path / "store")
    graph = diamond()
    first = run(graph, store)
    assert publish_report(store, first.run_id, graph, first.states) is not None
    train, report = graph.nodes[3], graph.nodes[-1]
    (store.root / "_fail").mkdir()
    (store.root / "_fail" / train.key).write_text("")
    second = run(graph, store, force=["train"])
    assert not second.ok and second.states[report.key] == "blocked"
    assert store.is_done("report", report.key)  # the first run's record still stands
    assert publish_report(store, second.run_id, graph, second.states) is None
    assert not (run_dir(store, second.run_id) / "report").exists()


def test_progress_display_follows_a_run_on_stderr_only(ray_local, tmp_path, capsys):
    store = Store(tmp_path / "store")
    graph = diamond()
    run(graph, store, force=())  # everything executed once
    changed = diamond(perturb_value="p9")
    stream = io.StringIO()
    with ProgressDisplay(changed, stream=stream, interval_s=0.0, live=False) as display:
        run(changed, store, progress=display)
    counts = display.counts()
    assert counts["evaluate"]["done"] == 1 and counts["evaluate"]["cached"] == 1
    assert counts["load"]["cached"] == 2 and counts["report"]["done"] == 1
    assert display.eta_seconds() == 0.0
    last = stream.getvalue().strip().splitlines()[-1]
    assert "evaluate 2/2" in last and "report 1/1" in last
    assert capsys.readouterr().out == ""


def test_progress_display_live_table_and_eta():
    graph = diamond()
    stream = io.StringIO()
    load, load2, perturb, train, eval1, eval2, report = graph.nodes
    display = ProgressDisplay(graph, stream=stream, live=True)
    for n in (load, load2, perturb, train):
        display({"event": "cached", "key": n.key})
    for n in (eval1, eval2):
        display({"event": "queued", "key": n.key})
        display({"event": "started", "key": n.key})
    assert display.eta_seconds() is None  # nothing of kind evaluate finished yet
    display({"event": "finished", "key": eval1.key, "seconds": 2.0})
    display({"event": "started", "key": eval1.key})  # a late 'started' must not undo 'finished'
    # evaluate: mean 2.0 s x 1 left / 2 seen running at once; report: no finished node to learn
    # from, so the run's ETA counts only what can be estimated
    assert display.eta_seconds("evaluate") == 1.0 and display.eta_seconds("report") is None
    assert display.eta_seconds() == 1.0
    display({"event": "finished", "key": eval2.key, "seconds": 4.0})
    display({"event": "failed", "key": report.key})
    display.close()
    assert display.counts()["evaluate"] == {"done": 2, "running": 0, "cached": 0, "failed": 0,
                                            "blocked": 0, "pending": 0}
    text = stream.getvalue()
    assert "evaluate" in text and "report" in text and "ETA" in text


def test_kill_9_of_the_driver_loses_only_running_nodes(ray_local, tmp_path):
    address = ray_local.get_runtime_context().gcs_address
    graph = sleepy_graph(leaves=6, sleep=0.8)
    store = Store(tmp_path / "killed")
    run_id = new_run_id()
    env = dict(os.environ, RAY_AUTH_MODE="disabled")
    driver = subprocess.Popen([sys.executable, str(HERE / "scheduler_work.py"), str(store.root), address,
                               run_id, "sleepy"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    leaves = graph.nodes[:-1]
    deadline = time.time() + 90
    while sum(store.is_done(n.kind, n.key) for n in leaves) < 2:
        assert driver.poll() is None, driver.communicate()
        assert time.time() < deadline, "the driver never finished two nodes"
        time.sleep(0.05)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    done_before = {n.key for n in graph.nodes if store.is_done(n.kind, n.key)}
    assert len(done_before) < len(graph.nodes)
    assert runs.status(store, run_id)["status"] == "interrupted"

    resumed = execute_graph(graph, store, run_id=new_run_id(), work=WORK)
    assert resumed.ok, resumed.errors
    assert resumed.cached >= len(done_before)
    counts = executions(store.root)
    assert all(counts[k] == 1 for k in done_before), counts

    clean = Store(tmp_path / "clean")
    assert execute_graph(graph, clean, run_id=new_run_id(), work=WORK).executed == len(graph.nodes)
    for n in graph.nodes:
        killed_files = store.read_record(n.kind, n.key).files
        assert killed_files == clean.read_record(n.kind, n.key).files, n.name
