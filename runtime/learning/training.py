"""Fine-tune a model for one task, or for the members of a `mix` at once: the `train` node's work.

One loop (`_fit`) serves both: a single task is a schedule of one member, a mix a schedule of
several around a shared encoder (runtime/learning/multitask.py).

A plain PyTorch loop rather than `transformers.Trainer`, for three reasons: resuming must be
exact (model, optimizer, scheduler, every RNG and the position in the data order, see
training_state.py), batches are bucketed by length with dynamic padding (most of the speed on
CPU), and the dev metric is the task's own decoding (QA F1 needs span decoding over windows).

Determinism: with the same seed, data and hardware, two runs give bit-identical weights on CPU,
and a run killed and resumed equals an uninterrupted one. On CUDA, bf16 autocast and
non-deterministic kernels make runs close but not bit-identical.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from xexp.compiler.graph.contracts import Sampling, TrainSettings
from xexp.errors import DataError
from xexp.runtime.learning.device import LossSum, batch_to_device, weighted_loss
from xexp.runtime.learning.multitask import Schedule
from xexp.runtime.learning.tasks import get_task
from xexp.runtime.learning.tasks.base import model_inputs
from xexp.runtime.learning.tasks.runner import autocast, forward_features, pad_id_of, pick_device, quiet_loading
from xexp.runtime.manifests.train import MemberStats, SharedFrom, TrainManifest
from xexp.runtime.learning.training_setup import build_model, fixed, freeze_word_embeddings, make_optimizer
from xexp.runtime.learning.training_state import (
    LoopState, load_best, load_checkpoint, save_best, save_checkpoint, seed_everything,
)

CHECKPOINT_DIR = "checkpoint"
CURVE_FILE = "curve.json"
#: A checkpoint at least this often (besides every `checkpoint_every` steps and every epoch).
CHECKPOINT_SECONDS = 600.0
#: The dev metric of a mix: the mean of its members' dev metrics.
MIX_METRIC = "mean_dev"
#: One point of the loss curve (and one progress report) per this many optimisation steps.
LOG_EVERY = 10


def train(*, base: dict, task_type: str, train_table, dev_table, hparams: TrainSettings, seed: int,
          out_dir: Path, scratch_dir: Path,
          progress: Callable[[dict], None] | None = None, task_params: dict | None = None,
          log_every: int = LOG_EVERY) -> TrainManifest:
    """Train `base` (a model manifest) on `train_table` with the settings of one trial
    (`TrainSettings.trial`: no sweep left), keep the best dev checkpoint.

    Writes `checkpoint/` (model + tokenizer, loadable with models.sources.load_model; tensors
    left unchanged from a base in the store are shared with it) and `curve.json` into
    `out_dir`; periodic resumable state goes to `scratch_dir`. `dev_table` may be None (then
    the final model is kept and `dev_metric` is None). `train_examples` counts table rows;
    batches are made of features (for QA, context windows). `examples_per_second` is measured
    over the optimisation steps of this call only (no loading, tokenization or dev scoring).
    """
    _check_runnable(hparams, log_every)
    task_params = task_params or {}
    task = get_task(task_type).configured(task_params).for_data(train_table)
    doc_stride = task_params.get("doc_stride")
    fingerprint = _fingerprint(base, task_type, _hashed_hparams(hparams, doc_stride, log_every), seed,
                               train_table, dev_table, task_params=task_params)
    member = Member(task, train_table, dev_table, doc_stride)
    return _fit(base, [member], None, hparams, seed, fingerprint, out_dir, scratch_dir, progress, log_every)


def train_mix(*, base: dict, members: list[dict], sampling: Sampling, hparams: TrainSettings, seed: int,
              out_dir: Path, scratch_dir: Path, progress: Callable[[dict], None] | None = None,
              log_every: int = LOG_EVERY) -> TrainManifest:
    """Train `base` on several tasks at once (a `mix` variant; see runtime/learning/multitask.py for the
    schedule and the shared encoder). Each of `members` is a dict of `task_type`,
    `task_params`, `train_table` and `dev_table` (or None). The dev metric is the mean of the
    members' dev metrics (those with a dev table); the best checkpoint by it is kept. Writes
    what `train` writes; the checkpoint is the shared encoder with one member's head."""
    _check_runnable(hparams, log_every)
    parts = [Member(get_task(m["task_type"]).configured(m["task_params"]).for_data(m["train_table"]),
                    m["train_table"], m["dev_table"],
                    m["task_params"].get("doc_stride"), m.get("max_len")) for m in members]
    # a member's own length enters only when set, so older scratch checkpoints still resume
    fingerprint = _fingerprint(base, [[m["task_type"], m["task_params"], *([m["max_len"]] if m.get("max_len") else [])]
                                      for m in members], _hashed_hparams(hparams, None, log_every), seed,
                               [m["train_table"] for m in members], [m["dev_table"] for m in members],
                               sampling=sampling.model_dump())
    return _fit(base, parts, sampling, hparams, seed, fingerprint, out_dir, scratch_dir, progress, log_every)


def _check_runnable(hp: TrainSettings, log_every: int) -> None:
    """Refused before any work: a sweep (a Tune search runs one training per trial) or a loss
    curve logged every 0 steps."""
    if hp.sweeps():
        raise ValueError(f"a training runs the settings of one trial, not sweeps of {', '.join(sorted(hp.sweeps()))} "
                         "(TrainSettings.trial)")
    if log_every < 1:
        raise ValueError(f"log_every must be a positive number of steps, got {log_every}")


@dataclass
class Member:
    """One task of a training (the only one, or one member of a mix) and its data."""

    task: Any
    train_table: Any
    dev_table: Any
    doc_stride: int | None
    #: a mix member's own length (validate_train_use.py); None: the training's
    max_len: int | None = None
    model: Any = None
    features: Any = None
    dev_features: Any = None

    def featurize(self, tokenizer, hp: TrainSettings, seed: int) -> None:
        """Features of the member's tables; `seed` draws whatever featurizing draws (MLM masks)."""
        max_len = self.max_len or hp.max_len
        self.features = self.task.featurize(self.train_table, tokenizer, max_len, training=True,
                                            doc_stride=self.doc_stride, seed=seed)
        if len(self.features) == 0:
            raise DataError(f"the training table ({self.task.name})", "it is empty")
        self.dev_features = (self.task.featurize(self.dev_table, tokenizer, max_len, training=False,
                                                 doc_stride=self.doc_stride, seed=seed)
                             if self.dev_table is not None else None)

    def dev_metric(self, hp: TrainSettings, pad_id: int, device) -> float:
        outputs = forward_features(self.model, self.task, self.dev_features, batch_size=max(fixed(hp.batch), 64),
                                   pad_id=pad_id, device=device)
        return self.task.metric(self.task.decode(self.dev_table, self.dev_features, outputs, self.model.config))


def _fit(base: dict, members: list[Member], sampling: Sampling | None, hp: TrainSettings, seed: int, fingerprint: str,
         out_dir: Path, scratch_dir: Path, progress: Callable[[dict], None] | None, log_every: int) -> TrainManifest:
    """The loop shared by single-task training (`sampling` None, one member) and a mix."""
    started = time.perf_counter()
    out_dir, scratch_dir = Path(out_dir), Path(scratch_dir)
    scratch_dir.mkdir(parents=True, exist_ok=True)
    seed_everything(seed)
    device = pick_device()

    from xexp.runtime.learning.models.sources import load_tokenizer

    with quiet_loading():
        tokenizer = load_tokenizer(base)
    pad_id = pad_id_of(tokenizer)
    if sampling is None:
        model = saved = members[0].model = build_model(base, members[0].task, seed=seed)
        metric_name = members[0].task.metric_name
    else:
        from xexp.runtime.learning.multitask import build_members

        model, models, owner = build_members(base, [m.task for m in members], seed=seed)
        for member, member_model in zip(members, models):
            member.model = member_model
        saved, metric_name = models[owner], MIX_METRIC
    if hp.freeze_embeddings:
        freeze_word_embeddings(saved)  # the shared encoder's, in a mix
    model.to(device)

    for member in members:
        member.featurize(tokenizer, hp, seed)
    epochs = fixed(hp.epochs)
    schedule = Schedule([m.features.lengths for m in members], fixed(hp.batch), seed, sampling)
    batches_per_epoch = schedule.batches_per_epoch
    total = math.ceil(batches_per_epoch / hp.grad_accum) * epochs
    if hp.max_steps is not None:
        total = min(total, hp.max_steps)
    optimizer, scheduler = make_optimizer(model, hp, total)

    loop = load_checkpoint(scratch_dir, model=model, optimizer=optimizer, scheduler=scheduler,
                           fingerprint=fingerprint)
    resumed_from = loop.step if loop is not None else None
    loop = loop or LoopState()
    resumed = {} if resumed_from is None else {"resumed_from": resumed_from}
    if progress is not None and resumed:  # said once, now, and carried by every later report
        progress({"step": loop.step, "total": total, **resumed})
    scored = [(i, m) for i, m in enumerate(members) if m.dev_features is not None]

    def score_dev() -> None:
        if not scored or loop.last_eval_step == loop.step:
            return
        metrics = {member_label(i, m.task): m.dev_metric(hp, pad_id, device) for i, m in scored}
        if sampling is None:
            metric = next(iter(metrics.values()))
            loop.dev_curve.append({"step": loop.step, "epoch": loop.epoch, metric_name: metric})
        else:  # the mean over the members that have a dev split
            metric = sum(metrics.values()) / len(metrics)
            loop.dev_curve.append({"step": loop.step, "epoch": loop.epoch, metric_name: metric, "members": metrics})
        loop.last_eval_step = loop.step
        if loop.best_metric is None or metric > loop.best_metric:
            loop.best_metric, loop.best_step = metric, loop.step
            loop.best_file, loop.best_sha256 = save_best(scratch_dir, model, loop.step)
            loop.evals_since_best = 0
        else:
            loop.evals_since_best += 1

    def out_of_patience() -> bool:
        """jiant's early stopping: `patience` dev evaluations in a row without a new best."""
        return hp.patience is not None and loop.evals_since_best >= hp.patience

    trained_examples, train_seconds = 0, 0.0
    last_checkpoint = time.monotonic()
    pending_loss = LossSum()  # on the device: read at log points and checkpoints only
    model.train()
    for member in members:  # a mix's member models hold their own flag, which dev scoring restores
        member.model.train()
    while loop.step < total and loop.epoch < epochs and not out_of_patience():
        # Each epoch has its own order, a function of (seed, epoch) alone: an uninterrupted run
        # and one resumed at any position of any epoch walk through the same batches.
        order = schedule.epoch(loop.epoch)
        epoch_ended = False
        while not epoch_ended and loop.step < total and not out_of_patience():
            tick = time.perf_counter()
            group = order[loop.batch_in_epoch: loop.batch_in_epoch + hp.grad_accum]
            loss_value, n = _optimisation_step(model, members, group, hp, optimizer,
                                               scheduler, pad_id, device)
            train_seconds += time.perf_counter() - tick
            trained_examples += n
            loop.step += 1
            loop.batch_in_epoch += len(group)
            loop.examples_seen += n
            pending_loss.add(loss_value)
            loop.log_steps += 1
            if loop.step % log_every == 0 or loop.step == total:
                loop.log_loss_sum += pending_loss.take()
                mean = loop.log_loss_sum / loop.log_steps
                loop.loss_curve.append({"step": loop.step, "epoch": loop.epoch, "loss": mean})
                loop.log_loss_sum, loop.log_steps = 0.0, 0
                if progress is not None:
                    progress({"step": loop.step, "total": total, "loss": mean, **resumed})
            epoch_ended = loop.batch_in_epoch >= len(order)
            if epoch_ended:
                loop.epoch, loop.batch_in_epoch = loop.epoch + 1, 0
                if hp.eval_every is None:
                    score_dev()
            if hp.eval_every is not None and loop.step % hp.eval_every == 0:
                score_dev()
            # At least one checkpoint per epoch or per CHECKPOINT_SECONDS, so short trainings
            # resume too; checkpoints read no RNG, so when they happen changes no result.
            due = (epoch_ended or loop.step % hp.checkpoint_every == 0
                   or time.monotonic() - last_checkpoint >= CHECKPOINT_SECONDS)
            if due and loop.step < total and not out_of_patience():
                loop.log_loss_sum += pending_loss.take()
                save_checkpoint(scratch_dir, model=model, optimizer=optimizer, scheduler=scheduler,
                                loop=loop, fingerprint=fingerprint)
                last_checkpoint = time.monotonic()
    stopped_early = out_of_patience()
    score_dev()  # the final model always competes (max_steps may stop mid-epoch)

    if loop.best_file is not None and hp.select == "best":
        load_best(scratch_dir, loop.best_file, loop.best_sha256, model)
    handed_on = _handed_on_metric(loop, metric_name, hp.select)
    shared_from = _write_outputs(out_dir, saved, tokenizer, metric_name, loop, base)
    seconds = time.perf_counter() - started
    stats = None if sampling is None else [
        MemberStats(member=member_label(i, m.task), train_examples=m.train_table.num_rows,
                    train_features=len(m.features), batches_per_epoch=quota)
        for i, (m, quota) in enumerate(zip(members, schedule.quotas))]
    return TrainManifest(
        checkpoint=CHECKPOINT_DIR,
        shared_from=[SharedFrom.model_validate(ref) for ref in shared_from],
        dev_metric=handed_on,
        best_step=loop.best_step if loop.best_step is not None else loop.step,
        select=hp.select,
        steps=loop.step,
        train_examples=sum(m.train_table.num_rows for m in members),
        seconds=seconds,
        examples_per_second=trained_examples / train_seconds if train_seconds > 0 else 0.0,
        resumed_from_step=resumed_from,
        stopped_early=stopped_early,
        members=stats,
    )


def member_label(index: int, task) -> str:
    """A mix member as curve.json and the manifest name it: its position and task type (task
    names stay out of the graph's params, so the runtime never knows them)."""
    return f"{index}:{task.name}"


def _optimisation_step(model, members: list[Member], group, hp: TrainSettings, optimizer, scheduler,
                       pad_id: int, device):
    """One optimizer step over `group` (grad_accum micro-batches, each `(member, indices)`);
    returns (mean loss, size), the loss a float64 tensor on the device (reading it would wait
    for the GPU)."""
    import torch

    size = sum(len(indices) for _, indices in group)
    total_loss = None
    for index, indices in group:
        member = members[index]
        task, features = member.task, member.features
        batch = batch_to_device(task.collate([features.items[i] for i in indices.tolist()], pad_id), device)
        with autocast(device):
            outputs = member.model(**model_inputs(batch, device))
        loss = task.loss(outputs, batch)
        # Weighted so that the accumulated gradient is the mean over the whole group.
        (loss * (len(indices) / size)).backward()
        part = weighted_loss(loss, len(indices) / size)
        total_loss = part if total_loss is None else total_loss + part
    torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], hp.clip)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return total_loss, size


def _handed_on_metric(loop: LoopState, metric_name: str, select: str) -> float | None:
    """The dev score of the checkpoint handed on: the best one, or with `select=last` the
    final one (scored after the last step), so a sweep ranks trials by what they pass on."""
    if select == "best" or not loop.dev_curve:
        return loop.best_metric
    return loop.dev_curve[-1][metric_name]


def _write_outputs(out_dir: Path, model, tokenizer, metric_name: str, loop: LoopState, base: dict) -> list[dict]:
    """The checkpoint (only the tensors training changed, see models/shared_weights.py) and
    the curves; returns the store nodes the checkpoint shares tensors with."""
    from xexp.runtime.learning.models.shared_weights import save_trained

    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / CHECKPOINT_DIR
    if target.exists():
        shutil.rmtree(target)
    with quiet_loading():
        shared_from = save_trained(model, target, base)
        tokenizer.save_pretrained(str(target))
    curve = {"metric": metric_name, "loss": loop.loss_curve, "dev": loop.dev_curve,
             "best_step": loop.best_step}
    (out_dir / CURVE_FILE).write_text(json.dumps(curve, indent=1))
    return shared_from


def _hashed_hparams(hp: TrainSettings, doc_stride: int | None, log_every: int) -> dict[str, Any]:
    """The hyperparameters as scratch fingerprints have always hashed them (rates as floats,
    the task's doc_stride and log_every beside the settings; a setting added later only when
    set), so a training interrupted before this version still resumes."""
    values = hp.model_dump()
    values.update(lr=float(fixed(hp.lr)), warmup=float(fixed(hp.warmup)), weight_decay=float(fixed(hp.weight_decay)),
                  clip=float(hp.clip), doc_stride=doc_stride, log_every=log_every)
    if hp.patience is None:
        del values["patience"]
    if hp.select == "best":
        del values["select"]
    return values


def _fingerprint(base, task_type, hparams: dict[str, Any], seed, train_table, dev_table, task_params=None,
                 **more) -> str:
    """What must match for a scratch checkpoint to belong to this training (a mix passes lists
    of task types and tables, and its sampling)."""
    def digest(table):
        return [_table_digest(t) for t in table] if isinstance(table, list) else _table_digest(table)

    payload = {
        "base": {k: base.get(k) for k in ("path_or_id", "revision")}, "task": task_type,
        "hparams": hparams,
        "seed": seed,
        "train": digest(train_table), "dev": digest(dev_table), **more,
    }
    # doc_stride is in the hparams already; other task parameters (mask_prob) only when given,
    # so the scratch checkpoints of trainings without any stay valid.
    extra = {k: v for k, v in (task_params or {}).items() if k != "doc_stride"}
    if extra:
        payload["task_params"] = extra
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _table_digest(table) -> str | None:
    if table is None:
        return None
    ids = "\n".join(table.column("id").to_pylist())
    return f"{table.num_rows}:{hashlib.sha256(ids.encode()).hexdigest()[:16]}"
