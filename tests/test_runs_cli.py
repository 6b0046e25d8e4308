"""Finding runs (issue 30): `xexp runs`, `gc`/`status` given a spec file, a fetch that stays out
of "latest", an interrupted run's nodes reading "interrupted", an unknown run id naming the
runs there are. Run records are written through the store's own API (runtime/engine/runs.py); no node
work is needed to list them."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from xexp.cli import main
from xexp.compiler import compile_text
from xexp.runtime.engine.runs import RunLog, create_run, latest_run_id, read_events, run_dir
from xexp.runtime.engine.store import Store

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "specs" / "smoke.xexp"


@pytest.fixture
def spec_store(tmp_path):
    """A copy of the smoke spec with its store beside it (.xexp/): an earlier run that
    succeeded, a fetch after it, and a later one whose driver was interrupted."""
    spec = tmp_path / "smoke.xexp"
    shutil.copy(SMOKE, spec)
    _, graph = compile_text(spec.read_text(), str(spec), {})
    store = Store(tmp_path / ".xexp")
    done = create_run(store, graph, spec_path=str(spec), run_id="20261201-100000-aaaa")
    log = RunLog(store, done)
    for node in graph.nodes:
        log.event("finished", key=node.key)
    log.finish("succeeded", {})
    interrupted = create_run(store, graph, spec_path=str(spec), run_id="20261202-100000-bbbb")
    log = RunLog(store, interrupted)
    train = next(n for n in graph.nodes if n.kind == "train")
    log.event("started", key=train.key)
    log.event("interrupted")
    log.finish("interrupted", None)
    fetch_graph = graph.model_copy(update={"nodes": [n for n in graph.nodes if n.kind in ("model", "load")]})
    fetched = create_run(store, fetch_graph, spec_path=str(spec), run_id="20261203-100000-cccc",
                         latest=False, only=("model", "load"))
    RunLog(store, fetched).finish("succeeded", {})
    return {"spec": spec, "store": store, "graph": graph, "train": train}


def test_runs_lists_the_runs_of_a_spec_newest_first(spec_store, capsys, monkeypatch):
    monkeypatch.chdir(spec_store["spec"].parent.parent)  # not where the store is: the spec says
    assert main(["runs", str(spec_store["spec"])]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["run", "experiment", "status", "nodes", "wall", "spec"]
    ids = [line.split()[0] for line in lines[1:4]]
    assert ids == ["20261203-100000-cccc", "20261202-100000-bbbb", "20261201-100000-aaaa"]
    total = len(spec_store["graph"].nodes)
    fetch, interrupted, done = lines[1:4]
    assert "(only model,load)" in fetch and " * " not in fetch + " "  # a fetch is not the latest run
    assert interrupted.split()[1:4] == ["*", "smoke", "interrupted"]  # the latest run, marked
    assert f"0/{total}" in interrupted and f"{total}/{total}" in done and "succeeded" in done
    assert main(["runs", "--store", str(spec_store["store"].root), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["run_id"] for r in listed] == ids and listed[2]["nodes"] == total


def test_a_fetch_keeps_its_record_out_of_latest(spec_store, capsys):
    assert latest_run_id(spec_store["store"]) == "20261202-100000-bbbb"
    assert main(["status", str(spec_store["spec"])]) == 0
    out = capsys.readouterr().out
    assert out.startswith("run 20261202-100000-bbbb (smoke): interrupted")
    header, train = out.splitlines()[1], next(line for line in out.splitlines() if line.split()[0] == "train")
    assert "interrupted" in header.split() and train.split()[header.split().index("interrupted")] == "1"


def test_an_interrupted_run_says_its_nodes_are_interrupted_not_running(spec_store, capsys):
    assert main(["status", str(spec_store["spec"]), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["status"] == "interrupted"
    assert info["kinds"]["train"]["interrupted"] == 1 and info["totals"]["running"] == 0


def test_a_running_run_whose_driver_died_has_interrupted_nodes(spec_store, capsys):
    store, graph = spec_store["store"], spec_store["graph"]
    run_id = create_run(store, graph, run_id="20261204-100000-dddd")
    record = json.loads((run_dir(store, run_id) / "run.json").read_text())
    record["driver"]["pid"] = 2 ** 22 + 1  # no such process on this host: the driver is gone
    (run_dir(store, run_id) / "run.json").write_text(json.dumps(record))
    log = RunLog(store, run_id)
    log.event("started", key=spec_store["train"].key)
    log.close()
    assert main(["status", "--store", str(store.root), run_id, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["status"] == "interrupted" and info["totals"]["interrupted"] == 1


def test_an_unknown_run_id_names_the_runs_there_are(spec_store, capsys):
    assert main(["status", "--store", str(spec_store["store"].root), "20990101-000000-ffff"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no run '20990101-000000-ffff'" in err
    assert "20261203-100000-cccc, 20261202-100000-bbbb, 20261201-100000-aaaa" in err and "xexp runs" in err


def test_gc_takes_a_spec_file_and_a_missing_store_is_one_line(spec_store, capsys, monkeypatch):
    assert main(["gc", str(spec_store["spec"])]) == 0
    out = capsys.readouterr().out
    assert "keeping 3 runs" in out and "0 run records" in out  # the spec's store, not ./.xexp
    monkeypatch.chdir(spec_store["spec"].parent.parent)
    assert main(["gc"]) == 1  # no ./.xexp here: not "would free 0 B … keeping 0 runs"
    err = capsys.readouterr().err
    assert err.startswith("xexp gc: no store at") and "--store" in err
    assert main(["gc", "not-a-spec"]) == 2
    assert "is not a spec file" in capsys.readouterr().err


def test_run_records_the_nodes_it_runs_when_cut_to_some_kinds(spec_store):
    """`--only model,load` (as `xexp fetch` runs) records the nodes it runs, so its status is not
    "succeeded" with the rest of the spec pending."""
    store = spec_store["store"]
    record = json.loads((run_dir(store, "20261203-100000-cccc") / "run.json").read_text())
    assert {n["kind"] for n in record["graph"]["nodes"]} == {"model", "load"}
    assert record["only"] == ["model", "load"]
    assert read_events(run_dir(store, "20261203-100000-cccc") / "events.jsonl")[0] == []
    assert time.time() > record["started"]
