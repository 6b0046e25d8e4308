"""The store and the run records on real files (no Ray needed)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xexp.compiler.graph.node import Graph, Node
from xexp.errors import Category
from xexp.runtime.engine import runs, store as store_module
from xexp.runtime.engine.worker import execute_node
from xexp.runtime.engine.runs import RunLog, create_run, new_run_id
from xexp.runtime.engine.store import Store, StoreError

HERE = Path(__file__).resolve().parent


def make_node(value: str = "v") -> Node:
    return Node.make("load", f"load:{value}", {"value": value})


def finish(store: Store, node: Node, files: dict[str, bytes]) -> dict:
    """Write `files` as the node's artifacts and complete it; the record as written to disk."""
    store.begin_attempt(node.kind, node.key)
    for relative, data in files.items():
        path = store.artifact_dir(node.kind, node.key) / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return store.write_record(node, manifest={"rows": 3}, inputs={}, started=1.0, ended=2.5,
                              attempt=1, run_id="r", ray_node_id=None).to_json()


def test_record_lists_every_artifact_with_size_and_sha(tmp_path):
    store = Store(tmp_path)
    node = make_node()
    record = finish(store, node, {"data.parquet": b"abc", "nested/x.bin": b"12345"})
    on_disk = json.loads(store.record_path(node.kind, node.key).read_text())
    assert on_disk == record
    assert record["files"] == [
        {"path": "data.parquet", "size": 3, "sha256": hashlib.sha256(b"abc").hexdigest()},
        {"path": "nested/x.bin", "size": 5, "sha256": hashlib.sha256(b"12345").hexdigest()},
    ]
    assert record["timings"] == {"start": 1.0, "end": 2.5, "seconds": 1.5}
    assert record["key"] == node.key and record["params"] == {"value": "v"}
    assert record["manifest"] == {"rows": 3} and record["xexp_version"] != "unknown"
    assert not list(store.artifact_dir(node.kind, node.key).glob(".*tmp"))  # no temp file left
    assert store.verify(node.kind, node.key) == []


#: A completion record as the store has always written it (sorted keys, indent 1).
RECORD_ON_DISK = {
    "attempt": 2, "files": [{"path": "data.parquet", "sha256": "ab" * 32, "size": 3}],
    "hostname": "h", "inputs": {"source": {"key": "k" * 64, "kind": "model"}}, "key": "0" * 64,
    "kind": "load", "manifest": {"rows": 3}, "name": "load:v", "params": {"value": "v"},
    "ray_node_id": None, "run_id": "r1", "timings": {"end": 2.5, "seconds": 1.5, "start": 1.0},
    "version": 1, "xexp_version": "0.1.0",
}


def test_a_record_written_before_the_model_reads_back_typed_and_writes_the_same_json(tmp_path):
    store = Store(tmp_path)
    path = store.record_path("load", "0" * 64)
    path.parent.mkdir(parents=True)
    path.write_bytes(json.dumps(RECORD_ON_DISK, indent=1, sort_keys=True).encode())
    record = store.read_record("load", "0" * 64)
    assert record.timings.end == 2.5 and record.inputs["source"].kind == "model"
    assert record.files[0].size == 3 and record.manifest == {"rows": 3}
    assert store_module._json_bytes(record.to_json()) == path.read_bytes()


@pytest.mark.parametrize("damage", [
    lambda r: r.pop("timings"),
    lambda r: r["files"][0].pop("sha256"),
    lambda r: r.update(attempt="second"),
])
def test_a_record_that_is_not_a_valid_record_counts_as_none_and_the_plan_says_why(tmp_path, damage):
    from xexp.runtime.engine.plan import NO_RECORD, plan_status

    store = Store(tmp_path)
    node = make_node()
    finish(store, node, {"data.parquet": b"abc"})
    path = store.record_path(node.kind, node.key)
    record = json.loads(path.read_text())
    damage(record)
    path.write_text(json.dumps(record))
    assert store.read_record(node.kind, node.key) is None
    state, reason = plan_status(Graph(experiment="e", nodes=[node]), store)[node.key]
    assert state == "run" and reason.startswith(NO_RECORD) and f"invalid completion record {path}" in reason
    assert store.verify(node.kind, node.key)[0].startswith("invalid completion record")


def test_verify_names_missing_truncated_and_altered_files(tmp_path):
    store = Store(tmp_path)
    node = make_node()
    finish(store, node, {"a.bin": b"aaaa", "b.bin": b"bbbb", "c.bin": b"cccc"})
    base = store.artifact_dir(node.kind, node.key)
    (base / "a.bin").unlink()
    (base / "b.bin").write_bytes(b"bb")
    (base / "c.bin").write_bytes(b"cccd")
    assert store.verify(node.kind, node.key, hashes=False) == [
        "missing file a.bin", "size mismatch b.bin: 2 bytes, recorded 4"]
    assert store.verify(node.kind, node.key) == [
        "missing file a.bin", "size mismatch b.bin: 2 bytes, recorded 4", "sha256 mismatch c.bin"]
    assert store.verify("load", "0" * 64) == ["no completion record _complete.json"]


def test_sha_cache_is_keyed_by_mtime_and_size(tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * 1000)
    first = store_module.sha256_file(path)
    store_module._sha_cache[(str(path), path.stat().st_mtime_ns, 1000)] = "cached"
    assert store_module.sha256_file(path) == "cached"  # not rehashed
    path.write_bytes(b"y" * 1000)
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000))
    assert store_module.sha256_file(path) == hashlib.sha256(b"y" * 1000).hexdigest() != first


def test_begin_attempt_empties_artifacts_keeps_scratch_and_counts(tmp_path):
    store = Store(tmp_path)
    node = make_node()
    finish(store, node, {"stale.bin": b"old"})
    (store.scratch_dir(node.kind, node.key) / "checkpoint.pt").write_bytes(b"ckpt")
    assert store.begin_attempt(node.kind, node.key) == 2
    assert list(store.artifact_dir(node.kind, node.key).iterdir()) == []
    assert not store.is_done(node.kind, node.key)
    assert (store.scratch_dir(node.kind, node.key) / "checkpoint.pt").read_bytes() == b"ckpt"


def test_urls_local_and_refused(tmp_path, monkeypatch):
    assert Store(f"file://{tmp_path}/s").root == tmp_path / "s"
    assert Store(f"file:{tmp_path}/t").root == tmp_path / "t"  # what Path("file:///…") leaves
    assert Store(f"file://localhost{tmp_path}/u%20v").root == tmp_path / "u v"
    monkeypatch.chdir(tmp_path)
    relative = Store("rel/store")
    assert relative.url == str(tmp_path / "rel" / "store")  # what workers get: absolute
    for url in ("s3://bucket/prefix", "s3:/bucket/prefix", "gs://b/x"):
        with pytest.raises(StoreError, match=r"(s3|gs):// stores are not supported"):
            Store(url)
    with pytest.raises(StoreError, match="on host 'elsewhere' is not supported"):
        Store("file://elsewhere/x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rel", "s", "t", "u v"]  # none for refused URLs
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="exists and is not a directory"):
        Store(tmp_path / "file")


def test_cli_store_urls_land_where_they_point_or_are_refused_in_one_line(tmp_path, monkeypatch, capsys):
    from xexp.cli import main

    spec = tmp_path / "smoke.xexp"
    spec.write_text((HERE.parent / "specs" / "smoke.xexp").read_text())
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["run", str(spec), "--store", f"file://{tmp_path}/url-store", "--dry-run"]) == 0
    assert (tmp_path / "url-store").is_dir() and list(work.iterdir()) == []
    assert main(["plan", str(spec), "--store", f"file://{tmp_path}/url-store", "--json"]) == 0
    capsys.readouterr()
    for command in (["run", str(spec), "--dry-run"], ["plan", str(spec)], ["status"]):
        assert main([*command, "--store", "s3://bucket/x"]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [f"xexp {command[0]}: store 's3://bucket/x': s3:// stores are not supported; "
                       "use a local path, a shared-filesystem path or a file:// URL"]
    assert list(work.iterdir()) == []  # no ./s3:/bucket/x


def test_execute_node_records_failure_with_traceback_and_log(tmp_path):
    store = Store(tmp_path)
    node = Node.make("train", "train:bad", {"behaviour": "raise", "value": 1})
    sys.path.insert(0, str(HERE))
    try:
        with pytest.raises(Exception, match="ValueError: boom in train:bad"):
            execute_node(node.model_dump(mode="json"), store.url, "run1", "scheduler_work:run", {})
    finally:
        sys.path.remove(str(HERE))
    failure = store.read_failure("train", node.key)
    assert failure.error_type == "ValueError" and failure.attempt == 1
    assert failure.category == Category.UNEXPECTED  # not an XexpError: a bug or a library's error
    assert 'raise ValueError(f"boom in {node.name}")' in failure.traceback
    log = store.log_path("train", node.key).read_text()
    assert "behaviour raise" in log and "boom in train:bad" in log
    assert not store.is_done("train", node.key)


def test_a_failure_record_of_an_earlier_version_still_reads(tmp_path):
    """Records written before categories read as unknown (system when the worker died), never
    by their class name; a category this version does not know is unknown; a torn one is none."""
    from xexp.runtime.engine.plan import plan_status

    store = Store(tmp_path)
    node = make_node()
    earlier = {"key": node.key, "kind": "load", "name": node.name, "error_type": "StoreFault",
               "message": "store /s: no space left on device", "traceback": "", "attempt": None,
               "time": 1.0, "hostname": "h", "run_id": "r", "system_failure": False, "log": "log.txt"}
    store.artifact_dir("load", node.key).mkdir(parents=True)
    for written, category in [(earlier, Category.UNKNOWN), ({**earlier, "system_failure": True}, Category.SYSTEM),
                              ({**earlier, "category": "cosmic-rays"}, Category.UNKNOWN)]:
        store_module.write_json_atomic(store.failed_path("load", node.key), written)
        assert store.read_failure("load", node.key).category == category
    reason = plan_status(Graph(experiment="e", nodes=[node]), store)[node.key].reason
    assert reason.endswith("(failed before: StoreFault: store /s: no space left on device)")
    store.failed_path("load", node.key).write_text('{"key": ')
    assert store.read_failure("load", node.key) is None


def test_run_ids_sort_by_time():
    early, late = new_run_id(1_800_000_000), new_run_id(1_800_000_061)
    assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{4}", early)
    assert early < late


def test_run_record_and_status_from_events(tmp_path):
    store = Store(tmp_path)
    a, b, c = make_node("a"), make_node("b"), Node.make("train", "train:c", {"v": 1})
    graph = Graph(experiment="e", nodes=[a, b, c])
    run_id = create_run(store, graph, spec_path="x.xexp", spec_text="experiment e {}")
    assert runs.latest_run_id(store) == run_id
    record = runs.read_run(store, run_id)
    assert record["versions"]["ray"] and record["versions"]["python"] == sys.version.split()[0]
    assert record["driver"]["pid"] == os.getpid() and record["spec_text"] == "experiment e {}"
    log = RunLog(store, run_id)
    log.event("cached", key=a.key, kind="load", name=a.name)
    log.event("queued", key=b.key, kind="load", name=b.name)
    runs.append_event(log.events_path, {"event": "started", "key": b.key, "time": time.time()})
    log.event("queued", key=c.key, kind="train", name=c.name)
    log.event("failed", key=c.key, kind="train", name=c.name, error="ValueError: x")
    summary = runs.status(store)
    assert summary["status"] == "running" and summary["nodes"] == 3
    assert summary["kinds"]["load"]["cached"] == 1 and summary["kinds"]["load"]["running"] == 1
    assert summary["kinds"]["train"]["failed"] == 1
    assert summary["failures"] == [{"key": c.key, "name": "train:c", "kind": "train", "error": "ValueError: x"}]
    log.finish("failed", {"executed": 0})
    final = runs.status(store, run_id)
    assert final["status"] == "failed" and final["ended"] is not None


def test_a_run_whose_driver_died_is_interrupted(tmp_path):
    store = Store(tmp_path)
    graph = Graph(experiment="e", nodes=[make_node()])
    run_id = create_run(store, graph)
    RunLog(store, run_id).close()
    assert runs.status(store, run_id)["status"] == "running"  # we are the driver: alive
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    record = runs.read_run(store, run_id)
    record["driver"]["pid"] = dead.pid
    store_module.write_json_atomic(runs.run_dir(store, run_id) / "run.json", record)
    assert runs.status(store, run_id)["status"] == "interrupted"


def test_versions_are_read_without_importing_torch(tmp_path):
    code = ("import sys; from xexp.runtime.engine.runs import package_versions; v = package_versions(); "
            "assert v['torch'] and v['transformers'] and v['datasets'], v; "
            "assert 'torch' not in sys.modules and 'ray' not in sys.modules, 'imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_fault_message_names_an_os_error_raised_without_an_errno():
    """Python code may raise OSError("...") with no errno: the one line still says what."""
    from xexp.runtime.engine.faults import fault_message

    assert fault_message(Path("/s"), OSError("Disk Gone")) == "store /s: disk gone"
    assert fault_message(Path("/s"), OSError(28, "No space left on device")).startswith("store /s: no space")
