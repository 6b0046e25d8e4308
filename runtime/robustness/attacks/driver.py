"""Answer many per-example attack generators with few, large model calls.

Each round collects the pending query batch of every unfinished attack, sends them to the model
together (cut into chunks of `max_batch` pairs), and hands each attack its own rows back. An
example's queries are counted by the attack itself, so batching changes speed, not results.
"""

from __future__ import annotations

from typing import Any, Callable, Generator, Sequence, TypeVar

import numpy as np

Pair = tuple[str, str]
PredictProba = Callable[[list[Pair]], np.ndarray]
#: answers a list of queries (whatever an attack yields) with one answer each, in order
Answer = Callable[[list[Any]], Sequence[Any]]
R = TypeVar("R")

DEFAULT_MAX_BATCH = 1024


def run_batched(
    attacks: Sequence[Generator[list[Any], Any, R]],
    answer: Answer,
    max_batch: int = DEFAULT_MAX_BATCH,
) -> list[R]:
    """Run every generator to completion; returns their return values, in input order."""
    if max_batch < 1:
        raise ValueError(f"attack: max_batch must be >= 1, got {max_batch}")
    results: list[R | None] = [None] * len(attacks)
    pending: dict[int, list[Any]] = {}

    def advance(index: int, answers: Sequence[Any] | None) -> None:
        try:
            request = next(attacks[index]) if answers is None else attacks[index].send(answers)
        except StopIteration as stop:
            results[index] = stop.value
            return
        if not request:
            raise RuntimeError(f"attack on example #{index} asked the model about no input")
        pending[index] = request

    for index in range(len(attacks)):
        advance(index, None)
    while pending:
        order = sorted(pending)
        flat = [pair for index in order for pair in pending[index]]
        answers: list[Any] = []
        for start in range(0, len(flat), max_batch):
            chunk = flat[start:start + max_batch]
            got = list(answer(chunk))
            if len(got) != len(chunk):
                raise ValueError(f"attack: the model answered {len(got)} of {len(chunk)} queries")
            answers.extend(got)
        requests = {index: pending.pop(index) for index in order}
        offset = 0
        for index in order:
            size = len(requests[index])
            advance(index, answers[offset:offset + size])
            offset += size
    return results  # type: ignore[return-value]
