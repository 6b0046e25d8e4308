"""Running a model over features: device choice, precision, quiet loading, batched forward.

Shared by training (dev evaluation) and evaluation so both score a model the same way:
length-sorted batches under `torch.inference_mode`, bf16 autocast on CUDA, fp32 on CPU.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import numpy as np

from xexp.runtime.tasks.base import Features, Task, model_inputs
from xexp.runtime.tasks.batching import inference_batches


def pick_device():
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def autocast(device):
    """bf16 autocast on CUDA; a no-op on CPU, where bf16 matmuls are slower than fp32."""
    import torch

    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


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
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), autocast(device):
            for index in inference_batches(features.lengths, batch_size):
                batch = task.collate([features.items[i] for i in index], pad_id)
                result = model(**model_inputs(batch, device))
                for i, array in zip(index.tolist(), task.split_outputs(result, batch)):
                    outputs[i] = array
    finally:
        model.train(was_training)
    return outputs  # type: ignore[return-value]


def pad_id_of(tokenizer) -> int:
    """The id padding is filled with (0 for tokenizers that define none)."""
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
