"""What a training starts from: its hyperparameters, its model (encoder kept, head new) and
its optimizer and schedule.

Head replacement. Whatever the base checkpoint is — a pretrained encoder, or an intermediate
model trained for another task (or for the same task) — the model is loaded with the *target*
task's AutoModelFor... class, and then every parameter outside the encoder (the model's
`base_model`, e.g. `bert.*`) is re-initialised from the seed. So the old head is never reused,
even when it has the right shape (an MNLI head before an MNLI target), as in Phang et al. 2020.
A pooler that the base checkpoint lacks (a QA model has none) starts fresh too.

A task that continues the base's own objective (masked_lm: `Task.reinitialise_head` False)
keeps the head the checkpoint has. Re-initialising it would be worse than useless: the MLM
decoder's weight is tied to the input word embeddings, so "a fresh head" would overwrite the
embeddings with noise. Only the head weights the checkpoint lacks (an encoder-only checkpoint
such as multilingual-e5-small has no MLM transform or bias) are initialised, from the seed,
and a weight tied to the input embeddings never is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

DEFAULT_HPARAMS = {
    "lr": 1e-5, "batch": 32, "epochs": 2, "max_len": 128, "warmup": 0.1, "weight_decay": 0.01,
    "grad_accum": 1, "clip": 1.0, "freeze_embeddings": False, "eval_every": None,
    "checkpoint_every": 100, "max_steps": None, "doc_stride": None, "log_every": 10,
    "patience": None, "select": "best",
}


@dataclass(frozen=True)
class Hparams:
    lr: float
    batch: int
    epochs: int
    max_len: int
    warmup: float
    weight_decay: float
    grad_accum: int
    clip: float | None
    freeze_embeddings: bool
    eval_every: int | None
    checkpoint_every: int
    max_steps: int | None
    doc_stride: int | None
    log_every: int
    patience: int | None
    select: str


def resolve_hparams(given: dict) -> Hparams:
    """Defaults filled in, types and ranges checked; unknown names are errors, not ignored."""
    unknown = sorted(set(given) - set(DEFAULT_HPARAMS))
    if unknown:
        raise ValueError(f"unknown training hyperparameter(s) {unknown}; known: "
                         f"{', '.join(DEFAULT_HPARAMS)}")
    values: dict[str, Any] = dict(DEFAULT_HPARAMS)  # checked one by one below
    values.update({k: v for k, v in given.items() if v is not None or DEFAULT_HPARAMS[k] is None})
    for name in ("batch", "epochs", "max_len", "grad_accum", "checkpoint_every", "log_every"):
        if isinstance(values[name], bool) or not isinstance(values[name], int) or values[name] < 1:
            raise ValueError(f"hyperparameter {name} must be a positive integer, got {values[name]!r}")
    for name in ("eval_every", "max_steps", "doc_stride", "patience"):
        v = values[name]
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise ValueError(f"hyperparameter {name} must be a positive integer or None, got {v!r}")
    if values["select"] not in ("best", "last"):
        raise ValueError(f"hyperparameter select is 'best' or 'last', got {values['select']!r}")
    if not 0 < float(values["lr"]) < 1:
        raise ValueError(f"hyperparameter lr must be in (0, 1), got {values['lr']!r}")
    if not 0 <= float(values["warmup"]) < 1:
        raise ValueError(f"hyperparameter warmup is a ratio of the steps in [0, 1), got {values['warmup']!r}")
    values["lr"], values["warmup"] = float(values["lr"]), float(values["warmup"])
    values["weight_decay"] = float(values["weight_decay"])
    values["clip"] = float(values["clip"]) if values["clip"] else None
    values["freeze_embeddings"] = bool(values["freeze_embeddings"])
    return Hparams(**values)


def build_model(base: dict, task, *, seed: int):
    """The task's model: the base's encoder weights, a freshly initialised head (or, for a task
    that keeps its head, the base's head with only its missing weights initialised)."""
    import torch

    from xexp.runtime.models.sources import load_model
    from xexp.runtime.tasks.runner import quiet_loading

    with quiet_loading():
        model, info = load_model(base, task.auto_class(), ignore_mismatched_sizes=True,
                                 output_loading_info=True, **task.model_kwargs())
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if getattr(task, "reinitialise_head", True):
            reinitialise_head(model)
        else:
            missing = set(info.get("missing_keys", ())) | {
                m[0] if isinstance(m, (tuple, list)) else m for m in info.get("mismatched_keys", ())}
            initialise_missing_head(model, missing)
    return model


def head_modules(model) -> list[tuple[str, Any]]:
    """The top-level modules that are not the encoder (`base_model_prefix`)."""
    prefix = model.base_model_prefix
    return [(name, module) for name, module in model.named_children() if name != prefix]


def reinitialise_head(model) -> None:
    """BERT-style initialisation (normal(0, initializer_range), zero biases, unit norms)."""
    import torch
    from torch import nn

    std = float(getattr(model.config, "initializer_range", 0.02))
    with torch.no_grad():
        for _, head in head_modules(model):
            for module in head.modules():
                if isinstance(module, nn.Linear):
                    module.weight.normal_(0.0, std)
                    if module.bias is not None:
                        module.bias.zero_()
                elif isinstance(module, nn.LayerNorm):
                    module.weight.fill_(1.0)
                    module.bias.zero_()
                elif isinstance(module, nn.Embedding):
                    module.weight.normal_(0.0, std)


def initialise_missing_head(model, missing: set[str]) -> None:
    """Initialise (as `reinitialise_head` would) the head parameters named in `missing`, the
    ones the checkpoint did not have; never a parameter tied to the input embeddings."""
    import torch
    from torch import nn

    std = float(getattr(model.config, "initializer_range", 0.02))
    embeddings = model.get_input_embeddings().weight
    with torch.no_grad():
        for head_name, head in head_modules(model):
            for module_name, module in head.named_modules(prefix=head_name):
                for name, param in module.named_parameters(prefix=module_name, recurse=False):
                    if name not in missing or param is embeddings or param.data_ptr() == embeddings.data_ptr():
                        continue
                    if isinstance(module, nn.LayerNorm):
                        param.fill_(1.0 if name.endswith("weight") else 0.0)
                    elif param.ndim >= 2:
                        param.normal_(0.0, std)
                    else:
                        param.zero_()


def freeze_word_embeddings(model) -> None:
    model.get_input_embeddings().weight.requires_grad_(False)


def make_optimizer(model, hp: Hparams, total_steps: int):
    """AdamW (no decay on biases and norms), linear warmup then linear decay to zero."""
    import torch

    decay: list[Any] = []
    no_decay: list[Any] = []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if param.ndim < 2 or "norm" in name.lower() else decay).append(param)
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": hp.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=hp.lr,
        # One kernel for all parameters on CUDA (what Trainer uses there too); same maths.
        fused=True if any(p.is_cuda for p in decay + no_decay) else None,
    )
    warmup_steps = math.ceil(hp.warmup * total_steps)

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
