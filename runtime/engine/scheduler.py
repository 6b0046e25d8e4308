"""Runs a Graph, one executor call per node, resuming from whatever the store says is done.

The executor (executor.py) is Ray (ray_executor.py: a task per node, many at once) or this
process (local_executor.py: one node at a time, no Ray); everything below is the same for both.

Ray's object store dies with the driver, so the store (completion records) is the only memory
between runs: a node is skipped when its record is present and its files check out, and every
node whose inputs are done is submitted at once, highest critical-path priority first, as long as
it fits the cluster (with some oversubscription so Ray's own queue never runs dry). Tasks return
small summaries; artifacts stay on disk.

System failures (a worker process or machine died) are retried by Ray (``max_retries``);
application failures (the work raised) are recorded in the store with their traceback and not
retried. A consumer that finds an input's files altered sends that input back to be redone.

Other drivers may run on the same store at the same time. Each node runs under its lease
(leases.py); a node whose lease another process holds comes back ``busy`` and waits here,
watched, until that process records it (then it is adopted like a cached node), gives up (then
it is submitted again), or dies (its lease goes stale, is broken, and the node is resubmitted).
"""

from __future__ import annotations

import heapq
import logging
import time
from collections import Counter
from typing import Any, Callable, Collection

from xexp.compiler.graph.kinds import kind_of
from xexp.compiler.graph.node import Graph, Node
from xexp.errors import Category, SpecValueError, category_of
from xexp.runtime.engine.worker import (ADOPTED, BUSY, InputArtifactInvalid, NodeFailed, SystemFailure,
                                        record_identity)
from xexp.runtime.engine.leases import LeaseWatch, lease_path
from xexp.runtime.engine.runs import RunLog, RunResult, create_run, read_events, run_dir
from xexp.runtime.engine.plan import NO_RECORD, plan_status
from xexp.runtime.engine.states import ArtifactProblems, NodeState, PlanState
from xexp.runtime.engine.executor import Executor, demand, make_executor
from xexp.runtime.engine.store import Store

log = logging.getLogger(__name__)

DEFAULT_WORK = "xexp.runtime.ops:execute"
#: Failures that end the run, --keep-going or not: every other node would meet them too.
STOPS_THE_RUN = frozenset({Category.STORE})
#: Seconds between two looks at the leases of nodes another driver is running.
LEASE_POLL_S = 0.5


# --- planning ---------------------------------------------------------------------------------
def critical_path_priority(graph: Graph, seconds: dict[str, float] | None = None) -> dict[str, float]:
    """Each node's estimated duration (`seconds`, runtime/engine/estimate/; else its kind's relative
    `COST`, compiler/graph/kinds.py) plus the costliest chain of consumers after it."""
    consumers = graph.consumers()
    rank: dict[str, float] = {}
    for node in reversed(graph.nodes):
        own = seconds[node.key] if seconds and node.key in seconds else kind_of(node.kind).COST
        rank[node.key] = own + max((rank[c] for c in consumers[node.key]), default=0.0)
    return rank


class _Execution:
    """The state of one execute_graph call: which nodes wait, which run, what happened."""

    def __init__(self, graph: Graph, store: Store, *, run_id: str, work: str, keep_going: bool,
                 plan: dict[str, PlanState], executor: Executor,
                 progress: Callable[[dict], None] | None, estimates: dict[str, float] | None = None) -> None:
        self.executor = executor
        self.graph, self.store, self.run_id, self.work = graph, store, run_id, work
        self.keep_going, self.progress = keep_going, progress
        self.by_key = graph.by_key()
        self.consumers = graph.consumers()
        self.kinds = {n.key: n.kind for n in graph.nodes}
        self.priority = critical_path_priority(graph, estimates)
        self.order = {n.key: i for i, n in enumerate(graph.nodes)}
        self.plan = plan
        self.log = RunLog(store, run_id)
        executor.keep_alive(lambda: self.log.heartbeat(force=True))
        self.states: dict[str, NodeState] = {}  # runtime/engine/states.py's words, as RunResult reports them
        self.errors: dict[str, str] = {}
        self.waiting: dict[str, int] = {}
        self.shapes = {n.key: tuple(sorted(demand(n).items())) for n in graph.nodes}
        self.ready: dict[tuple, list[tuple[float, int, str]]] = {}  # resource shape -> heap
        self.inflight: dict[Any, str] = {}
        self.submitted: set[str] = set()  # in flight now
        self.capacity = executor.capacity
        self.invalidated: Counter[str] = Counter()
        self.stopping = False
        self.events_offset = 0
        self.busy: dict[str, LeaseWatch] = {}  # nodes another process is running
        #: Order of events: a node's submission and its inputs' completions, to tell whether an
        #: input was redone after a consumer looked at it.
        self.seq = 0
        self.submitted_seq: dict[str, int] = {}
        self.finished_seq: dict[str, int] = {}
        #: Records this run means to replace (forced, or an input runs again), as planned. A
        #: node planned for lack of a usable record replaces none: a record its worker finds
        #: was written by another driver since, and is adopted.
        self.replaces = {key: record_identity(store.read_record(self.kinds[key], key))
                         for key, (state, reason) in plan.items()
                         if state == "run" and not (reason.startswith(NO_RECORD) or isinstance(reason, ArtifactProblems))}

    def emit(self, event: str, node: Node, **fields: Any) -> None:
        record = self.log.event(event, key=node.key, kind=node.kind, name=node.name, **fields)
        if self.progress is not None:
            self.progress(record)

    def push_ready(self, key: str) -> None:
        heap = self.ready.setdefault(self.shapes[key], [])
        heapq.heappush(heap, (-self.priority[key], self.order[key], key))

    def run(self) -> RunResult:
        started = time.time()
        for node in self.graph.nodes:
            state, reason = self.plan[node.key]
            if state == "cached":
                self.states[node.key] = "cached"
                self.emit("cached", node, reason=reason)
            elif isinstance(reason, ArtifactProblems):
                problems = list(reason.problems)
                log.warning("%s (%s): %s; redoing it", node.name, node.short_key, reason)
                self.store.invalidate(node.kind, node.key, problems)
                self.emit("invalidated", node, problems=problems, found_by="plan")
        for node in self.graph.nodes:
            if node.key not in self.states:
                self.states[node.key] = "pending"
                self.waiting[node.key] = sum(1 for k in node.inputs.values() if self.states[k] != "cached")
                if self.waiting[node.key] == 0:
                    self.push_ready(node.key)
        try:
            self.loop()
        except BaseException:
            self.executor.cancel(list(self.inflight))
            self.log.event("interrupted")
            self.log.finish("interrupted", None)
            raise
        result = RunResult(run_id=self.run_id, nodes=len(self.graph.nodes), states=self.states,
                           errors=self.errors, wall_seconds=time.time() - started)
        self.log.finish("succeeded" if result.ok else "failed", {
            k: v for k, v in result.to_dict().items() if k not in ("states", "errors")})
        return result

    def loop(self) -> None:
        while True:
            if not self.stopping:
                self.submit_ready()
            if not self.inflight and (self.stopping or not self.busy):
                return
            done: list = []
            if self.inflight:
                timeout = LEASE_POLL_S if self.busy else 1.0
                done = self.executor.wait(list(self.inflight), timeout)
            else:
                time.sleep(LEASE_POLL_S)
            self.watch_busy()
            self.log.heartbeat()
            self.forward_worker_events()
            if self.progress is not None:
                self.progress({"event": "tick"})
            for ref in done:
                self.collect(ref, self.inflight.pop(ref))

    def stale(self, key: str) -> bool:
        """A ready-queue entry that no longer stands (re-queued, blocked or already submitted)."""
        return self.states[key] != "pending" or self.waiting[key] > 0 or key in self.submitted

    def submit_ready(self) -> None:
        """Submit ready nodes, best priority first, while they fit; smaller shapes backfill.

        Ready nodes are queued per resource shape, so a full cluster costs one check per shape
        instead of a scan of every ready node.
        """
        self.executor.refresh()
        full: set[tuple] = set()
        while not self.stopping:
            best: tuple | None = None
            for shape, heap in self.ready.items():
                while heap and self.stale(heap[0][2]):
                    heapq.heappop(heap)
                if heap and shape not in full and (best is None or heap[0] < self.ready[best][0]):
                    best = shape
            if best is None:
                return
            key = self.ready[best][0][2]
            node, wanted = self.by_key[key], dict(best)
            missing = self.capacity.missing(wanted)
            if missing:
                heapq.heappop(self.ready[best])
                have = {k: self.capacity.totals.get(k, 0.0) for k in missing}
                self.fail(node, "InsufficientResources",
                          f"asks {missing} but the whole Ray cluster has {have}; start Ray with "
                          "more resources or join a bigger cluster (--address)", Category.RESOURCES)
            elif not self.capacity.fits(wanted):
                full.add(best)
            else:
                heapq.heappop(self.ready[best])
                self.submit(node, wanted)

    def submit(self, node: Node, wanted: dict[str, float]) -> None:
        input_kinds = {k: self.kinds[k] for k in node.inputs.values()}
        call = (node.model_dump(mode="json"), self.store.url, self.run_id, self.work, input_kinds,
                str(self.log.events_path), self.replaces.get(node.key))
        self.inflight[self.executor.submit(node, call)] = node.key
        self.submitted.add(node.key)
        self.submitted_seq[node.key] = self.seq
        self.capacity.take(wanted)
        self.emit("queued", node, reason=self.plan[node.key][1])

    def watch_busy(self) -> None:
        """Nodes another process runs: adopt their record, or take them back when it gave up."""
        for key, watch in list(self.busy.items()):
            node = self.by_key[key]
            record = self.store.read_record(node.kind, key)
            if record is not None and not self.store.verify(node.kind, key, hashes=False, record=record):
                del self.busy[key]
                self.adopt(node, record.run_id)
                continue
            state = watch.check()
            if state == "held":
                continue
            del self.busy[key]
            if state == "broken":
                log.warning("%s (%s): %s; running it here", node.name, node.short_key, watch.reason)
            self.push_ready(key)  # free: the other gave up (failed or was stopped); our turn

    def adopt(self, node: Node, run_id: str | None) -> None:
        """Another driver recorded this node: use it as if it had been cached."""
        self.states[node.key] = "cached"
        self.finished_seq[node.key] = self.seq
        self.emit("cached", node, reason=f"done by run {run_id} (another driver)")
        self.release_consumers(node.key)

    def release_consumers(self, key: str) -> None:
        for consumer in self.consumers[key]:
            if self.states[consumer] == "pending":
                self.waiting[consumer] -= 1
                if self.waiting[consumer] == 0:
                    self.push_ready(consumer)

    def forward_worker_events(self) -> None:
        events, self.events_offset = read_events(self.log.events_path, self.events_offset)
        if self.progress is None:
            return
        for event in events:
            if event.get("event") == "started":
                self.progress(event)

    def collect(self, ref: Any, key: str) -> None:
        node = self.by_key[key]
        self.seq += 1
        self.submitted.discard(key)
        self.capacity.release(dict(self.shapes[key]))
        try:
            summary = self.executor.result(ref)
        except InputArtifactInvalid as cause:
            self.redo_inputs(node, cause)
            return
        except NodeFailed as cause:
            self.fail(node, cause.error_type, cause.message, cause.category, recorded=True)
            return
        except SystemFailure as cause:  # the worker or its machine died more often than retries
            self.fail(node, cause.error_type, cause.message, cause.category)
            return
        except Exception as error:  # execute_node itself broke (e.g. the store is not writable)
            self.fail(node, type(error).__name__, str(error), category_of(error))
            return
        outcome = summary.get("outcome")
        if outcome == BUSY:
            owner = summary.get("owner") or {}
            if summary.get("fenced"):  # our worker stalled and the node was taken over
                log.warning("%s (%s): %s", node.name, node.short_key, summary["fenced"])
            self.emit("waiting", node, owner=owner, **({"fenced": summary["fenced"]} if summary.get("fenced") else {}))
            self.busy[key] = LeaseWatch(lease_path(self.store.root, node.kind, key))
            return
        if outcome == ADOPTED:
            self.adopt(node, summary.get("run_id"))
            return
        self.states[key] = "done"
        self.finished_seq[key] = self.seq
        self.emit("finished", node, seconds=summary["seconds"], attempt=summary["attempt"],
                  hostname=summary["hostname"], ray_node_id=summary["ray_node_id"])
        self.release_consumers(key)

    def redo_inputs(self, node: Node, error: InputArtifactInvalid) -> None:
        """An input was altered after it was recorded: withdraw its record, run it, then us.

        Consumers in flight together find the same altered input: the first sends it back to be
        redone, the others wait for that one redo (or, if it finished after they were submitted,
        just run again). Only a consumer submitted after the redo that still finds the input
        altered fails.
        """
        if self.states[node.key] != "pending":  # blocked meanwhile by a failure upstream
            return
        for bad, problems in error.problems.items():
            bad_node = self.by_key[bad]
            if self.states[bad] == "pending" or self.finished_seq.get(bad, -1) > self.submitted_seq[node.key]:
                continue  # being redone, or redone since this consumer looked
            if self.invalidated[bad] >= 1:
                self.fail(node, "InputArtifactInvalid",
                          f"input {bad_node.name} still fails verification after being redone: "
                          + "; ".join(problems), Category.STORE)
                return
            self.invalidated[bad] += 1
            log.warning("%s: artifacts of input %s (%s) failed verification (%s); redoing it",
                        node.name, bad_node.name, bad[:10], "; ".join(problems))
            self.store.invalidate(bad_node.kind, bad, problems)
            self.emit("invalidated", bad_node, problems=problems, found_by=node.key)
            self.plan[bad] = PlanState("run", ArtifactProblems(problems))
            for consumer in self.consumers[bad]:
                if self.states[consumer] == "pending" and consumer != node.key:
                    self.waiting[consumer] += 1
            self.states[bad] = "pending"
            self.waiting[bad] = self.unfinished_inputs(bad_node)
            if self.waiting[bad] == 0:
                self.push_ready(bad)
        self.waiting[node.key] = self.unfinished_inputs(node)
        if self.waiting[node.key] == 0:
            self.push_ready(node.key)

    def unfinished_inputs(self, node: Node) -> int:
        return sum(1 for k in node.inputs.values() if self.states[k] not in ("cached", "done"))

    def fail(self, node: Node, error_type: str, message: str, category: Category, *,
             recorded: bool = False) -> None:
        """Record it (unless its worker did), block its consumers; stop by category or --keep-going."""
        if not recorded and not self.store.is_done(node.kind, node.key):  # another driver's record
            try:
                self.store.write_failure(node.kind, node.key, name=node.name, category=category,
                                         error_type=error_type, message=message, traceback_text="",
                                         attempt=None, run_id=self.run_id)
            except OSError as error:  # the store itself is failing: the run's events still say it
                log.warning("%s: could not record the failure in the store: %s", node.name, error)
        self.states[node.key] = "failed"
        self.errors[node.key] = f"{error_type}: {message}"
        self.emit("failed", node, error=f"{error_type}: {message}", category=category.value)
        stack = list(self.consumers[node.key])
        while stack:
            key = stack.pop()
            if self.states[key] == "pending":
                self.states[key] = "blocked"
                self.emit("blocked", self.by_key[key], blocked_by=node.key)
                stack.extend(self.consumers[key])
        if not self.keep_going or category in STOPS_THE_RUN:
            self.stopping = True


def execute_graph(graph: Graph, store: Store, *, run_id: str, work: str = DEFAULT_WORK,
                  keep_going: bool = False, force: Collection[str] = (), max_retries: int = 3,
                  progress: Callable[[dict], None] | None = None, executor: str = "ray",
                  estimates: dict[str, float] | None = None) -> RunResult:
    """Execute every node of ``graph`` that the store does not hold yet; see the module docstring.

    ``executor="ray"`` starts an embedded local Ray if this process is not a Ray driver yet;
    ``"local"`` runs every node in this process, one at a time, without Ray. Creates the run
    record if the caller did not (``runs.create_run``).
    """
    plan = plan_status(graph, store, force)  # a bad graph or --force value fails before Ray starts
    runner = make_executor(executor, max_retries)
    if not (run_dir(store, run_id) / "run.json").exists():
        create_run(store, graph, run_id=run_id)
    if estimates is None:
        from xexp.runtime.engine.estimate.live import estimated_seconds

        estimates = estimated_seconds(graph, store.root)
    return _Execution(graph, store, run_id=run_id, work=work, keep_going=keep_going, plan=plan,
                      executor=runner, progress=progress, estimates=estimates).run()
