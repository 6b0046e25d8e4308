"""The states a node goes through, and what the scheduler plans for it, named once.

The run's event log (runtime/engine/runs.py) and the live progress display (xexp/progress.py) both
turn events into node states through `EVENT_STATES`; `xexp plan`, `xexp run --dry-run` and the
scheduler share `PlanState`.
"""

from __future__ import annotations

from typing import Literal, NamedTuple, get_args

NodeState = Literal["done", "running", "queued", "failed", "cached", "blocked", "pending", "interrupted"]
NODE_STATES: tuple[str, ...] = get_args(NodeState)
#: What a node that was running or queued is once its run was interrupted (Ctrl-C, a killed
#: driver): not running any more, and redone from its checkpoint by the next run.
INTERRUPTED_FROM = frozenset({"running", "queued"})
#: States after which a node does not change again in a run.
FINAL_STATES = frozenset({"done", "cached", "failed", "blocked"})

#: The node state each scheduler event leads to (events not listed change no state).
EVENT_STATES: dict[str, NodeState] = {
    "queued": "queued", "started": "running", "finished": "done", "failed": "failed",
    "cached": "cached", "blocked": "blocked", "invalidated": "pending",
    "waiting": "running",  # another driver runs it (runtime/engine/leases.py)
}


class ArtifactProblems(str):
    """A plan reason saying a node's stored artifacts failed verification; `problems` lists
    them, so the scheduler can invalidate the record without reading its own message back."""

    PREFIX = "artifact check failed: "
    problems: tuple[str, ...]

    def __new__(cls, problems: list[str] | tuple[str, ...]) -> "ArtifactProblems":
        reason = super().__new__(cls, cls.PREFIX + "; ".join(problems))
        reason.problems = tuple(problems)
        return reason


class PlanState(NamedTuple):
    """What the scheduler will do with a node, and why ("forced", "done at …", …)."""

    state: Literal["run", "cached"]
    reason: str
