"""A store that fills up or turns read-only: one line, no debris, the run marked failed, and a
rerun once the fault is gone finishes with the same results.

The faults are real filesystems: a 300 KiB tmpfs fills up during the run (the tiny study needs
about 700 KiB), and a read-only bind mount of the finished store. Both need root (mount); the
tests are skipped where mounting is not allowed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from xexp.cli import main
from xexp.compiler.graph.node import Graph, Node
from xexp.errors import Category
from xexp.runtime.engine import runs
from xexp.runtime.engine.scheduler import execute_graph
from xexp.runtime.engine.store import Store
from xexp.running import run_spec

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "tests" / "specs" / "concurrent_tiny.xexp"


def mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount here ({done.stderr.strip()}): needs root")


@pytest.fixture
def mounts():
    """Mount points to unmount afterwards, newest first."""
    points: list[Path] = []
    yield points
    for point in reversed(points):
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def read_only_view(source: Path, target: Path, mounts: list[Path]) -> Path:
    target.mkdir()
    mount("--bind", str(source), str(target))
    mounts.append(target)
    mount("-o", "remount,bind,ro", str(target))
    return target


@pytest.mark.slow
def test_a_full_store_fails_the_run_in_one_line_and_a_rerun_finishes_it(ray_local, tmp_path, mounts, capsys):
    spec = tmp_path / SPEC.name
    shutil.copy(SPEC, spec)
    small = tmp_path / "small"
    small.mkdir()
    mount("-t", "tmpfs", "-o", "size=300k", "tmpfs", str(small))
    mounts.append(small)
    store = small / "store"

    assert main(["run", str(spec), "--store", str(store)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    failed = [line for line in err.splitlines() if line.startswith("FAILED ")]
    assert len(failed) == 1, err
    assert re.fullmatch(rf"FAILED \S+: StoreFault: store {re.escape(str(store))}: no space left on device.*",
                        failed[0]), failed[0]
    recorded = [Store(store).read_failure(p.parent.parent.name, p.parent.name) for p in store.glob("*/*/_failed.json")]
    assert [f.category for f in recorded] == [Category.STORE]
    assert [p for p in store.rglob("*") if p.name.endswith(".tmp")] == []
    assert runs.status(Store(store))["status"] == "failed"

    reference = run_spec(spec, store=tmp_path / "reference", show_progress=False)
    expected = (Path(reference["report"]) / "results.csv").read_bytes()
    subprocess.run(["mount", "-o", "remount,size=64m", str(small)], check=True)
    rerun = run_spec(spec, store=store, show_progress=False)  # the fault is gone
    assert rerun["failed"] == 0 and rerun["cached"] > 0  # what was done before the fault is kept
    assert (Path(rerun["report"]) / "results.csv").read_bytes() == expected

    frozen = read_only_view(store, tmp_path / "frozen", mounts)
    capsys.readouterr()
    assert main(["run", str(spec), "--store", str(frozen)]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        f"xexp run: store {frozen} is not writable: read-only file system"]


def fill_the_store(node, ctx) -> dict:
    """Work that writes more than the 256 KiB store of the test below holds."""
    (ctx.out_dir / "big.bin").write_bytes(b"\0" * (1 << 20))
    return {}


def test_a_node_that_fills_the_store_is_a_store_failure_and_stops_even_a_keep_going_run(tmp_path, mounts):
    """The failure's category, not its message, decides: a store failure ends the run."""
    small = tmp_path / "small"
    small.mkdir()
    mount("-t", "tmpfs", "-o", "size=256k", "tmpfs", str(small))
    mounts.append(small)
    store = Store(small / "store")
    first, second = (Node.make("load", f"load:{n}", {"n": n}) for n in (1, 2))
    result = execute_graph(Graph(experiment="full", nodes=[first, second]), store, run_id=runs.new_run_id(),
                           work="test_store_faults:fill_the_store", keep_going=True, executor="local", estimates={})
    assert result.states == {first.key: "failed", second.key: "pending"}
    failure = store.read_failure("load", first.key)
    assert failure.category == Category.STORE and failure.error_type == "StoreFault"
    assert failure.message.splitlines() == [failure.message]
    assert failure.message.startswith(f"store {store.root}: no space left on device")
    events = (runs.run_dir(store, result.run_id) / "events.jsonl").read_text().splitlines()
    assert [json.loads(e)["category"] for e in events if json.loads(e)["event"] == "failed"] == ["store"]


def test_a_read_only_store_that_does_not_exist_yet_is_refused_in_one_line(tmp_path, mounts, capsys):
    source = tmp_path / "source"
    source.mkdir()
    frozen = read_only_view(source, tmp_path / "frozen", mounts)
    spec = tmp_path / SPEC.name
    shutil.copy(SPEC, spec)
    assert main(["run", str(spec), "--store", str(frozen / "new")]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        f"xexp run: store {frozen / 'new'} cannot be created: read-only file system"]
    assert main(["plan", str(spec), "--store", str(frozen)]) == 0  # reading still works
