"""Run records: what a run was asked to do, what happened, and whether its driver is still alive.

``<store>/runs/<run_id>/run.json``      spec, graph, versions, driver pid/host, start/end, status
``<store>/runs/<run_id>/events.jsonl``  append-only: queued/started/finished/failed/cached/...
``<store>/runs/<run_id>/heartbeat``     the driver's last sign of life (rewritten every few s)
``<store>/runs/latest``                 the id of the last run started (not a fetch: its record
                                        is kept, but `status`, `report` and `gc` mean the run)

``RunResult`` is what ``execute_graph`` returns about the run it just did.

Events are single ``write`` calls on an ``O_APPEND`` descriptor, so the driver and local workers
can append to the same file without tearing lines; ``status`` reads these files only, so it works
while a run is going and after its driver was killed.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from collections import Counter
from pathlib import Path
from typing import Any

from xexp.compiler.graph.node import Graph
from xexp.runtime.engine.faults import fault_message, remove_temp_files, store_fault
from xexp.runtime.engine.leases import process_alive_here
from xexp.runtime.engine.states import EVENT_STATES, INTERRUPTED_FROM, NODE_STATES, NodeState
from xexp.runtime.engine.store import Store, StoreError, StoreFault, rewrite_json_in_place, write_json_atomic

HEARTBEAT_INTERVAL_S = 3.0
#: Spare bytes in run.json, so a run can still be marked failed on a store that filled up.
RUN_RECORD_ROOM = 4096
#: A running run whose heartbeat is older than this is reported as interrupted.
HEARTBEAT_STALE_S = 30.0
_VERSIONED = ("xexp", "torch", "transformers", "ray", "datasets")


def new_run_id(now: float | None = None) -> str:
    """Time-sortable and unique enough: ``20261125-123456-ab12``."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if now is None else now))
    return f"{stamp}-{secrets.token_hex(2)}"


def package_versions() -> dict[str, str | None]:
    """Installed versions, read from metadata (importing torch only to ask would cost seconds)."""
    versions: dict[str, str | None] = {"python": sys.version.split()[0]}
    for name in _VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


class RunNotFound(StoreError, FileNotFoundError):
    """A run id that names no run folder inside this store (``..``, a path, a link out).
    What to do: name a run `xexp runs` lists, or the spec file."""


def run_dir(store: Store, run_id: str) -> Path:
    """``runs/<run_id>``, which must stay inside the store: a run id comes from a RUN argument
    or from ``runs/latest``, a file any writer of the store may have planted; either may say
    ``../../outside``, and the report would be written there."""
    runs = store.runs_dir()
    if (not isinstance(run_id, str) or not run_id or run_id in (".", "..")
            or any(c in run_id for c in "/\\\0")):
        raise RunNotFound(f"{run_id!r} is not a run id of store {store.root} (a run id is one folder "
                          "name under runs/)")
    path = runs / run_id
    if path.is_symlink() or not path.resolve().is_relative_to(runs.resolve()):
        raise RunNotFound(f"run {run_id!r} of store {store.root} leads outside the store")
    return path


def create_run(store: Store, graph: Graph, *, spec_path: str | None = None,
               spec_text: str | None = None, run_id: str | None = None, latest: bool = True,
               only: tuple[str, ...] = ()) -> str:
    """Write ``run.json`` for a new run, point ``runs/latest`` at it (unless `latest` is off, as
    for `xexp fetch`) and return its id. `only`: the kinds a partial run was cut to."""
    run_id = run_id or new_run_id()
    directory = run_dir(store, run_id)
    try:
        _write_run(store, directory, graph, run_id, spec_path, spec_text, latest, only)
    except OSError as error:
        fault = store_fault(error, store.root)
        if fault is None:
            raise
        remove_temp_files(directory)
        raise StoreFault(fault_message(store.root, fault)) from None
    return run_id


def _write_run(store: Store, directory: Path, graph: Graph, run_id: str, spec_path: str | None,
               spec_text: str | None, latest: bool = True, only: tuple[str, ...] = ()) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    record = {
        "run_id": run_id,
        "experiment": graph.experiment,
        "spec_path": spec_path,
        "spec_text": spec_text,
        "graph": graph.model_dump(mode="json"),
        "started": time.time(),
        "ended": None,
        "status": "running",
        "driver": {"pid": os.getpid(), "hostname": socket.gethostname()},
        "versions": package_versions(),
        "summary": None,
        **({"only": list(only)} if only else {}),
    }
    write_json_atomic(directory / "run.json", record, room=RUN_RECORD_ROOM)
    (directory / "events.jsonl").touch()
    if latest:
        write_json_atomic(store.runs_dir() / "latest", run_id)


def read_run(store: Store, run_id: str) -> dict:
    path = run_dir(store, run_id) / "run.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        known = sorted((q.parent.name for q in store.runs_dir().glob("*/run.json")), reverse=True)
        listed = (f"; its runs, newest first: {', '.join(known[:5])}{' …' if len(known) > 5 else ''} "
                  f"(xexp runs --store {store.root})") if known else "; it has no runs"
        raise FileNotFoundError(f"no run {run_id!r} in store {store.root}{listed}") from None


def latest_run_id(store: Store) -> str | None:
    try:
        return json.loads((store.runs_dir() / "latest").read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def append_event(path: Path, event: dict) -> None:
    """One line, one ``write``: safe to call from several processes on one filesystem."""
    line = (json.dumps(event, default=str, separators=(",", ":")) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def attempts_per_node(store: Store) -> Counter:
    """How often each node began an attempt, over every run the store holds ("started" events):
    what tells a node that ran twice, e.g. under two drivers at once."""
    counts: Counter = Counter()
    for events in store.runs_dir().glob("*/events.jsonl"):
        for event in read_events(events)[0]:
            if event.get("event") == "started":
                counts[event["key"]] += 1
    return counts


def read_events(path: Path, offset: int = 0) -> tuple[list[dict], int]:
    """Complete event lines from ``offset`` on, and the offset after the last complete line."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n") + 1
    events = []
    for line in data[:end].splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line torn by a crash mid-write: skip it, keep the rest
    return events, offset + end


class RunLog:
    """The driver's side of a run record: events, heartbeat, final status."""

    def __init__(self, store: Store, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self.dir = run_dir(store, run_id)
        self.events_path = self.dir / "events.jsonl"
        self._fd = os.open(self.events_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._last_beat = 0.0
        self.heartbeat(force=True)

    def event(self, event: str, **fields: Any) -> dict:
        """Append an event; on a store that stopped taking writes the run goes on without it
        (the nodes meet the fault themselves and end the run)."""
        record = {"time": time.time(), "event": event, **fields}
        try:
            os.write(self._fd, (json.dumps(record, default=str, separators=(",", ":")) + "\n").encode())
        except OSError as error:
            if store_fault(error, self.store.root) is None:
                raise
        return record

    def heartbeat(self, force: bool = False) -> None:
        now = time.time()
        if force or now - self._last_beat >= HEARTBEAT_INTERVAL_S:
            self._last_beat = now
            try:
                write_json_atomic(self.dir / "heartbeat", {"time": now, "pid": os.getpid()})
            except OSError as error:
                if store_fault(error, self.store.root) is None:
                    raise

    def finish(self, status: str, summary: dict | None = None) -> None:
        """Write the final status; on a full store within the room run.json was given."""
        record = read_run(self.store, self.run_id)
        record.update(status=status, ended=time.time(), summary=summary)
        path = self.dir / "run.json"
        try:
            try:
                write_json_atomic(path, record, room=RUN_RECORD_ROOM)
            except OSError as error:
                if store_fault(error, self.store.root) is None:
                    raise
                rewrite_json_in_place(path, record)
        except OSError as error:
            fault = store_fault(error, self.store.root)
            raise (StoreFault(fault_message(self.store.root, fault)) if fault else error) from None
        finally:
            self.close()
        self.heartbeat(force=True)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def driver_alive(store: Store, run_id: str, record: dict) -> tuple[bool, float | None]:
    """Whether the run's driver still lives, and its heartbeat's age in seconds."""
    try:
        beat = json.loads((run_dir(store, run_id) / "heartbeat").read_text())["time"]
        age = time.time() - beat
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        age = None
    driver = record.get("driver") or {}
    if process_alive_here(driver) is False:
        return False, age
    return (age is not None and age <= HEARTBEAT_STALE_S), age


def status(store: Store, run_id: str | None = None) -> dict:
    """Summary of a run (the latest by default) from its record and events only."""
    run_id = run_id or latest_run_id(store)
    if run_id is None:
        raise FileNotFoundError(f"store {store.root} has no runs yet")
    record = read_run(store, run_id)
    nodes = {n["key"]: n for n in record["graph"]["nodes"]}
    states: dict[str, str] = {key: "pending" for key in nodes}
    errors: dict[str, str] = {}
    events, _ = read_events(run_dir(store, run_id) / "events.jsonl")
    for event in events:
        key = event.get("key")
        if key in states and event.get("event") in EVENT_STATES:
            states[key] = EVENT_STATES[event["event"]]
            if event["event"] == "failed":
                errors[key] = event.get("error", "")
    run_status = record["status"]
    alive, age = driver_alive(store, run_id, record)
    if run_status == "running" and not alive:
        run_status = "interrupted"
    if run_status == "interrupted":  # nothing runs any more: say so, node by node
        states = {k: "interrupted" if s in INTERRUPTED_FROM else s for k, s in states.items()}
    kinds: dict[str, dict[str, int]] = {}
    for key, state in states.items():
        counts = kinds.setdefault(nodes[key]["kind"], {s: 0 for s in NODE_STATES})
        counts[state] += 1
    totals = {s: sum(c[s] for c in kinds.values()) for s in NODE_STATES}
    ended = record.get("ended")
    return {
        "run_id": run_id,
        "experiment": record.get("experiment"),
        "status": run_status,
        "started": record["started"],
        "ended": ended,
        "elapsed_s": round((ended or time.time()) - record["started"], 3),
        "heartbeat_age_s": None if age is None else round(age, 3),
        "driver": record.get("driver"),
        "nodes": len(nodes),
        "kinds": kinds,
        "totals": totals,
        "failures": [{"key": k, "name": nodes[k]["name"], "kind": nodes[k]["kind"], "error": e}
                     for k, e in errors.items() if states[k] == "failed"],
    }


def list_runs(store: Store) -> list[dict[str, Any]]:
    """Every run of the store, newest first: id, experiment, spec, status (a running one whose
    driver is gone reads interrupted), node counts and wall time; `xexp runs` prints them."""
    found = []
    root = store.runs_dir()
    for directory in sorted((p for p in root.iterdir() if p.is_dir()), reverse=True) if root.is_dir() else []:
        try:
            info = status(store, directory.name)
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            continue  # a half-written or foreign folder is not a run
        record = read_run(store, directory.name)
        finished = info["totals"]["done"] + info["totals"]["cached"]
        found.append({"run_id": directory.name, "experiment": info["experiment"],
                      "spec": record.get("spec_path"), "status": info["status"],
                      "only": record.get("only") or [], "nodes": info["nodes"], "finished": finished,
                      "failed": info["totals"]["failed"], "started": info["started"],
                      "wall_s": info["elapsed_s"]})
    return sorted(found, key=lambda r: r["started"], reverse=True)


# --- the outcome of execute_graph ------------------------------------------------------
@dataclass
class RunResult:
    run_id: str
    nodes: int
    #: key -> its state at the end, in the words `xexp status` reads from the events
    #: (runtime/engine/states.py): done (in this run), cached, failed, blocked, or pending (never
    #: started: the run stopped at an earlier failure).
    states: dict[str, NodeState]
    errors: dict[str, str] = field(default_factory=dict)
    wall_seconds: float = 0.0

    def count(self, state: NodeState) -> int:
        return sum(1 for s in self.states.values() if s == state)

    def keys(self, state: NodeState) -> list[str]:
        return [k for k, s in self.states.items() if s == state]

    # The summary's counts keep the names `xexp run --json` and run.json have always printed.
    executed = property(lambda self: self.count("done"))
    cached = property(lambda self: self.count("cached"))
    failed = property(lambda self: self.count("failed"))
    blocked = property(lambda self: self.count("blocked"))
    not_run = property(lambda self: self.count("pending"))  # stopped by an earlier failure

    @property
    def ok(self) -> bool:
        return self.executed + self.cached == self.nodes

    def summary_line(self) -> str:
        line = f"{self.nodes} nodes: {self.executed} executed, {self.cached} cached, {self.failed} failed"
        if self.blocked:
            line += f", {self.blocked} blocked"
        if self.not_run:
            line += f", {self.not_run} not run"
        return line

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "nodes": self.nodes, "executed": self.executed,
                "cached": self.cached, "failed": self.failed, "blocked": self.blocked,
                "not_run": self.not_run, "ok": self.ok, "wall_seconds": round(self.wall_seconds, 3),
                "states": self.states, "errors": self.errors}
