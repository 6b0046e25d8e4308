"""The Ray executor: each node a Ray task with its resources, as many at once as the cluster takes.

The scheduler (scheduler.py) decides what runs and in which order; this module only knows how to
hand a node to Ray, how full the cluster is, and how Ray reports a node's end. Ray is imported
when an instance is made, so nothing else needs Ray installed.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from xexp.compiler.graph.node import Node
from xexp.runtime.engine.worker import SystemFailure, execute_node

#: Submitted-but-unfinished demand may reach this multiple of the cluster's resources.
OVERSUBSCRIBE = 2.0
RESOURCE_REFRESH_S = 10.0


class Capacity:
    """Bookkeeping of what submitted nodes ask, against the cluster's totals."""

    def __init__(self, totals: dict[str, float]) -> None:
        self.totals = totals
        self.used: Counter[str] = Counter()

    def missing(self, wanted: dict[str, float]) -> dict[str, float]:
        """Resources the node asks for beyond what the whole cluster has (it can never run)."""
        return {k: v for k, v in wanted.items() if v > self.totals.get(k, 0.0) + 1e-9}

    def fits(self, wanted: dict[str, float]) -> bool:
        return all(self.used[k] + v <= OVERSUBSCRIBE * self.totals.get(k, 0.0) + 1e-9
                   for k, v in wanted.items())

    def take(self, wanted: dict[str, float]) -> None:
        self.used.update(wanted)

    def release(self, wanted: dict[str, float]) -> None:
        self.used.subtract(wanted)


_remote_execute_node: dict[bool, Any] = {}


def _remote(fresh_worker: bool = False):
    """The Ray task that runs a node; `fresh_worker`: in a new worker process that exits after it."""
    if fresh_worker not in _remote_execute_node:
        import ray

        _remote_execute_node[fresh_worker] = (ray.remote(max_calls=1)(execute_node) if fresh_worker
                                              else ray.remote(execute_node))
    return _remote_execute_node[fresh_worker]


def needs_fresh_worker(num_gpus: float, cluster_totals: dict[str, float]) -> bool:
    """Whether a node must not share its worker process with later nodes: when it holds real
    GPUs (Ray's own default for functions declared with GPUs, lost when GPUs are given per
    call). A reused worker would keep its CUDA context, its cached GPU memory and the card it
    was first given, whatever card Ray assigns next. Ray reports detected NVIDIA cards as an
    ``accelerator_type:<model>`` resource; logical GPUs (tests, simulations) have none, and
    their nodes keep reusing workers, which starting a process per node would only slow down."""
    return num_gpus > 0 and any(name.startswith("accelerator_type:") for name in cluster_totals)


class RayExecutor:
    """Runs nodes as Ray tasks of the Ray instance this driver is connected to."""

    name = "ray"

    def __init__(self, max_retries: int = 3) -> None:
        import ray

        from xexp.runtime.engine.ray_session import connect

        connect()  # joins the instance `xexp run` started, or starts an embedded one
        self.ray = ray
        self.max_retries = max_retries
        self.capacity = Capacity(ray.cluster_resources())
        self.refreshed = time.time()

    def keep_alive(self, beat) -> None:
        pass  # the scheduler's loop keeps beating while Ray runs the nodes

    def refresh(self) -> None:
        """Nodes may join or leave a cluster: look at its resources again now and then."""
        if time.time() - self.refreshed > RESOURCE_REFRESH_S:
            self.capacity.totals, self.refreshed = self.ray.cluster_resources(), time.time()

    def submit(self, node: Node, call: tuple) -> Any:
        r = node.resources
        options: dict[str, Any] = {"name": node.name, "num_cpus": r.num_cpus, "num_gpus": r.num_gpus,
                                   "max_retries": self.max_retries, "retry_exceptions": False}
        if r.memory:
            options["memory"] = r.memory
        if r.custom:
            options["resources"] = dict(r.custom)
        fresh = needs_fresh_worker(r.num_gpus, self.capacity.totals)
        return _remote(fresh).options(**options).remote(*call)

    def wait(self, handles: list, timeout: float) -> list:
        done, rest = self.ray.wait(handles, num_returns=1, timeout=timeout)
        if done and rest:
            more, _ = self.ray.wait(rest, num_returns=len(rest), timeout=0)
            done += more
        return done

    def result(self, handle: Any) -> dict:
        """The node's summary; what the node raised, unwrapped; `SystemFailure` when its worker
        or machine died more often than ``max_retries``."""
        try:
            return self.ray.get(handle)
        except self.ray.exceptions.RayTaskError as error:
            cause = getattr(error, "cause", None)
            raise (cause if isinstance(cause, Exception) else error) from None
        except self.ray.exceptions.RayError as error:
            raise SystemFailure(type(error).__name__, str(error).strip()[:2000]) from None

    def cancel(self, handles: list) -> None:
        for ref in handles:
            self.ray.cancel(ref, force=True)
