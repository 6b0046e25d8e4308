"""The progress display reports what long-running nodes are doing between state changes."""

from __future__ import annotations

import io
import json

from xexp.compiler.graph import Graph, Node
from xexp.progress import ProgressDisplay
from xexp.runtime.engine.store import Store


def test_quiet_ticks_print_running_training_progress(tmp_path):
    node = Node.make("train", "train:mnli→xnli/seed1", {"x": 1})
    graph = Graph(experiment="t", nodes=[node])
    store = Store(tmp_path)
    stream = io.StringIO()
    display = ProgressDisplay(graph, stream=stream, live=False, store=store, quiet_s=0.0)
    display({"event": "started", "key": node.key})
    out_dir = store.artifact_dir("train", node.key)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "_progress.json").write_text(json.dumps({"step": 120, "total": 900, "loss": 0.7123}))
    display({"event": "tick"})
    text = stream.getvalue()
    assert "train:mnli→xnli/seed1: step 120/900, loss 0.712" in text
    assert "1 running" in text


def test_ticks_stay_quiet_before_the_interval(tmp_path):
    node = Node.make("train", "train:a/seed1", {"x": 2})
    stream = io.StringIO()
    display = ProgressDisplay(Graph(experiment="t", nodes=[node]), stream=stream, live=False,
                              store=Store(tmp_path), quiet_s=3600.0)
    display({"event": "started", "key": node.key})
    before = stream.getvalue()
    display({"event": "tick"})
    assert stream.getvalue() == before


def test_eta_is_a_lower_bound_while_a_kind_has_no_finished_node(tmp_path):
    a = Node.make("load", "load:a", {"x": 3})
    b = Node.make("train", "train:b", {"x": 4}, {"data": a.key})
    display = ProgressDisplay(Graph(experiment="t", nodes=[a, b]), stream=io.StringIO(), live=False)
    assert display.eta_text() == "?"
    display({"event": "started", "key": a.key})
    display({"event": "finished", "key": a.key, "seconds": 2.0})
    assert display.eta_text() == "?"  # only the training is left, and nothing says how long it takes
    display({"event": "started", "key": b.key})
    display({"event": "finished", "key": b.key, "seconds": 9.0})
    assert display.eta_text() == "0:00"


def test_the_terminal_ui_lives_on_the_cli_side_and_rich_is_declared():
    """The runtime only emits events; rendering them (with rich) is the CLI's job, and rich is
    a dependency of its own, not something another package happens to bring."""
    import ast
    import tomllib
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    importing_rich = set()
    for folder in ("runtime", "xexp"):
        for path in (repo / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                if any(n == "rich" or n.startswith("rich.") for n in names):
                    importing_rich.add(path.relative_to(repo).as_posix())
    assert importing_rich == {"xexp/progress.py"}
    dependencies = tomllib.loads((repo / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(d.split(">")[0].split("=")[0].split("[")[0].strip() == "rich" for d in dependencies)


def test_eta_starts_from_the_measured_times_of_the_kinds_in_the_store(tmp_path):
    """A kind with no finished node in this run is estimated from the times its nodes took
    before (completion records), not left out until its first node ends (the jumping ETA)."""
    store = Store(tmp_path)
    earlier = Node.make("train", "train:earlier", {"x": 5})
    attempt = store.begin_attempt("train", earlier.key)
    store.write_record(earlier, manifest={}, started=100.0, ended=700.0, attempt=attempt, inputs={},
                       run_id="r0", ray_node_id=None)  # a training took 10 minutes
    a = Node.make("load", "load:a", {"x": 6})
    b = Node.make("train", "train:b", {"x": 7}, {"data": a.key})
    c = Node.make("train", "train:c", {"x": 8}, {"data": a.key})
    display = ProgressDisplay(Graph(experiment="t", nodes=[a, b, c]), stream=io.StringIO(), live=False, store=store)
    display({"event": "started", "key": a.key})
    display({"event": "finished", "key": a.key, "seconds": 2.0})
    assert display.eta_text() == "20:00"  # two trainings of 10 minutes, one at a time
    display({"event": "started", "key": b.key})
    display({"event": "finished", "key": b.key, "seconds": 300.0})
    assert display.eta_text() == "5:00"  # this run's own time takes over
