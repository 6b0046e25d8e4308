"""Multi-task training (a `mix` variant): which member each batch comes from, and one model per
member around a single shared encoder.

Shares. `Sampling` (compiler/graph/contracts.py) gives each member its share of the batches as
jiant's samplers do: p_i ∝ n_i (proportional), ∝ min(n_i, cap) (capped, jiant's
`examples_cap`), ∝ n_i^(1/T) (temperature). n_i counts the member's training *features*, the
units batches are made of (a row, or for QA one context window), as jiant counts a task's
examples after tokenization.

An epoch of a mix. Under `proportional`, every member's data once, as in single-task training:
m_i = ceil(n_i / batch) batches of member i, M = Σ m_i in all. Under `capped`, a cap's worth at
most: ceil(min(n_i, cap) / batch). Under `temperature`, the M batches of a proportional epoch
shared out by p_i (largest remainders), so that small tasks are seen more than once per epoch and
large ones less. Every member trains at least one batch per epoch.

Order. Unlike jiant, which draws a task independently at every step, the batch counts of an
epoch are fixed (the expected counts of jiant's draws, without their variance) and the order in
which members take turns is a random permutation. Member i's batches come from its own endless
stream of passes over its data, pass p in the order `training_batches(…, seed, epoch=p,
stream=i)`; epoch e takes the stream's batches [e·k_i, (e+1)·k_i). Everything is a function of
(seed, epoch) alone, so a training resumed at any position walks through the same batches as an
uninterrupted one; and a mix of one member is exactly the single-task training of that task.

The model. Each member's model is built as a single-task training builds it
(training_setup.build_model: the task's AutoModelFor… class, its head fresh from the seed), then
the members' encoders are replaced by one shared encoder through the task's `share_encoder`
hook (which re-ties weights tied to the input embeddings, e.g. an MLM head). The shared encoder
is the largest of the members' (a pooler is kept when any member's class has one). What is
saved is the model of the member whose encoder that is: the encoder plus one head; a target
training replaces heads anyway (training_setup.py).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from xexp.compiler.graph.contracts import Sampling
from xexp.runtime.learning.tasks.batching import training_batches

#: The random stream of the members' turns (member i's batches use stream i).
TURNS_STREAM = 0xFFFF


def apportion(total: int, probabilities: Sequence[float]) -> list[int]:
    """`total` split by `probabilities` into whole numbers (largest remainders, ties to the
    earlier member), each at least 1."""
    exact = [total * p for p in probabilities]
    counts = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return [max(1, c) for c in counts]


def epoch_quotas(sampling: Sampling, sizes: Sequence[int], batch_size: int) -> list[int]:
    """How many batches each member trains per epoch, from its number of features (see the
    module docstring): its share's worth of batches (`Sampling.weights`: all its features, or
    a cap's worth), or under `temperature` a proportional epoch's batches shared out by p_i."""
    if sampling.kind == "temperature":
        batches = sum(max(1, math.ceil(n / batch_size)) for n in sizes)
        return apportion(batches, sampling.probabilities(list(sizes)))
    return [max(1, math.ceil(weight / batch_size)) for weight in sampling.weights(list(sizes))]


class Schedule:
    """The batches of each epoch: (member, feature indices), a pure function of (seed, epoch)."""

    def __init__(self, lengths: Sequence[np.ndarray], batch_size: int, seed: int,
                 sampling: Sampling | None = None):
        """`lengths[i]`: the token counts of member i's features; `sampling` None: one task."""
        self.lengths = [np.asarray(x) for x in lengths]
        self.batch_size = batch_size
        self.seed = seed
        self.batches = [math.ceil(len(x) / batch_size) for x in self.lengths]
        if sampling is None:
            assert len(self.lengths) == 1, "a schedule of several members needs a sampling rule"
            sampling = Sampling()
        self.quotas = epoch_quotas(sampling, [len(x) for x in self.lengths], batch_size)

    @property
    def batches_per_epoch(self) -> int:
        return sum(self.quotas)

    def member_batches(self, member: int, epoch: int) -> list[np.ndarray]:
        """Member `member`'s batches in `epoch`: a slice of its endless stream of passes."""
        start, count, per_pass = epoch * self.quotas[member], self.quotas[member], self.batches[member]
        out: list[np.ndarray] = []
        for index in range(start // per_pass, (start + count - 1) // per_pass + 1):
            order = training_batches(self.lengths[member], self.batch_size, seed=self.seed, epoch=index,
                                     stream=member)
            first = max(start - index * per_pass, 0)
            out.extend(order[first: first + count - len(out)])
        return out

    def epoch(self, epoch: int) -> list[tuple[int, np.ndarray]]:
        streams = [self.member_batches(m, epoch) for m in range(len(self.quotas))]
        if len(streams) == 1:
            return [(0, b) for b in streams[0]]
        turns = np.repeat(np.arange(len(streams)), self.quotas)
        turns = turns[np.random.default_rng([self.seed, epoch, TURNS_STREAM]).permutation(len(turns))]
        cursors = [0] * len(streams)
        out = []
        for member in turns.tolist():
            out.append((member, streams[member][cursors[member]]))
            cursors[member] += 1
        return out


# --- one model per member, one encoder -------------------------------------------------------------

def _parameter_count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def build_members(base: dict, tasks: Sequence[Any], *, seed: int) -> tuple[Any, list[Any], int]:
    """(the module holding every trained tensor once, the members' models, the index of the
    member whose encoder is shared). Built one after the other, so that at most two copies of
    the encoder are in memory at once; member i's head starts from seed + i."""
    from torch import nn

    from xexp.runtime.learning.training_setup import build_model, head_modules

    models: list[Any] = []
    shared: Any = None
    owner = 0
    for index, task in enumerate(tasks):
        model = build_model(base, task, seed=seed + index)
        encoder = model.base_model
        if shared is None or _parameter_count(encoder) > _parameter_count(shared):
            shared, owner = encoder, index
            for earlier, earlier_task in zip(models, tasks):
                earlier_task.share_encoder(earlier, shared)
        else:
            task.share_encoder(model, shared)
        models.append(model)
    # The optimizer, state dicts and resume files see the shared encoder and each head once.
    assert shared is not None, "a mix has at least one member"
    container = nn.Module()
    container.encoder = shared
    container.heads = nn.ModuleList(nn.ModuleDict(dict(head_modules(m))) for m in models)
    return container, models, owner
