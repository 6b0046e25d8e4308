"""The content-addressed artifact store: the one source of truth about what is done.

Layout under the root::

    <kind>/<key>/                 artifacts of one node, emptied before each attempt
    <kind>/<key>/_complete.json   completion record, written last and atomically: the node is done
    <kind>/<key>/_failed.json     the last failure: its category, type, message, traceback (failures.py)
    <kind>/<key>/log.txt          what the work logged
    scratch/<kind>/<key>/         survives failed attempts (checkpoints to resume from)
    leases/<kind>/<key>.lease     who is running the node now, see leases.py
    runs/<run_id>/...             run records, see runs.py

Writes that the filesystem refuses (full, read-only, not ours) are *store faults*: callers turn
them into one line (``StoreFault``, ``fault_message``) and remove what the write left behind.

Names starting with ``_`` and ``log.txt`` are bookkeeping, not artifacts: they are not listed in
(or verified against) the completion record.

Only local paths and ``file://`` URLs are implemented. Other fsspec URLs (``s3://``, ``gs://``)
are meant to fit the same interface by staging: the work writes into a local staging copy of
``<kind>/<key>/``, the store uploads it and writes the completion record last; inputs are
downloaded (or read through fsspec) before verification. Until then they are refused clearly.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import re
import shutil
import socket
import time
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from xexp.compiler.graph.node import Node
from xexp.compiler.inputs import sha256_of
from xexp.errors import Category, StoreError, StoreFault
from xexp.runtime.engine.completion import CompletionRecord, parse_record
from xexp.runtime.engine.failures import FailureRecord, parse_failure
from xexp.runtime.engine.faults import os_reason, remove_temp_files

RECORD_FILE = "_complete.json"
FAILED_FILE = "_failed.json"
INVALID_FILE = "_invalid.json"
PROGRESS_FILE = "_progress.json"
LOG_FILE = "log.txt"
ATTEMPTS_FILE = "_attempts"

#: sha256 of files already hashed by this process, by (path, mtime_ns, size): big checkpoints
#: read by many consumers on one worker are hashed once.
_sha_cache: dict[tuple[str, int, int], str] = {}


@functools.cache
def xexp_version() -> str:
    try:
        return metadata.version("xexp")
    except metadata.PackageNotFoundError:
        return "unknown"


def is_bookkeeping(relative_path: str) -> bool:
    first = relative_path.split("/", 1)[0]
    return first.startswith("_") or first.startswith(".") or relative_path == LOG_FILE


def sha256_file(path: Path) -> str:
    stat = path.stat()
    cache_key = (str(path), stat.st_mtime_ns, stat.st_size)
    cached = _sha_cache.get(cache_key)
    if cached is not None:
        return cached
    _sha_cache[cache_key] = sha256_of(path)
    return _sha_cache[cache_key]


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, indent=1, sort_keys=True, default=str).encode("utf-8")


def write_json_atomic(path: Path, value: Any, *, room: int = 0) -> None:
    """Write, fsync and rename into place: a reader sees the old file or the whole new one.

    ``room``: trailing blanks (still valid JSON) kept for ``rewrite_json_in_place``.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    data = _json_bytes(value) + b" " * room
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk must not also keep half a file
        raise


def rewrite_json_in_place(path: Path, value: Any) -> None:
    """Overwrite a JSON file within its current size: needs no free block, so it works on a full
    disk (the file was written with ``room``). Not atomic: only for a last word, e.g. a failed
    run's status when the store is full."""
    data = _json_bytes(value)
    size = path.stat().st_size
    if len(data) > size:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, data + b" " * (size - len(data)), 0)
        os.fsync(fd)
    finally:
        os.close(fd)


#: ``scheme:/…`` or ``scheme://…``: a URL, not a path (two letters at least, so ``C:/`` stays a path).
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):/")


def local_store_path(root: str | os.PathLike) -> Path:
    """The local directory a store root names: a path or a ``file://`` URL, made absolute.

    Callers must hand the original string, not ``Path(url)``: pathlib collapses ``file:///x`` to
    ``file:/x`` and ``s3://b/x`` to ``s3:/b/x``, which is why both URL spellings are recognised.
    Other schemes are refused until staging is implemented (see the module docstring).
    """
    text = os.fspath(root)
    match = _URL.match(text)
    if match:
        scheme = match.group(1).lower()
        if scheme != "file":
            raise StoreError(
                f"store {text!r}: {scheme}:// stores are not supported; use a local path, a "
                "shared-filesystem path or a file:// URL")
        parts = urlsplit(text)
        if parts.netloc not in ("", "localhost"):
            raise StoreError(f"store {text!r}: a file:// URL on host {parts.netloc!r} is not supported; "
                             "mount that filesystem and give its local path")
        if parts.query or parts.fragment:
            raise StoreError(f"store {text!r}: a file:// URL cannot have a query or fragment")
        text = unquote(parts.path)
    if not text:
        raise StoreError(f"store {os.fspath(root)!r}: empty path")
    path = Path(text).expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise StoreError(f"store {os.fspath(root)!r}: {path} exists and is not a directory")
    return path


class Store:
    """Artifacts, completion records and run records under one root."""

    def __init__(self, root: str | Path) -> None:
        self.root = local_store_path(root)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreFault(f"store {self.root} cannot be created: {os_reason(error)}") from None
        #: What workers are given to open the same store: absolute, so a worker's own working
        #: directory never changes where a relative store path points.
        self.url = str(self.root)

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    def check_writable(self) -> None:
        """Fail now, in one line, when the store cannot take a file (read-only, not ours, full)."""
        probe = self.root / f".xexp-probe.{os.getpid()}.tmp"
        try:
            with open(probe, "wb") as f:
                f.write(b"x")
        except OSError as error:
            raise StoreFault(f"store {self.root} is not writable: {os_reason(error)}") from None
        finally:
            try:
                probe.unlink()
            except OSError:
                pass

    def abandon_attempt(self, kind: str, key: str) -> None:
        """After a fault: drop the attempt's partial artifacts (keep its log) and temp files."""
        out = self.artifact_dir(kind, key)
        if out.is_dir():
            for path in out.iterdir():
                if path.name == LOG_FILE:
                    continue
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
        remove_temp_files(self.scratch_dir(kind, key))

    # --- paths --------------------------------------------------------------------------
    def artifact_dir(self, kind: str, key: str) -> Path:
        return self.root / kind / key

    def scratch_dir(self, kind: str, key: str) -> Path:
        return self.root / "scratch" / kind / key

    def record_path(self, kind: str, key: str) -> Path:
        return self.artifact_dir(kind, key) / RECORD_FILE

    def failed_path(self, kind: str, key: str) -> Path:
        return self.artifact_dir(kind, key) / FAILED_FILE

    def log_path(self, kind: str, key: str) -> Path:
        return self.artifact_dir(kind, key) / LOG_FILE

    def runs_dir(self) -> Path:
        return self.root / "runs"

    # --- reading ------------------------------------------------------------------------
    def read_record(self, kind: str, key: str) -> CompletionRecord | None:
        """The completion record, or None when the node is not done or its record is unusable
        (unreadable, or not a valid ``CompletionRecord``: the node then runs again)."""
        found = self.read_record_checked(kind, key)
        return found if isinstance(found, CompletionRecord) else None

    def read_record_checked(self, kind: str, key: str) -> CompletionRecord | str | None:
        """The completion record; None when there is none; else why the one there is unusable."""
        path = self.record_path(kind, key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            return f"unreadable completion record {path}: {err}"
        found = parse_record(data)
        return found if isinstance(found, CompletionRecord) else f"invalid completion record {path}: {found}"

    def read_failure(self, kind: str, key: str) -> FailureRecord | None:
        """Why the node's last attempt failed; None when none did or the record is unusable."""
        try:
            return parse_failure(json.loads(self.failed_path(kind, key).read_text(encoding="utf-8")))
        except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError, UnicodeDecodeError):
            return None

    def verify(self, kind: str, key: str, *, hashes: bool = True, record: CompletionRecord | None = None) -> list[str]:
        """Problems with a node's artifacts against its completion record; [] means intact.

        Sizes are always checked; sha256 only with ``hashes`` (consumers reading an input).
        ``record``: the completion record when the caller has just read it (it is not read again).
        """
        path = self.record_path(kind, key)
        if record is None:
            if not path.exists():
                return [f"no completion record {RECORD_FILE}"]
            found = self.read_record_checked(kind, key)
            if not isinstance(found, CompletionRecord):
                return [found or f"no completion record {RECORD_FILE}"]
            record = found
        problems = []
        base = self.artifact_dir(kind, key)
        for entry in record.files:
            file = base / entry.path
            try:
                size = file.stat().st_size
            except FileNotFoundError:
                problems.append(f"missing file {entry.path}")
                continue
            if size != entry.size:
                problems.append(f"size mismatch {entry.path}: {size} bytes, recorded {entry.size}")
            elif hashes and sha256_file(file) != entry.sha256:
                problems.append(f"sha256 mismatch {entry.path}")
        return problems

    def is_done(self, kind: str, key: str) -> bool:
        return self.record_path(kind, key).exists()

    # --- writing ------------------------------------------------------------------------
    def begin_attempt(self, kind: str, key: str) -> int:
        """Empty the artifact dir (record first), keep scratch, count the attempt; returns its number."""
        out = self.artifact_dir(kind, key)
        if out.exists():
            for name in (RECORD_FILE, FAILED_FILE):  # first, so no record outlives its files
                try:
                    (out / name).unlink()
                except FileNotFoundError:
                    pass
            shutil.rmtree(out)
        out.mkdir(parents=True)
        scratch = self.scratch_dir(kind, key)
        scratch.mkdir(parents=True, exist_ok=True)
        counter = scratch / ATTEMPTS_FILE
        try:
            attempt = int(counter.read_text() or 0) + 1
        except (FileNotFoundError, ValueError):
            attempt = 1
        counter.write_text(str(attempt))
        return attempt

    def list_artifacts(self, kind: str, key: str) -> list[dict]:
        """Every artifact file with its relative path, size and sha256 (bookkeeping excluded)."""
        base = self.artifact_dir(kind, key)
        files = []
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            relative = path.relative_to(base).as_posix()
            if is_bookkeeping(relative):
                continue
            files.append({"path": relative, "size": path.stat().st_size, "sha256": sha256_file(path)})
        return files

    def write_record(self, node: Node, *, manifest: dict, inputs: dict[str, dict], started: float,
                     ended: float, attempt: int, run_id: str, ray_node_id: str | None) -> CompletionRecord:
        """Write the completion record; call it only once every artifact file is in place."""
        record = CompletionRecord.model_validate({
            "key": node.key,
            "kind": node.kind,
            "version": node.version,
            "name": node.name,
            "params": node.params,
            "inputs": inputs,
            "manifest": manifest,
            "files": self.list_artifacts(node.kind, node.key),
            "timings": {"start": started, "end": ended, "seconds": round(ended - started, 6)},
            "hostname": socket.gethostname(),
            "ray_node_id": ray_node_id,
            "attempt": attempt,
            "run_id": run_id,
            "xexp_version": xexp_version(),
        })
        try:
            (self.artifact_dir(node.kind, node.key) / PROGRESS_FILE).unlink()
        except FileNotFoundError:
            pass
        write_json_atomic(self.record_path(node.kind, node.key), record.to_json())
        return record

    def write_failure(self, kind: str, key: str, *, name: str, category: Category, error_type: str,
                      message: str, traceback_text: str, attempt: int | None, run_id: str) -> FailureRecord:
        """Record why a node failed, and what kind of failure it was (``category``)."""
        failure = FailureRecord(key=key, kind=kind, name=name, category=category, error_type=error_type,
                                message=message, traceback=traceback_text, attempt=attempt,
                                time=time.time(), hostname=socket.gethostname(), run_id=run_id,
                                log=LOG_FILE)
        self.artifact_dir(kind, key).mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.failed_path(kind, key), failure.model_dump(mode="json"))
        return failure

    def invalidate(self, kind: str, key: str, problems: list[str]) -> None:
        """Withdraw a completion record whose artifacts failed verification, keeping why."""
        record = self.read_record(kind, key)
        out = self.artifact_dir(kind, key)
        if not out.exists():
            return
        write_json_atomic(out / INVALID_FILE, {"time": time.time(), "problems": problems,
                                               "record": record.to_json() if record else {}})
        try:
            self.record_path(kind, key).unlink()
        except FileNotFoundError:
            pass
