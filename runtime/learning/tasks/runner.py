"""Running a model over features: quiet loading, batched forward (device choice and precision
come from runtime/learning/device.py and are re-exported here).

Shared by training (dev evaluation) and evaluation so both score a model the same way:
length-sorted batches under `torch.inference_mode`, bf16 autocast on CUDA, fp32 on CPU.
"""

from __future__ import annotations

import contextlib
from collections import deque
from typing import Iterator

import numpy as np

from xexp.runtime.learning.device import autocast, pick_device
from xexp.runtime.learning.tasks.base import Features, Task, model_inputs
from xexp.runtime.learning.tasks.batching import inference_batches

__all__ = ["autocast", "forward_features", "pad_id_of", "pick_device", "quiet_loading"]

#: Batches whose outputs may still be on the GPU when the next batch is sent: reading each
#: batch's outputs at once would make the host wait for the GPU after every batch.
PENDING_BATCHES = 16


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """Silence transformers' per-load weight reports and progress bars (one per node is noise:
    every head swap legitimately reports the old head as unused and the new one as missing)."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def forward_features(model, task: Task, features: Features, *, batch_size: int, pad_id: int,
                     device) -> list[np.ndarray]:
    """Per-feature outputs (float32, padding removed) in the features' original order."""
    import torch

    outputs: list[np.ndarray | None] = [None] * len(features)
    # A sliding window: the oldest batch is read back while the newer ones keep the GPU busy.
    pending: deque[tuple[np.ndarray, object, dict]] = deque()
    keep = getattr(task, "pending_batches", PENDING_BATCHES) if device.type == "cuda" else 0

    def drain(limit: int) -> None:
        while len(pending) > limit:
            index, result, batch = pending.popleft()
            for i, array in zip(index.tolist(), task.split_outputs(result, batch)):
                outputs[i] = array

    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), autocast(device):
            for index in inference_batches(features.lengths, batch_size):
                batch = task.collate([features.items[i] for i in index], pad_id)
                pending.append((index, model(**model_inputs(batch, device)), batch))
                drain(keep)
            drain(0)
    finally:
        model.train(was_training)
    return outputs  # type: ignore[return-value]


def pad_id_of(tokenizer) -> int:
    """The id padding is filled with (0 for tokenizers that define none)."""
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
