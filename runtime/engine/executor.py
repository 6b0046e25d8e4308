"""Where nodes run: the one seam between the scheduler and the two ways to run a graph.

The scheduler (scheduler.py) decides what runs and when; an executor only runs what it is
given and says what it can take on. Ray (ray_executor.py: a task per node, many at once) and
this process (local_executor.py: one node at a time, no Ray) both call the same per-node
routine, `worker.execute_node`, so the store, keys, leases and resume cannot differ between
them. Only the Ray executor imports Ray, and only when it is made.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

from xexp.compiler.graph.node import Node
from xexp.errors import SpecValueError


def demand(node: Node) -> dict[str, float]:
    """What `node` asks of an executor, in Ray's resource names (nothing asked: left out)."""
    r = node.resources
    wanted = {"CPU": r.num_cpus, "GPU": r.num_gpus, "memory": float(r.memory or 0), **r.custom}
    return {name: amount for name, amount in wanted.items() if amount > 0}


class ExecutorCapacity(Protocol):
    """What an executor can take on: `missing` resources a node can never get, whether it
    `fits` now, and the bookkeeping of what in-flight nodes hold."""

    totals: dict[str, float]

    def missing(self, wanted: dict[str, float]) -> dict[str, float]: ...
    def fits(self, wanted: dict[str, float]) -> bool: ...
    def take(self, wanted: dict[str, float]) -> None: ...
    def release(self, wanted: dict[str, float]) -> None: ...


class Executor(Protocol):
    """Where nodes run (ray_executor.py, local_executor.py). A handle stands for one
    `execute_node(*call)`; `result` returns its summary or raises what the node raised
    (`NodeFailed`, `InputArtifactInvalid`, `SystemFailure`, or any error of execute_node's own)."""

    name: str

    @property
    def capacity(self) -> ExecutorCapacity: ...

    def keep_alive(self, beat: Callable[[], None]) -> None: ...
    def refresh(self) -> None: ...
    def submit(self, node: Node, call: tuple) -> Any: ...
    def wait(self, handles: list, timeout: float) -> list: ...
    def result(self, handle: Any) -> dict: ...
    def cancel(self, handles: list) -> None: ...


EXECUTORS = ("ray", "local")


def make_executor(name: str, max_retries: int) -> Executor:
    """The executor by name; only the Ray one imports (and starts or joins) Ray."""
    if name == "ray":
        from xexp.runtime.engine.ray_executor import RayExecutor

        return RayExecutor(max_retries=max_retries)
    if name == "local":
        from xexp.runtime.engine.local_executor import LocalExecutor

        return LocalExecutor()
    raise SpecValueError(f"unknown executor {name!r}: expected one of {', '.join(EXECUTORS)}")
