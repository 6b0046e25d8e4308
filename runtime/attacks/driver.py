"""Answer many per-example attack generators with few, large model calls.

Each round collects the pending query batch of every unfinished attack, sends them to the model
together (cut into chunks of `max_batch` pairs), and hands each attack its own rows back. An
example's queries are counted by the attack itself, so batching changes speed, not results.
"""

from __future__ import annotations

from typing import Callable, Generator, Sequence, TypeVar

import numpy as np

Pair = tuple[str, str]
PredictProba = Callable[[list[Pair]], np.ndarray]
R = TypeVar("R")

DEFAULT_MAX_BATCH = 1024


def _predict_checked(predict_proba: PredictProba, pairs: list[Pair], n_labels: int) -> np.ndarray:
    probs = np.asarray(predict_proba(pairs), dtype=np.float64)
    if probs.shape != (len(pairs), n_labels):
        raise ValueError(
            f"attack: predict_proba returned shape {probs.shape} for {len(pairs)} pairs; "
            f"expected ({len(pairs)}, {n_labels}) (one probability per label name)"
        )
    if not np.all(np.isfinite(probs)):
        raise ValueError("attack: predict_proba returned non-finite probabilities")
    return probs


def run_batched(
    attacks: Sequence[Generator[list[Pair], np.ndarray, R]],
    predict_proba: PredictProba,
    n_labels: int,
    max_batch: int = DEFAULT_MAX_BATCH,
) -> list[R]:
    """Run every generator to completion; returns their return values, in input order."""
    if max_batch < 1:
        raise ValueError(f"attack: max_batch must be >= 1, got {max_batch}")
    results: list[R | None] = [None] * len(attacks)
    pending: dict[int, list[Pair]] = {}

    def advance(index: int, answer: np.ndarray | None) -> None:
        try:
            request = next(attacks[index]) if answer is None else attacks[index].send(answer)
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
        probs = np.concatenate([
            _predict_checked(predict_proba, flat[start:start + max_batch], n_labels)
            for start in range(0, len(flat), max_batch)
        ])
        requests = {index: pending.pop(index) for index in order}
        offset = 0
        for index in order:
            size = len(requests[index])
            advance(index, probs[offset:offset + size])
            offset += size
    return results  # type: ignore[return-value]
