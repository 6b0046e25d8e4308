"""Resumable training state: what a killed training needs to go on exactly where it stopped.

A checkpoint is one file, `resume.pt` in the node's scratch directory, replaced atomically
(written beside, then renamed), so a kill at any moment leaves either the previous complete
checkpoint or the new one. It holds the model, optimizer and scheduler states, every RNG state
(python, numpy, torch CPU and CUDA), and the loop position: optimizer step, epoch and the index
of the next batch in that epoch's order (the order itself is recomputed from seed and epoch).

The best model so far lives in its own file `best-<step>.pt`, named by step and referenced from
the checkpoint, so the checkpoint never points at a best file that a later step overwrote.
Best files no longer referenced are removed after each checkpoint.

`fingerprint` (task, hparams, seed, base model, data sizes) guards against resuming from the
state of a different training that happened to use the same scratch directory.
"""

from __future__ import annotations

import os
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

RESUME_FILE = "resume.pt"


@dataclass
class LoopState:
    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    examples_seen: int = 0
    log_loss_sum: float = 0.0
    log_steps: int = 0
    last_eval_step: int = -1
    best_metric: float | None = None
    best_step: int | None = None
    best_file: str | None = None
    loss_curve: list[dict] = field(default_factory=list)
    dev_curve: list[dict] = field(default_factory=list)


def rng_states() -> dict[str, Any]:
    import torch

    states = {"python": random.getstate(), "numpy": np.random.get_state(),
              "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    import torch

    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def save_best(scratch: Path, model, step: int) -> str:
    name = f"best-{step}.pt"
    _atomic_save({k: v.detach().cpu() for k, v in model.state_dict().items()}, scratch / name)
    return name


def load_best(scratch: Path, name: str, model) -> None:
    import torch

    model.load_state_dict(torch.load(scratch / name, map_location="cpu", weights_only=True))


def save_checkpoint(scratch: Path, *, model, optimizer, scheduler, loop: LoopState,
                    fingerprint: str) -> None:
    _atomic_save({
        "fingerprint": fingerprint,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "rng": rng_states(),
        "loop": asdict(loop),
    }, scratch / RESUME_FILE)
    for stale in scratch.glob("best-*.pt"):
        if stale.name != loop.best_file:
            stale.unlink(missing_ok=True)


def load_checkpoint(scratch: Path, *, model, optimizer, scheduler,
                    fingerprint: str) -> LoopState | None:
    """Restore everything from `scratch` and return the loop state, or None to start afresh
    (no checkpoint, or one written by a different training)."""
    import torch

    path = scratch / RESUME_FILE
    if not path.exists():
        return None
    # On the CPU first: RNG states must stay CPU tensors; load_state_dict moves the rest.
    saved = torch.load(path, map_location="cpu", weights_only=False)
    if saved.get("fingerprint") != fingerprint:
        return None
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    restore_rng_states(saved["rng"])
    loop = LoopState(**saved["loop"])
    if loop.best_file and not (scratch / loop.best_file).exists():
        raise FileNotFoundError(f"{path} refers to {loop.best_file}, which is missing from {scratch}")
    return loop


def _atomic_save(obj: Any, path: Path) -> None:
    import torch

    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)
