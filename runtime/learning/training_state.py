"""Resumable training state: what a killed training needs to go on exactly where it stopped.

Nothing here is ever unpickled. The scratch directory is part of the store, and a store may be
shared and writable by others, so a resume file is data, never code: tensors go to safetensors
files (a header and raw bytes), everything else (loop position, python/numpy RNG, optimizer
and scheduler scalars) to JSON.

A checkpoint is `resume.json` plus the tensor file it names (`resume-<step>.safetensors`). The
tensor file is written first, then the JSON is replaced atomically: the JSON is the commit
point, so a kill at any moment leaves either the previous complete checkpoint or the new one.
The JSON holds the tensor file's sha256 and the training's `fingerprint` (task, hparams, seed,
base model, data), both checked *before* any tensor is read, so a checkpoint of another
training, or an altered or foreign one, is ignored (logged) and the training starts afresh.

Only tensors that training changes are kept (parameters that require grad, and buffers): frozen
parameters come back identical from the base model when the model is rebuilt. The best model
so far lives in its own file `best-<step>.safetensors`, named by step and referenced from the
checkpoint, so the checkpoint never points at a best file that a later step overwrote. Best
files no longer referenced are removed after each checkpoint.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from xexp.compiler.inputs import sha256_of
from xexp.runtime.engine import fencing

STATE_FILE = "resume.json"
LEGACY_FILE = "resume.pt"  # the pickled format of older versions: never read
FORMAT = "xexp-resume/1"
_log = logging.getLogger(__name__)


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
    best_sha256: str | None = None
    #: dev evaluations since the best one (the `patience` counter): part of the resumable state
    evals_since_best: int = 0
    loss_curve: list[dict] = field(default_factory=list)
    dev_curve: list[dict] = field(default_factory=list)


class ResumeStateInvalid(ValueError):
    """A resume checkpoint that cannot be trusted or read; the training starts afresh."""


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


# --- tensors/JSON split -----------------------------------------------------------------------

def split_tensors(value: Any, tensors: dict, prefix: str) -> Any:
    """`value` as JSON-able data, its tensors moved to `tensors` under dotted names.

    Tags keep what JSON would lose: tuples, dicts with non-string keys (optimizer states are
    keyed by parameter index), numpy arrays (numpy's RNG state).
    """
    import torch

    if isinstance(value, torch.Tensor):
        tensors[prefix] = value.detach().to("cpu", copy=True).contiguous()
        return {"__tensor__": prefix}
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {k: split_tensors(v, tensors, f"{prefix}.{k}") for k, v in value.items()}
        return {"__items__": [[split_tensors(k, tensors, f"{prefix}.k{i}"),
                               split_tensors(v, tensors, f"{prefix}.{i}")]
                              for i, (k, v) in enumerate(value.items())]}
    if isinstance(value, tuple):
        return {"__tuple__": [split_tensors(v, tensors, f"{prefix}.{i}") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [split_tensors(v, tensors, f"{prefix}.{i}") for i, v in enumerate(value)]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    raise TypeError(f"cannot store a {type(value).__name__} in a resume checkpoint ({prefix})")


def join_tensors(value: Any, tensors: dict) -> Any:
    """The inverse of `split_tensors`; a tensor name missing from `tensors` is an error."""
    if isinstance(value, list):
        return [join_tensors(v, tensors) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tensor__" in value:
        name = value["__tensor__"]
        if name not in tensors:
            raise ResumeStateInvalid(f"tensor {name!r} is missing from the checkpoint's tensor file")
        return tensors[name]
    if "__ndarray__" in value:
        return np.asarray(value["__ndarray__"], dtype=np.dtype(value["dtype"]))
    if "__tuple__" in value:
        return tuple(join_tensors(v, tensors) for v in value["__tuple__"])
    if "__items__" in value:
        return {_hashable(join_tensors(k, tensors)): join_tensors(v, tensors) for k, v in value["__items__"]}
    return {k: join_tensors(v, tensors) for k, v in value.items()}


def _hashable(key: Any) -> Any:
    return tuple(_hashable(k) for k in key) if isinstance(key, (list, tuple)) else key


# --- RNG ----------------------------------------------------------------------------------------

def rng_states() -> dict[str, Any]:
    import torch

    states = {"python": random.getstate(), "numpy": np.random.get_state(),
              "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    import torch

    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    np.random.set_state(tuple(states["numpy"]))
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(list(states["cuda"]))


# --- model tensors ------------------------------------------------------------------------------

def trained_state(model) -> dict:
    """The model's state without its frozen parameters (they come back from the base model)."""
    frozen = {name for name, param in model.named_parameters() if not param.requires_grad}
    return {k: v.detach().to("cpu", copy=True).contiguous()
            for k, v in model.state_dict().items() if k not in frozen}


def check_fits(model, state: dict, source: Path) -> None:
    """`state` has exactly the model's trained tensors, with their shapes and dtypes."""
    expected = {k: v for k, v in model.state_dict().items()
                if k not in {n for n, p in model.named_parameters() if not p.requires_grad}}
    if state.keys() != expected.keys():
        missing, unexpected = sorted(expected.keys() - state.keys()), sorted(state.keys() - expected.keys())
        raise ResumeStateInvalid(f"{source} does not fit this model (missing {missing[:3]}, "
                                 f"unexpected {unexpected[:3]})")
    for name, tensor in state.items():
        if tensor.shape != expected[name].shape or tensor.dtype != expected[name].dtype:
            raise ResumeStateInvalid(f"{source}: {name} is {tuple(tensor.shape)} {tensor.dtype}, "
                                     f"the model's {tuple(expected[name].shape)} {expected[name].dtype}")


def load_trained_state(model, state: dict, source: Path) -> None:
    check_fits(model, state, source)
    model.load_state_dict(state, strict=False)


def save_best(scratch: Path, model, step: int) -> tuple[str, str]:
    """Write the best model so far; returns its file name and sha256."""
    name = f"best-{step}.safetensors"
    fencing.check()
    return name, _atomic_save_tensors(trained_state(model), scratch / name)


def load_best(scratch: Path, name: str, sha256: str | None, model) -> None:
    from safetensors.torch import load_file

    path = scratch / name
    if sha256_of(path) != sha256:
        raise ResumeStateInvalid(f"{path} changed since it was written (sha256 mismatch)")
    load_trained_state(model, load_file(path, device="cpu"), path)


# --- checkpoint ---------------------------------------------------------------------------------

def save_checkpoint(scratch: Path, *, model, optimizer, scheduler, loop: LoopState,
                    fingerprint: str) -> None:
    tensors: dict = {f"model.{k}": v for k, v in trained_state(model).items()}
    data = {
        "format": FORMAT,
        "fingerprint": fingerprint,
        "model": sorted(k[len("model."):] for k in tensors),
        "optimizer": split_tensors(optimizer.state_dict(), tensors, "optimizer"),
        "scheduler": split_tensors(scheduler.state_dict(), tensors, "scheduler"),
        "rng": split_tensors(rng_states(), tensors, "rng"),
        "loop": asdict(loop),
    }
    tensor_file = f"resume-{loop.step}.safetensors"
    data["tensor_file"] = tensor_file
    fencing.check()  # a holder that stalled and lost its lease writes nothing more (fencing.py)
    data["tensor_sha256"] = _atomic_save_tensors(tensors, scratch / tensor_file)
    fencing.check()
    _atomic_write(scratch / STATE_FILE, json.dumps(data).encode("utf-8"))
    for stale in [*scratch.glob("best-*"), *scratch.glob("resume-*")]:
        if stale.name not in (loop.best_file, tensor_file) and not stale.name.endswith(".tmp"):
            stale.unlink(missing_ok=True)


def load_checkpoint(scratch: Path, *, model, optimizer, scheduler,
                    fingerprint: str) -> LoopState | None:
    """Restore everything from `scratch` and return the loop state, or None to start afresh:
    no checkpoint, one written by a different training, or one that cannot be trusted (logged
    in one line; the training then starts from scratch and overwrites it)."""
    legacy = scratch / LEGACY_FILE
    if legacy.exists():
        _log.warning("ignoring %s: pickled checkpoints (older xexp) are never loaded", legacy)
    path = scratch / STATE_FILE
    if not path.exists():
        return None
    try:
        return _load_checkpoint(scratch, model=model, optimizer=optimizer, scheduler=scheduler,
                                fingerprint=fingerprint)
    except ResumeStateInvalid as error:
        _log.warning("ignoring the resume checkpoint in %s, training from the start: %s", scratch, error)
        return None


def _load_checkpoint(scratch: Path, *, model, optimizer, scheduler, fingerprint: str) -> LoopState | None:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = scratch / STATE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ResumeStateInvalid(f"{path} is not a JSON resume state ({error})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ResumeStateInvalid(f"{path} is not an {FORMAT} resume state")
    if data.get("fingerprint") != fingerprint:
        _log.info("the resume checkpoint in %s belongs to another training; starting afresh", scratch)
        return None
    tensor_file = data.get("tensor_file")
    if not isinstance(tensor_file, str) or Path(tensor_file).name != tensor_file:
        raise ResumeStateInvalid(f"{path} names no valid tensor file")
    tensor_path = scratch / tensor_file
    if not tensor_path.is_file() or sha256_of(tensor_path) != data.get("tensor_sha256"):
        raise ResumeStateInvalid(f"{tensor_path} is missing or does not match its sha256 in {path}")
    try:
        tensors = load_file(tensor_path, device="cpu")
        loop = LoopState(**data["loop"])
        model_state = {k: tensors[f"model.{k}"] for k in data["model"]}
        optimizer_state = join_tensors(data["optimizer"], tensors)
        scheduler_state = join_tensors(data["scheduler"], tensors)
        rng = join_tensors(data["rng"], tensors)
    except (SafetensorError, KeyError, TypeError, ValueError) as error:
        raise ResumeStateInvalid(f"{path}: {type(error).__name__}: {error}") from None
    if loop.best_file and (Path(loop.best_file).name != loop.best_file
                           or not (scratch / loop.best_file).is_file()):
        raise ResumeStateInvalid(f"{path} refers to {loop.best_file}, which is missing from {scratch}")
    if loop.best_file and sha256_of(scratch / loop.best_file) != loop.best_sha256:
        raise ResumeStateInvalid(f"{scratch / loop.best_file} does not match its sha256 in {path}")
    check_fits(model, model_state, tensor_path)
    # All or nothing: a state that fails half-way is rolled back, so that "start afresh" really
    # starts from the fresh optimizer, schedule and RNG (they are small before training).
    fresh = copy.deepcopy((optimizer.state_dict(), scheduler.state_dict())), rng_states()
    try:
        optimizer.load_state_dict(optimizer_state)
        scheduler.load_state_dict(scheduler_state)
        restore_rng_states(rng)
    except (TypeError, ValueError, KeyError, IndexError, RuntimeError) as error:
        (optimizer_fresh, scheduler_fresh), rng_fresh = fresh
        optimizer.load_state_dict(optimizer_fresh)
        scheduler.load_state_dict(scheduler_fresh)
        restore_rng_states(rng_fresh)
        raise ResumeStateInvalid(f"{path}: {type(error).__name__}: {error}") from None
    load_trained_state(model, model_state, tensor_path)
    return loop


# --- files --------------------------------------------------------------------------------------

def _atomic_save_tensors(tensors: dict, path: Path) -> str:
    """Write a safetensors file atomically; returns its sha256."""
    from safetensors.torch import save

    data = save(tensors, metadata={"format": "pt"})
    _atomic_write(path, data)
    return hashlib.sha256(data).hexdigest()


def _atomic_write(path: Path, data: bytes) -> None:
    # Named by the lease's generation: a stalled former holder never shares a file with us.
    tmp = path.with_name(f"{path.name}.g{fencing.generation()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
