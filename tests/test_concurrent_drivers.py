"""Several drivers on one store: leases on real files, then three real `xexp run` at once.

The drivers are separate `xexp run` processes joined to the test session's Ray (``--address``):
three embedded Rays at once do not fit the CI machine's two cores, and the leases do not care
which Ray a worker belongs to. bench/concurrent_drivers.py runs the same check with three
embedded Rays (the laptop case) and reports its figures.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xexp.runtime.engine import leases
from xexp.runtime.engine.leases import Lease, LeaseWatch, lease_path, try_acquire
from xexp.runtime.engine.runs import attempts_per_node
from xexp.runtime.engine.store import Store
from xexp.running import run_spec

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "tests" / "specs" / "concurrent_tiny.xexp"
DRIVERS = 3
REPS = int(os.environ.get("XEXP_CONCURRENT_REPS", 1))  # bench/concurrent_drivers.py does 5


# --- leases on real files ---------------------------------------------------------------------
def test_a_lease_is_taken_once_and_released_by_its_holder(tmp_path):
    first = try_acquire(tmp_path, "train", "k1", run_id="run-a")
    assert isinstance(first, Lease)
    second = try_acquire(tmp_path, "train", "k1", run_id="run-b")
    assert isinstance(second, dict) and second["run_id"] == "run-a" and second["pid"] == os.getpid()
    first.release()
    assert not lease_path(tmp_path, "train", "k1").exists()
    third = try_acquire(tmp_path, "train", "k1", run_id="run-b")
    assert isinstance(third, Lease)
    third.release()


def write_lease(path: Path, **owner) -> dict:
    owner = {"token": "t-" + owner.get("run_id", "x"), "since": time.time(), **owner}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(owner))
    return owner


def test_the_lease_of_a_dead_process_on_this_host_is_broken_at_once(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    write_lease(lease_path(tmp_path, "load", "k"), run_id="gone", host=socket.gethostname(), pid=dead.pid)
    lease = try_acquire(tmp_path, "load", "k", run_id="me")
    assert isinstance(lease, Lease) and json.loads(lease.path.read_text())["run_id"] == "me"
    lease.release()


def test_a_process_of_another_user_is_alive_and_ids_that_name_no_process_are_not():
    """Signal 0 to another user's process is refused (PermissionError): it exists all the same,
    so its lease is not broken. Root meets no refusal, so a child that gives up root asks."""
    here = socket.gethostname()
    if os.geteuid() != 0:
        if os.stat("/proc/1").st_uid == os.geteuid():
            pytest.skip("no process of another user to ask about")
        assert leases.process_alive_here({"host": here, "pid": 1}) is True
    else:
        child = os.fork()
        if child == 0:  # pragma: no cover (reported through the exit status)
            try:
                os.setuid(65534)  # nobody
                os._exit(0 if leases.process_alive_here({"host": here, "pid": os.getppid()}) is True else 1)
            except BaseException:
                os._exit(2)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    for pid in (2**40, 0, -1, "not a pid", None):  # beyond a C int, process groups, garbage
        assert leases.process_alive_here({"host": here, "pid": pid}) is False
        assert leases.holder_dead_here({"host": here, "pid": pid})
    assert leases.process_alive_here({"host": "elsewhere", "pid": os.getpid()}) is None


def test_a_lease_from_another_machine_is_broken_only_once_its_heartbeat_stops(tmp_path, monkeypatch):
    """No pid to ask across machines: the watcher waits until the mtime stops moving."""
    path = lease_path(tmp_path, "train", "k")
    write_lease(path, run_id="far", host="another-machine", pid=1)
    assert isinstance(try_acquire(tmp_path, "train", "k", run_id="me"), dict)  # no pid shortcut
    watch = LeaseWatch(path, stale_s=0.6)
    for _ in range(6):  # a live holder: the heartbeat moves, the lease stands however long
        os.utime(path, ns=(time.time_ns(), time.time_ns()))
        assert watch.check() == "held"
        time.sleep(0.2)
    time.sleep(0.7)
    assert watch.check() == "broken" and not path.exists()
    assert watch.check() == "free"


def test_an_empty_lease_left_by_a_holder_that_died_creating_it_goes_stale_too(tmp_path):
    path = lease_path(tmp_path, "load", "k")
    path.parent.mkdir(parents=True)
    path.touch()
    assert isinstance(try_acquire(tmp_path, "load", "k", run_id="me"), dict)
    watch = LeaseWatch(path, stale_s=0.3)
    assert watch.check() == "held"
    time.sleep(0.4)
    assert watch.check() == "broken"
    assert isinstance(try_acquire(tmp_path, "load", "k", run_id="me"), Lease)


def test_breaking_a_stale_lease_never_removes_a_fresh_one(tmp_path):
    path = lease_path(tmp_path, "train", "k")
    stale = write_lease(path, run_id="old", host="another-machine", pid=1)
    fresh = write_lease(path, run_id="new", host="another-machine", pid=2)  # replaced meanwhile
    assert leases.break_stale(path, stale) is False
    assert json.loads(path.read_text())["token"] == fresh["token"]
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no tomb left behind


def test_a_holder_that_lost_its_lease_knows_it(tmp_path):
    lease = try_acquire(tmp_path, "train", "k", run_id="slow")
    assert lease.held()
    assert leases.break_stale(lease.path, lease.owner)  # judged stale by a watcher
    taker = try_acquire(tmp_path, "train", "k", run_id="taker")
    assert not lease.held()
    lease.release()  # must not remove the taker's lease
    assert taker.held()
    taker.release()


# --- three `xexp run` at once ---------------------------------------------------------------
def start_driver(spec: Path, store: Path, address: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "xexp.cli", "run", str(spec), "--store", str(store), "--address", address,
         "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def check_concurrent_store(store: Path, outputs: list[tuple[int, str, str]], reference_csv: bytes,
                           node_count: int) -> None:
    from xexp.runtime.engine.store import Store

    for code, out, err in outputs:
        assert code == 0, err[-3000:]
    summaries = [json.loads(out.strip().splitlines()[-1]) for _, out, _ in outputs]
    assert sum(s["executed"] for s in summaries) == node_count, summaries
    assert all(s["executed"] + s["cached"] == node_count and s["failed"] == 0 for s in summaries)
    started = attempts_per_node(Store(store))
    assert len(started) == node_count and set(started.values()) == {1}, started
    st = Store(store)
    records = [json.loads(p.read_text()) for p in store.glob("*/*/_complete.json")]
    assert len(records) == node_count and {r["attempt"] for r in records} == {1}
    for record in records:
        assert st.verify(record["kind"], record["key"]) == [], record["name"]
    assert not list(store.glob("*/*/_failed.json")) and not list(store.glob("leases/*/*"))
    for summary in summaries:
        assert (Path(summary["report"]) / "results.csv").read_bytes() == reference_csv


@pytest.mark.slow
def test_three_drivers_at_once_run_each_node_exactly_once(ray_local, tmp_path):
    spec = tmp_path / SPEC.name
    shutil.copy(SPEC, spec)
    single = run_spec(spec, store=tmp_path / "single", show_progress=False)
    assert single["failed"] == 0
    reference = (Path(single["report"]) / "results.csv").read_bytes()
    address = ray_local.get_runtime_context().gcs_address
    for rep in range(REPS):
        store = tmp_path / f"shared{rep}"
        drivers = [start_driver(spec, store, address) for _ in range(DRIVERS)]
        outputs = [(*reversed(d.communicate(timeout=300)), d.returncode) for d in drivers]
        outputs = [(code, out, err) for err, out, code in outputs]
        check_concurrent_store(store, outputs, reference, single["nodes"])
