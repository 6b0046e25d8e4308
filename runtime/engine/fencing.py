"""Fencing: a holder whose lease was taken over stops before it writes beside the new holder.

A lease (leases.py) is judged stale when its heartbeat stops, which is also what a *stalled*
holder looks like (SIGSTOP, Ctrl-Z, a VM paused for a minute): another driver then takes the
node over, and when the stalled one resumes it must not go on writing in the folders the new
holder now owns. So each lease carries a *generation*, one more than the node's last, and:

- every write the holder makes in the node's scratch folder first checks that the lease is
  still its own (``check``; training checkpoints call it before writing and before removing old
  checkpoints), and names its temporary files by its generation, so the two never share a file;
- the completion record and ``_failed.json`` are written only while the lease is still its own;
- a holder that finds its lease taken raises ``LeaseLost``: the node stops in one line, writes
  nothing more, and its driver waits for the new holder (worker.execute_node).

A check and the write after it are not one atomic step: a holder stalled exactly between them
can still write once. The generation-named temporary files and the record check keep even that
write from replacing the new holder's files or its record.

The lease of the node a worker runs is process-wide state here (``holding``): a Ray worker runs
one node at a time, and the training code several calls deep needs no lease parameter.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from xexp.errors import StoreError
from xexp.runtime.engine.leases import Lease, read_owner


class LeaseLost(StoreError):
    """This process's lease on a node was judged stale and taken over by another holder.
    Nothing to do: the node stops without writing and its driver adopts the new holder's work."""

    def __init__(self, lease: Lease) -> None:
        owner = read_owner(lease.path) or {}
        self.owner = owner
        super().__init__(
            f"lease generation {lease.generation} lost to run {owner.get('run_id', '?')} "
            f"(host {owner.get('host', '?')}, pid {owner.get('pid', '?')}) after this holder "
            "stalled; stopping without writing")


_current: Lease | None = None


@contextlib.contextmanager
def holding(lease: Lease) -> Iterator[None]:
    """The lease this process works under, for ``check`` and ``generation`` meanwhile."""
    global _current
    previous, _current = _current, lease
    try:
        yield
    finally:
        _current = previous


def check() -> None:
    """Raise ``LeaseLost`` when the lease this process works under is no longer its own."""
    if _current is not None and not _current.held():
        raise LeaseLost(_current)


def lost() -> bool:
    return _current is not None and not _current.held()


def generation() -> int:
    """The generation of the lease this process works under (0 outside a leased node)."""
    return _current.generation if _current is not None else 0
