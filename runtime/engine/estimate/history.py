"""What the store has measured: one sample per finished node, for fitting the cost model.

A sample is (kind, model, device, work, seconds): the node's wall time from its completion
record, the work it did (work.py), the base model it ran (found by following its inputs back to
the `model` node) and the device it ran on (the `usage` line its log ends with). Only the
newest `PER_KIND` records of each kind are read, so a store of many studies plans as fast as a
small one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xexp.compiler.graph.kinds import NODE_KINDS, kind_of
from xexp.runtime.engine.estimate.work import Work, is_dev_input, recorded_rows, recorded_work
from xexp.runtime.engine.usage import usage_from_log

#: The newest records of each kind that the fit reads.
PER_KIND = 400


@dataclass(frozen=True)
class Sample:
    kind: str
    model: str | None
    device: str
    work: Work
    seconds: float


def model_label(source: dict[str, Any]) -> str:
    """A model source as plans and fits name it: the hub id, the packaged name, or tiny's shape."""
    kind = source.get("source")
    if kind == "hf":
        return str(source.get("id"))
    if kind == "packaged":
        return f"packaged:{source.get('name')}"
    if kind == "tiny":
        shape = " ".join(f"{k}={source[k]}" for k in ("layers", "hidden", "heads", "intermediate") if k in source)
        return f"tiny({shape})"
    return json.dumps(source, sort_keys=True)


def device_class(device: str | None) -> str:
    """'cpu' or 'gpu': what a node's resources can ask for (the card's name is kept apart)."""
    return "gpu" if device and device.startswith("cuda") else "cpu"


def _usage_device(log: Path) -> str:
    """The device the node's log says it ran on ('cpu' when it says nothing)."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "cpu"
    usage = usage_from_log(text)
    return str(usage.get("device") or "cpu") if isinstance(usage, dict) else "cpu"


def read_samples(root: str | Path) -> list[Sample]:
    """Samples of the store at `root` (an empty list for a store that does not exist yet)."""
    root = Path(root)
    records: dict[str, dict[str, Any]] = {}
    kinds: dict[str, str] = {}
    for kind_dir in sorted(p for p in root.glob("*") if p.is_dir()) if root.is_dir() else []:
        kind = kind_dir.name
        if kind not in NODE_KINDS:  # the store's other folders: scratch, leases, runs
            continue
        found = []
        for record_path in kind_dir.glob("*/_complete.json"):
            try:
                found.append((record_path.stat().st_mtime, record_path))
            except OSError:
                continue
        for _, record_path in sorted(found, reverse=True)[:PER_KIND]:
            try:
                data = json.loads(record_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict) and isinstance(data.get("key"), str):
                records[data["key"]] = data
                kinds[data["key"]] = kind
    models: dict[str, str | None] = {}

    def model_of(key: str, depth: int = 0) -> str | None:
        if key in models:
            return models[key]
        data = records.get(key)
        found: str | None = None
        if data is not None and depth < 64:
            if kinds[key] == "model":
                found = model_label((data.get("params") or {}).get("source") or {})
            else:
                refs = data.get("inputs") or {}
                for role in ("model", "base"):
                    ref = refs.get(role)
                    if isinstance(ref, dict) and isinstance(ref.get("key"), str):
                        found = model_of(ref["key"], depth + 1)
                        break
        models[key] = found
        return found

    samples = []
    for key, data in records.items():
        kind = kinds[key]
        raw = (data.get("timings") or {}).get("seconds")
        if not isinstance(raw, (int, float)):
            continue
        seconds = float(raw)
        work = recorded_work(kind, data.get("params") or {}, data.get("manifest") or {},
                             _dev_rows(data, records, root) if kind == "train" else None)
        device = _usage_device(root / kind / key / "log.txt") if kind in ("train", "evaluate", "attack") else "cpu"
        samples.append(Sample(kind, model_of(key) if kind_of(kind).MODEL_BOUND else None,
                              device, work, seconds))
    return samples


def _dev_rows(data: dict[str, Any], records: dict[str, dict[str, Any]], root: Path) -> float | None:
    """The dev rows a training scored, from its dev inputs' records: among those read, else
    from the store (a dev load older than the newest `PER_KIND` loads); None when none is found."""
    rows = []
    for role, ref in (data.get("inputs") or {}).items():
        if not (is_dev_input(role) and isinstance(ref, dict) and isinstance(ref.get("key"), str)):
            continue
        kind, key = ref.get("kind"), ref["key"]
        record = records.get(key)
        if record is None and kind in NODE_KINDS and key.isalnum():  # a folder of this store only
            record = read_record(root, kind, key)
        if record is not None:
            rows.append(recorded_rows(record.get("manifest") or {}))
    known = [r for r in rows if r is not None]
    return sum(known) if known else None


def read_record(root: Path | None, kind: str, key: str) -> dict[str, Any] | None:
    """Node (kind, key)'s completion record as plain JSON, None when there is none or it cannot be
    read: an estimate rests on what it can read and never fails (the store's typed
    `read_record` validates, which an estimate of a large grid need not pay for)."""
    if root is None:
        return None
    try:
        data = json.loads((root / kind / key / "_complete.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
