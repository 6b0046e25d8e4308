"""Split-aware, seeded sampling of item cores, shared by every synthetic task.

The random source depends on (seed, split, task) only, never on the language: that is what
makes the languages parallel (same ids, same underlying items, like XNLI). Cores are assigned
to train/dev/test by a hash of (seed, core), so train and test never share a core.
"""

from __future__ import annotations

import hashlib
import random
from typing import Generic, Sequence, TypeVar

T = TypeVar("T")

# hash bucket (0..19) ranges of the named splits; any other split name samples from all cores.
_SPLIT_BUCKETS = {"train": range(0, 12), "dev": range(12, 16), "test": range(16, 20)}
_SPLIT_ALIASES = {"validation": "dev", "val": "dev", "valid": "dev"}


def split_rng(seed: int, split: str, task: str) -> random.Random:
    return random.Random(f"xexp-synthetic|{seed}|{split}|{task}")


def split_cores(cores: Sequence[T], seed: int, split: str) -> list[T]:
    """The cores that belong to `split` (all of them for a split name we do not partition)."""
    buckets = _SPLIT_BUCKETS.get(_SPLIT_ALIASES.get(split, split))
    if buckets is None:
        return list(cores)
    return [c for c in cores if _bucket(seed, c) in buckets]


def _bucket(seed: int, core: object) -> int:
    digest = hashlib.sha256(f"{seed}|{core!r}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 20


class CyclingPool(Generic[T]):
    """Draws cores without replacement, reshuffling when exhausted (small pools repeat)."""

    def __init__(self, cores: Sequence[T], rng: random.Random):
        if not cores:
            raise ValueError("synthetic data: a split has no items left for a family")
        self._cores, self._rng = list(cores), rng
        self._queue: list[T] = []

    def draw(self) -> T:
        if not self._queue:
            self._queue = list(self._cores)
            self._rng.shuffle(self._queue)
        return self._queue.pop()


def balanced_counts(size: int, parts: int) -> list[int]:
    """`size` split into `parts` counts that differ by at most one (exactly equal when divisible)."""
    return [size // parts + (1 if i < size % parts else 0) for i in range(parts)]
