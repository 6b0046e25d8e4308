"""Which features go together in a batch.

Padding is the waste of dynamic batching: a batch costs as much as its longest member. Both
orders below put features of similar length together. Training still needs randomness, so it
shuffles, sorts within large chunks (`bucket_factor` batches each) and shuffles the batches;
the whole order is a pure function of (seed, epoch), which is what lets a resumed training
find its place again from a position alone.
"""

from __future__ import annotations

import numpy as np


def inference_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Indices sorted by length, cut into batches (callers put results back by index)."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def training_batches(lengths: np.ndarray, batch_size: int, *, seed: int, epoch: int,
                     bucket_factor: int = 50, stream: int = 0) -> list[np.ndarray]:
    """`stream` tells apart the members of a multi-task training (runtime/learning/multitask.py);
    stream 0 is the single-task order."""
    lengths = np.asarray(lengths)
    rng = np.random.default_rng([seed, epoch] if stream == 0 else [seed, epoch, stream])
    shuffled = rng.permutation(len(lengths))
    chunk = batch_size * bucket_factor
    batches: list[np.ndarray] = []
    for start in range(0, len(shuffled), chunk):
        part = shuffled[start:start + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches.extend(part[i:i + batch_size] for i in range(0, len(part), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]
