"""A node's attempt in the process that runs it (a Ray worker, or the driver under the local
executor): take its lease, verify its inputs, call its work with a `NodeContext`, record it.

Both executors call `execute_node`, so the store, keys, leases, resume and the report cannot
differ between them. What the work itself sees is runtime/engine/context.py; the peak memory a node
used is measured here and logged (runtime/engine/usage.py).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from xexp.compiler.graph.node import Node
from xexp.errors import Category, StoreFault, XexpError, category_of
from xexp.runtime.engine import fencing
from xexp.runtime.engine.completion import CompletionRecord, NodeManifest
from xexp.runtime.engine.context import InputArtifact, NodeContext
from xexp.runtime.engine.faults import fault_message, store_fault
from xexp.runtime.engine.leases import Lease, try_acquire
from xexp.runtime.engine.provenance import MODEL_FOLDERS, authenticity_problem, model_origin
from xexp.runtime.engine.runs import append_event
from xexp.runtime.engine.store import PROGRESS_FILE, Store
from xexp.runtime.engine.usage import USAGE_LOG_PREFIX, NodeUsage

#: Seconds between two writes of ``_progress.json``; progress reports in between are dropped.
PROGRESS_MIN_INTERVAL_S = 1.0


class NodeFailed(Exception):
    """The work of a node raised; its traceback is in the node's ``_failed.json``.

    Raised in the Ray worker in place of the original exception, so the driver always gets a
    picklable error with the original type, message and category, whatever the work raised.
    """

    def __init__(self, key: str, error_type: str, message: str, category: Category) -> None:
        super().__init__(key, error_type, message, category)
        self.key = key
        self.error_type = error_type
        self.message = message
        self.category = category

    def __str__(self) -> str:
        return f"{self.error_type}: {self.message}"


class SystemFailure(XexpError):
    """The node's worker process or its machine died (more often than retries allow); the
    node's work did not get to raise. The executor says it; nothing is recorded by the node.
    What to do: look for what killed it (memory, a lost machine) and run again."""

    category = Category.SYSTEM

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(error_type, message)
        self.error_type = error_type
        self.message = message


class InputArtifactInvalid(Exception):
    """An input's files no longer match its completion record (truncated, altered, missing).

    The driver answers by invalidating that input and running it again before the consumer.
    """

    def __init__(self, key: str, problems: dict[str, list[str]]) -> None:
        super().__init__(key, problems)
        self.key = key
        self.problems = problems  # input key -> problems found

    def __str__(self) -> str:
        parts = [f"{k[:10]}: {'; '.join(p)}" for k, p in self.problems.items()]
        return "input artifacts failed verification: " + " | ".join(parts)


class ThrottledProgressFile:
    """Writes the latest progress report to ``_progress.json`` at most once per interval."""

    def __init__(self, path: Path, min_interval_s: float = PROGRESS_MIN_INTERVAL_S) -> None:
        self.path = path
        self.min_interval_s = min_interval_s
        self._last = 0.0

    def __call__(self, info: dict) -> None:
        now = time.time()
        if now - self._last < self.min_interval_s:
            return
        self._last = now
        fencing.check()  # a stalled holder whose lease was taken stops here (fencing.py)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps({"time": now, **info}, default=str))
            os.replace(tmp, self.path)
        except OSError:
            pass  # progress is advisory: never fail the work because of it


def node_logger(log_path: Path) -> tuple[logging.Logger, logging.Handler]:
    """The logger of the node running in this worker, writing to its ``log.txt`` only.

    One logger per process (a Ray worker runs one task at a time), its handler swapped per node;
    it does not propagate, so the driver's terminal stays quiet. The caller also attaches the
    handler to the root logger during the work, so what libraries log lands in the file too.
    """
    handler = logging.FileHandler(log_path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    logger = logging.getLogger("xexp.node")
    if logger.level != logging.INFO:  # setLevel clears logging's caches: only once per process
        logger.setLevel(logging.INFO)
        logger.propagate = False
    for old in list(logger.handlers):
        logger.removeHandler(old)
        old.close()
    logger.addHandler(handler)
    return logger, handler


def resolve_work(dotted: str) -> Callable[[Node, NodeContext], NodeManifest | dict]:
    """Import ``"module:function"``; done inside the worker so cluster nodes import it themselves."""
    import importlib

    module_name, sep, attribute = dotted.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"work {dotted!r}: expected 'module:function'")
    function = importlib.import_module(module_name)
    for part in attribute.split("."):
        function = getattr(function, part)
    if not callable(function):
        raise TypeError(f"work {dotted!r} is not callable")
    return function


#: Stores by URL, so a worker resolves (and creates) its store's root once, not once per node.
_stores: dict[str, Store] = {}


def _ray_node_id() -> str | None:
    """The Ray node this runs on, inside a Ray worker; None under the local executor (in the
    driver, even one that also started Ray), bench baselines and direct calls."""
    ray = sys.modules.get("ray")
    try:
        if ray is None or not ray.is_initialized():
            return None
        if ray.get_runtime_context().worker.mode != ray.WORKER_MODE:  # the driver itself
            return None
        return ray.get_runtime_context().get_node_id()
    except Exception:  # outside a Ray worker
        return None


def _verified_inputs(store: Store, node: Node, input_kinds: dict[str, str]
                     ) -> dict[str, InputArtifact]:
    inputs: dict[str, InputArtifact] = {}
    problems: dict[str, list[str]] = {}
    for role, key in node.inputs.items():
        kind = input_kinds[key]
        record = store.read_record(kind, key)
        found = store.verify(kind, key, hashes=True, record=record)
        if found or record is None:
            problems[key] = found or ["completion record vanished"]
            continue
        if altered := authenticity_problem(record, kind, key):
            problems[key] = [altered]
            continue
        # a training provides a model when its record declares a checkpoint (work functions of
        # tests and benches train nothing); one that does not can only fail a consumer that
        # loads it ("does not provide a model"), never make it run anything
        provides = kind == "model" or (kind in MODEL_FOLDERS and "checkpoint" in record.manifest)
        model = model_origin(store, kind, key, record) if provides else None
        if isinstance(model, str):
            problems[key] = [model]
            continue
        inputs[role] = InputArtifact(key=key, kind=kind, dir=store.artifact_dir(kind, key),
                                     manifest=record.manifest, params=record.params, model=model)
    if problems:
        raise InputArtifactInvalid(node.key, problems)
    return inputs


def _checked_manifest(manifest: Any, work: str) -> dict:
    if manifest is None:
        return {}
    if isinstance(manifest, NodeManifest):
        return manifest.to_json()
    if not isinstance(manifest, dict):
        raise TypeError(f"work {work} returned {type(manifest).__name__}, expected a dict manifest")
    try:
        json.dumps(manifest, allow_nan=True)
    except (TypeError, ValueError) as error:
        raise TypeError(f"work {work} returned a manifest that is not JSON-serialisable: {error}") from None
    return manifest


#: ``outcome`` of an ``execute_node`` summary.
EXECUTED, ADOPTED, BUSY = "executed", "adopted", "busy"


def record_identity(record: CompletionRecord | None) -> str | None:
    """Which completion record this is (the run that wrote it and when), to tell a new one apart."""
    if record is None:
        return None
    return f"{record.run_id}@{record.timings.end}"


def execute_node(node_data: dict, store_url: str, run_id: str, work: str,
                 input_kinds: dict[str, str], events_path: str | None = None,
                 seen_record: str | None = None) -> dict:
    """Run one node under its lease: verify inputs, call the work, record. In a Ray worker, or
    in the driver itself under the local executor.

    Returns a small summary for the driver whose ``outcome`` says what happened: ``executed``;
    ``adopted`` when, once the lease was ours, the node turned out to be recorded by someone
    else since the driver looked (its record is not ``seen_record``, the identity of the record
    the driver saw, or None); ``busy`` when another process holds the lease (``owner``), so
    the driver waits for that one instead. Raises ``NodeFailed`` when the work raised (after
    writing ``_failed.json``) and ``InputArtifactInvalid`` when an input failed verification.
    """
    node = Node.model_validate(node_data)
    store = _stores.get(store_url) or _stores.setdefault(store_url, Store(store_url))
    try:
        lease = try_acquire(store.root, node.kind, node.key, run_id=run_id)
    except OSError as error:
        raise _fault_or(error, store, node, run_id, attempt_started=False) from None
    if not isinstance(lease, Lease):
        return {"key": node.key, "outcome": BUSY, "owner": lease}
    lease.start_heartbeat()
    try:
        record = store.read_record(node.kind, node.key)
        if (record is not None and record_identity(record) != seen_record
                and not store.verify(node.kind, node.key, hashes=False, record=record)):
            return {"key": node.key, "outcome": ADOPTED, "run_id": record.run_id}
        with fencing.holding(lease):
            return _execute_leased(node, store, lease, run_id, work, input_kinds, events_path)
    except (NodeFailed, InputArtifactInvalid):
        raise
    except Exception as error:
        if not lease.held():  # whatever broke, the node is someone else's now: touch nothing
            return _fenced(node, fencing.LeaseLost(lease))
        raise _fault_or(error, store, node, run_id, attempt_started=True) from None
    finally:
        lease.release()


def _fenced(node: Node, lost: "fencing.LeaseLost") -> dict:
    """The summary of a node this holder stopped because its lease was taken over: the driver
    waits for the new holder (``busy``) and says why in one line (``fenced``)."""
    logging.getLogger(__name__).warning("%s: %s", node.name, lost)
    return {"key": node.key, "outcome": BUSY, "owner": lost.owner, "fenced": str(lost)}


def _fault_or(error: Exception, store: Store, node: Node, run_id: str, *,
              attempt_started: bool) -> Exception:
    """A store fault becomes a one-line ``NodeFailed`` of the store category, its debris removed.

    The partial attempt is dropped (it frees the space a full disk needs for the run's own
    records) and the failure is recorded if the store still takes it. Anything else is
    returned unchanged: execute_node itself broke.
    """
    fault = store_fault(error, store.root)
    if fault is None:
        return error
    message = fault_message(store.root, fault)
    if attempt_started:
        store.abandon_attempt(node.kind, node.key)
        try:
            store.write_failure(node.kind, node.key, name=node.name, category=StoreFault.category,
                                error_type=StoreFault.__name__, message=message, traceback_text="",
                                attempt=None, run_id=run_id)
        except OSError:
            pass  # read-only or still full: the driver's events say it
    return NodeFailed(node.key, StoreFault.__name__, message, StoreFault.category)


def _execute_leased(node: Node, store: Store, lease: Lease, run_id: str, work: str,
                    input_kinds: dict[str, str], events_path: str | None) -> dict:
    attempt = store.begin_attempt(node.kind, node.key)
    started = time.time()
    hostname, ray_node_id = socket.gethostname(), _ray_node_id()
    if events_path:
        append_event(Path(events_path), {
            "time": started, "event": "started", "key": node.key, "kind": node.kind,
            "name": node.name, "attempt": attempt, "hostname": hostname, "pid": os.getpid(),
            "ray_node_id": ray_node_id})
    out_dir = store.artifact_dir(node.kind, node.key)
    log_path = store.log_path(node.kind, node.key)
    logger, handler = node_logger(log_path)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        logger.info("start %s (%s) attempt %d on %s pid %d, lease generation %d", node.name,
                    node.key, attempt, hostname, os.getpid(), lease.generation)
        try:
            inputs = _verified_inputs(store, node, input_kinds)
        except InputArtifactInvalid as error:
            logger.warning("%s", error)
            raise
        try:
            usage = NodeUsage()
            function = resolve_work(work)
            ctx = NodeContext(node=node, out_dir=out_dir,
                              scratch_dir=store.scratch_dir(node.kind, node.key), inputs=inputs,
                              logger=logger, log_path=log_path, attempt=attempt, run_id=run_id,
                              _progress_sink=ThrottledProgressFile(out_dir / PROGRESS_FILE))
            manifest = _checked_manifest(function(node, ctx), work)
        except Exception as error:
            if isinstance(error, fencing.LeaseLost) or not lease.held():
                logger.warning("stopped: %s", error if isinstance(error, fencing.LeaseLost)
                               else fencing.LeaseLost(lease))
                return _fenced(node, fencing.LeaseLost(lease))
            if store_fault(error, store.root) is not None:
                raise  # the store, not the work: execute_node ends it in one line
            logger.error("failed:\n%s", traceback.format_exc())
            store.write_failure(node.kind, node.key, name=node.name, category=category_of(error),
                                error_type=type(error).__name__, message=str(error),
                                traceback_text=traceback.format_exc(), attempt=attempt,
                                run_id=run_id)
            raise NodeFailed(node.key, type(error).__name__, str(error), category_of(error)) from None
        ended = time.time()
        logger.info("%s%s", USAGE_LOG_PREFIX, json.dumps(usage.finish()))
        logger.info("done in %.3f s", ended - started)
    finally:
        root.removeHandler(handler)
        logger.removeHandler(handler)
        handler.close()
    input_refs = {role: {"key": key, "kind": input_kinds[key]} for role, key in node.inputs.items()}
    if not lease.held():  # judged stale and taken over (a stalled worker): the new holder records
        return _fenced(node, fencing.LeaseLost(lease))
    store.write_record(node, manifest=manifest, inputs=input_refs, started=started, ended=ended,
                       attempt=attempt, run_id=run_id, ray_node_id=ray_node_id)
    # Scratch only serves to resume a failed attempt (optimizer states, Tune trials: several
    # times a model's size); once the record stands it is dead weight.
    shutil.rmtree(ctx.scratch_dir, ignore_errors=True)
    return {"key": node.key, "outcome": EXECUTED, "seconds": round(ended - started, 6), "attempt": attempt,
            "hostname": hostname, "ray_node_id": ray_node_id}
