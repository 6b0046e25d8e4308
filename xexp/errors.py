"""The errors a user can meet, in one hierarchy whose classes carry their category.

What a failure does to a run depends on its kind, never on its wording: a full or read-only
store stops the whole run (every other node would meet it too), a bad row fails its node and
the nodes that need it, a worker that died is retried by Ray first. So each error says its
`Category`; a failed node's `_failed.json` records it (runtime/engine/failures.py) and the scheduler
decides by it (runtime/engine/scheduler.py), with no match on a message or a class name.

An error that is not an `XexpError` is `unexpected`: a bug in xexp or a library's own error,
whose traceback the node's `_failed.json` and log keep. Internal invariants stay plain
`ValueError`/`AssertionError` for that reason: a user cannot fix them by changing the spec.

The compiler's `SpecError` (compiler/errors.py) is an `XexpError` too, so this module stays
light: the standard library only, no runtime import.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class Category(StrEnum):
    """What kind of failure an error is: the word `_failed.json`, the run's events and the
    scheduler's policy use."""

    SPEC = "spec"
    DATA = "data"
    STORE = "store"
    MODEL = "model"
    RESOURCES = "resources"
    #: The worker process or its machine died (more often than Ray's retries allow).
    SYSTEM = "system"
    #: Not an `XexpError`: a bug, or a library's own error.
    UNEXPECTED = "unexpected"
    #: A failure record written before categories existed, or by a newer xexp with more of them.
    UNKNOWN = "unknown"


class XexpError(Exception):
    """An error xexp raises on purpose: its message says what is wrong and where, in one line.

    Not raised itself; each subclass sets its `category`.
    """

    category: ClassVar[Category] = Category.UNEXPECTED


def category_of(error: BaseException) -> Category:
    """The category of any error: its own for an `XexpError`, `unexpected` for the rest."""
    return error.category if isinstance(error, XexpError) else Category.UNEXPECTED


class SpecValueError(XexpError, ValueError):
    """A value of the spec or of a command-line option that only fails where it is used.

    Raised while running (or by `xexp perturb`) when a value `xexp check` could not judge meets
    what it applies to: a retrieval layer deeper than the model, a keyboard layout a language
    lacks, a sweep without a dev split, an unknown `--force` node. What to do: change the value
    the message names; the rest of the spec's finished work is kept.
    """

    category = Category.SPEC


class DataError(XexpError, ValueError):
    """Bad input data: the message names the file (or dataset), the row and the field.

    Raised by the readers and the normalizer of a `load` node, by the lexicons perturbations
    read, and where stored tables do not hold what they must (predictions without their
    columns). `location` is e.g. "data/dev.jsonl, line 12"; `field` the normalized field (or
    source column) at fault, None when the whole source is unusable. What to do: fix or drop
    that row or file (or select other rows with `rows=`), then run again.
    """

    category = Category.DATA

    def __init__(self, location: str, problem: str, field: str | None = None) -> None:
        self.location, self.problem, self.field = location, problem, field
        where = f"{location}, field {field!r}" if field else location
        super().__init__(f"{where}: {problem}")

    def __reduce__(self):  # pickled by Ray with its three arguments, not its message
        return type(self), (self.location, self.problem, self.field)


class StoreError(XexpError):
    """The store cannot be used: an unsupported URL, a path that is not a folder, a run that
    is not there, or `gc` refused while a run is going on. What to do: what the line says
    (another `--store`, wait for the run); nothing in the store was changed."""

    category = Category.STORE


class StoreFault(StoreError):
    """The store's filesystem refused a write: full, read-only, or not ours to write.

    Raised wherever a write fails that way (runtime/engine/faults.py recognises it, also inside a
    library's own error); the run stops in one line and removes what the write left half done.
    What to do: free space or fix the permissions, then run again: finished nodes are kept.
    """


class ModelError(XexpError, ValueError):
    """A model that cannot be used as the spec asks: it does not load, it would run code the
    spec does not trust, or its head, tokenizer or weights do not fit the task.

    Raised where a node loads a model or reads its tokenizer. What to do: choose another model
    or task, or, for code a model carries, say `trust_remote_code=true` in its `hf(…)` source
    if you trust it.
    """

    category = Category.MODEL


class ResourceError(XexpError):
    """What a node or the run asks of the machines cannot be had: more CPUs, GPUs or memory
    than the whole cluster has, or resources given for a cluster that brings its own.

    What to do: start Ray with more resources, join a bigger cluster (`--address`), or ask for
    less in the spec's `resources { … }` block.
    """

    category = Category.RESOURCES
