"""`xexp gc`: find (and, when asked, delete) what no kept run references.

A store only grows: every changed spec, kind version or seed adds node folders, and runs that
nobody looks at any more keep theirs alive. What is kept:

- the kept runs: every run record in `runs/`, or with `keep_last=N` the N latest (by start)
  plus every run whose driver is still alive, judged as leases judge a holder (leases.py): on
  this host by its process (a stopped, Ctrl-Z'd driver is alive), elsewhere by its heartbeat;
- every node that has a lease (someone works on it, or did until it died: only `xexp run`
  clears a lease), with its scratch folder;
- every node in the graph of a kept run, and, following completion records, every node such a
  node read (`inputs`) or shares weights with (the `shared_from` of a training's manifest,
  see models/shared_weights.py), transitively;
- the scratch folder (resume checkpoints) of every kept node.

Everything else under `<kind>/<key>/` and `scratch/<kind>/<key>/` is garbage, and so are the
run records that are not kept. Folders the store does not know (not a node kind) are never
touched. `collect` only looks; `delete` removes, and refuses while a run is going, because a
run started after the look could be relying on a folder about to go.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from xexp.compiler.spec import NODE_KINDS
from xexp.runtime.engine.completion import CompletionRecord, ManifestError
from xexp.runtime.engine.faults import os_reason
from xexp.runtime.engine.leases import LEASES_DIR, process_alive_here
from xexp.runtime.engine.runs import driver_alive, read_run
from xexp.runtime.engine.store import Store, StoreError, StoreFault
from xexp.runtime.manifests.train import SharedFrom, TrainManifest


class GcRefused(StoreError):
    """Deleting now could remove something a live run needs: `gc --apply` while a run goes on
    or a node is leased. What to do: wait for the run to end (or stop it), then gc again."""


@dataclass
class Garbage:
    kept_runs: list[str]
    live_runs: list[str]
    kept_nodes: int
    nodes: list[tuple[str, str, Path]] = field(default_factory=list)  # (kind, key, folder)
    scratch: list[Path] = field(default_factory=list)
    runs: list[Path] = field(default_factory=list)
    sizes: dict[Path, int] = field(default_factory=dict)

    @property
    def paths(self) -> list[Path]:
        return [path for *_, path in self.nodes] + self.scratch + self.runs

    @property
    def total_bytes(self) -> int:
        return sum(self.sizes.values())


def collect(store: Store, *, keep_last: int | None = None) -> Garbage:
    """What `delete` would remove, with sizes; nothing is changed."""
    runs = _runs(store)
    live = _live(store, runs)
    kept = [run_id for run_id, _ in runs] if keep_last is None else \
        sorted({run_id for run_id, _ in runs[-keep_last:] if keep_last > 0} | set(live))
    records = dict(runs)
    roots = {(node["kind"], node["key"]) for run_id in kept
             for node in (records[run_id].get("graph") or {}).get("nodes", [])} | _leased(store)
    alive = _references(store, roots)
    garbage = Garbage(kept_runs=kept, live_runs=live, kept_nodes=len(alive))
    for kind in NODE_KINDS:
        for folder in _children(store.root / kind):
            if (kind, folder.name) not in alive:
                garbage.nodes.append((kind, folder.name, folder))
        for folder in _children(store.root / "scratch" / kind):
            if (kind, folder.name) not in alive:
                garbage.scratch.append(folder)
    garbage.runs = [store.runs_dir() / run_id for run_id, _ in runs if run_id not in kept]
    garbage.sizes = {path: _size(path) for path in garbage.paths}
    return garbage


def delete(store: Store, garbage: Garbage) -> int:
    """Remove `garbage` (as found by `collect`); returns the bytes freed.

    A store that takes no write is refused before anything is touched; a folder that cannot be
    removed stops the deletion with one line saying what was removed before it (``StoreFault``).
    """
    live = _live(store, _runs(store))
    if live:
        raise GcRefused(f"run {', '.join(live)} is going on in {store.root}; run gc when no run is")
    leased = _leased(store) & {(kind, key) for kind, key, _ in garbage.nodes}
    if leased:  # taken since `collect` looked
        raise GcRefused(f"{len(leased)} node(s) to remove are being worked on now; run gc again")
    if garbage.paths:
        store.check_writable()
    freed = 0
    for done, path in enumerate(garbage.paths):
        try:
            shutil.rmtree(path)
        except FileNotFoundError:
            pass  # removed meanwhile: nothing left to free
        except OSError as error:
            raise StoreFault(f"cannot remove {path.relative_to(store.root)}: {os_reason(error)}; removed "
                             f"{done} of {len(garbage.paths)} folders ({_human(freed)}) before it") from None
        freed += garbage.sizes.get(path, 0)
    return freed


def describe(store: Store, garbage: Garbage, *, applied: bool) -> str:
    """The human summary: one line per folder, then the total."""
    verb = "removed" if applied else "would remove"
    lines = []
    for kind, key, path in garbage.nodes:
        record = store.read_record(kind, key)
        name = record.name if record else ("(incomplete)" if not (path / "_complete.json").exists() else "")
        lines.append(f"{verb} {kind}/{key[:12]} {name} {_human(garbage.sizes[path])}")
    lines += [f"{verb} scratch/{p.parent.name}/{p.name[:12]} {_human(garbage.sizes[p])}" for p in garbage.scratch]
    lines += [f"{verb} run record {p.name} {_human(garbage.sizes[p])}" for p in garbage.runs]
    total = (f"{'freed' if applied else 'would free'} {_human(garbage.total_bytes)} in "
             f"{_count(len(garbage.nodes), 'node folder')}, {_count(len(garbage.scratch), 'scratch folder')} and "
             f"{_count(len(garbage.runs), 'run record')}; keeping {_count(len(garbage.kept_runs), 'run')} and their "
             f"{_count(garbage.kept_nodes, 'node')}")
    if not applied and garbage.paths:
        total += " (dry run: add --apply to delete)"
    return "\n".join([*lines, total])


def _count(n: int, noun: str) -> str:
    """`1 run record`, `2 run records`."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _runs(store: Store) -> list[tuple[str, dict]]:
    """Every readable run record, oldest first."""
    runs = []
    for folder in _children(store.runs_dir()):
        try:
            record = read_run(store, folder.name)
        except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
            continue  # not a run record (or a torn one): neither kept nor removed
        runs.append((folder.name, record))
    return sorted(runs, key=lambda item: (item[1].get("started") or 0, item[0]))


def _live(store: Store, runs: list[tuple[str, dict]]) -> list[str]:
    """Runs still going: marked running and with a driver alive (a killed one is not).

    As a lease judges its holder: a driver on this host is alive while its process is, even
    stopped (SIGSTOP, Ctrl-Z: its heartbeat is silent, it is not done); one on another host
    while its heartbeat is fresh."""
    live = []
    for run_id, record in runs:
        if record.get("status") != "running":
            continue
        here = process_alive_here(record.get("driver") or {})
        if here or (here is None and driver_alive(store, run_id, record)[0]):
            live.append(run_id)
    return live


def _leased(store: Store) -> set[tuple[str, str]]:
    """Nodes with a lease file: never removed, whatever the runs say."""
    leased = set()
    for kind in NODE_KINDS:
        try:
            names = [p.name for p in (store.root / LEASES_DIR / kind).iterdir()]
        except (FileNotFoundError, NotADirectoryError):
            continue
        leased |= {(kind, name.removesuffix(".lease")) for name in names if name.endswith(".lease")}
    return leased


def _references(store: Store, roots: set[tuple[str, str]]) -> set[tuple[str, str]]:
    alive, todo = set(), list(roots)
    while todo:
        kind, key = todo.pop()
        if (kind, key) in alive:
            continue
        alive.add((kind, key))
        record = store.read_record(kind, key)
        if record is None:
            continue
        for ref in record.inputs.values():
            todo.append((ref.kind, ref.key))
        for shared in _shared_from(record) if kind == "train" else []:
            todo.append((shared.kind, shared.key))
    return alive


def _shared_from(record: CompletionRecord) -> list[SharedFrom]:
    """The nodes a training's checkpoint reads tensors from. A manifest that does not read is an
    altered training, which no consumer loads (provenance refuses it and its producer runs
    again), so what it claims to share keeps nothing."""
    try:
        return TrainManifest.read(record.manifest, f"train/{record.key[:10]}").shared_from
    except ManifestError:
        return []


def _children(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_dir() and not p.is_symlink())
    except (FileNotFoundError, NotADirectoryError):
        return []


def _size(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _human(size: int) -> str:
    scaled = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if scaled < 1024 or unit == "GiB":
            return f"{scaled:.0f} {unit}" if unit == "B" else f"{scaled:.1f} {unit}"
        scaled /= 1024
    return f"{scaled} B"
