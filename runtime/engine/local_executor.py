"""The local executor: every node in this process, one at a time, no Ray.

For a debugger (``breakpoint()`` inside a node stops the driver's own terminal), a machine
without Ray, and tests that are not about Ray. The scheduler is the same as with Ray (store,
keys, leases, records, resume, report); only the hand-over differs: a submitted node runs when
the scheduler next waits, in this process, with the node's resources ignored (one node at a
time has the whole machine; a visible GPU is used, runtime/learning/device.py).
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from xexp.compiler.graph.node import Node
from xexp.runtime.engine import runs
from xexp.runtime.engine.worker import execute_node


class OneAtATime:
    """The capacity of one process: any node fits when nothing else is in flight."""

    totals: dict[str, float] = {}

    def __init__(self) -> None:
        self.running = 0

    def missing(self, wanted: dict[str, float]) -> dict[str, float]:
        return {}  # resources are what Ray schedules by; here the node takes the machine

    def fits(self, wanted: dict[str, float]) -> bool:
        return self.running == 0

    def take(self, wanted: dict[str, float]) -> None:
        self.running += 1

    def release(self, wanted: dict[str, float]) -> None:
        self.running -= 1


class _Pending:
    """A submitted node: its call, then its outcome (the summary, or what it raised)."""

    def __init__(self, call: tuple) -> None:
        self.call = call
        self.summary: dict | None = None
        self.error: Exception | None = None
        self.done = False


class LocalExecutor:
    name = "local"

    def __init__(self) -> None:
        self.capacity = OneAtATime()
        self.beat: Callable[[], None] | None = None

    def keep_alive(self, beat: Callable[[], None]) -> None:
        """While a node runs here the scheduler's loop is stopped, so its run heartbeat would go
        stale and `xexp status` call the run interrupted: a thread beats for it meanwhile."""
        self.beat = beat

    def refresh(self) -> None:
        pass

    def _beating(self, stop: threading.Event) -> None:
        while not stop.wait(runs.HEARTBEAT_INTERVAL_S):
            if self.beat is not None:
                self.beat()

    def submit(self, node: Node, call: tuple) -> Any:
        return _Pending(call)

    def wait(self, handles: list, timeout: float) -> list:
        """Run the first submitted node that has not run, here and now; it is the one finished."""
        for handle in handles:
            if not handle.done:
                stop = threading.Event()
                beating = threading.Thread(target=self._beating, args=(stop,), daemon=True,
                                           name="xexp-heartbeat")
                beating.start()
                try:
                    handle.summary = execute_node(*handle.call)
                except Exception as error:  # NodeFailed, InputArtifactInvalid, or a broken store
                    handle.error = error
                finally:
                    stop.set()
                    beating.join()
                handle.done = True
                return [handle]
        return [h for h in handles if h.done]

    def result(self, handle: Any) -> dict:
        if handle.error is not None:
            raise handle.error
        assert handle.summary is not None
        return handle.summary

    def cancel(self, handles: list) -> None:
        pass  # a node runs only inside wait(): an interrupt there has already stopped it
