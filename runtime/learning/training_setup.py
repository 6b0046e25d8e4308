"""What a training starts from: its model (encoder kept, head new) and its optimizer and
schedule. Its hyperparameters are the spec's `TrainSettings` (compiler/graph/contracts.py), one
trial's values of them (`TrainSettings.trial`), validated once where the contract is read.

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
from typing import Any, TypeVar

from xexp.compiler.graph.contracts import Sweep, TrainSettings

Value = TypeVar("Value")


def fixed(value: Value | Sweep) -> Value:
    """A setting that may be swept, as the one value the settings of a trial hold
    (`TrainSettings.trial` replaced every sweep): the number the training loop computes with."""
    if isinstance(value, Sweep):
        raise ValueError(f"sweep[{', '.join(map(str, value.values))}] reached a training: it runs the settings "
                         "of one trial (TrainSettings.trial)")
    return value


def build_model(base: dict, task, *, seed: int):
    """The task's model: the base's encoder weights, a freshly initialised head (or, for a task
    that keeps its head, the base's head with only its missing weights initialised)."""
    import torch

    from xexp.runtime.learning.models.sources import load_model
    from xexp.runtime.learning.tasks.runner import quiet_loading

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


def make_optimizer(model, hp: TrainSettings, total_steps: int):
    """AdamW (no decay on biases and norms), linear warmup then linear decay to zero."""
    import torch

    decay: list[Any] = []
    no_decay: list[Any] = []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if param.ndim < 2 or "norm" in name.lower() else decay).append(param)
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": fixed(hp.weight_decay)}, {"params": no_decay, "weight_decay": 0.0}],
        lr=fixed(hp.lr),
        # One kernel for all parameters on CUDA (what Trainer uses there too); same maths.
        fused=True if any(p.is_cuda for p in decay + no_decay) else None,
    )
    warmup_steps = math.ceil(fixed(hp.warmup) * total_steps)

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
