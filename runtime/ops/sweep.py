"""A train node whose hyperparameters include `sweep[…]`: a Ray Tune grid search.

Each trial is a full `train()` into its own directory with the node's training resources;
ASHA stops weak trials early on the dev metric that training reports at each evaluation. The
best trial's checkpoint is copied into the node's artifact and the trial table is stored, so
downstream nodes never know a sweep happened.
"""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

from xexp.compiler.graph.contracts import TrainParams, TrainSettings
from xexp.compiler.graph.node import Node, Resources
from xexp.errors import SpecValueError
from xexp.runtime.engine.context import NodeContext
from xexp.runtime.ops.fit import Fit
from xexp.runtime.manifests.train import SweepOutcome, TrainManifest

TRIALS_FILE = "trials.csv"


def grid(p: TrainParams) -> list[TrainSettings]:
    """Every combination of the sweep values, as the settings of one trial (others fixed)."""
    sweeps = p.hparams.sweeps()
    names = sorted(sweeps)
    combos = itertools.product(*(sweeps[k] for k in names))
    return [p.hparams.trial(dict(zip(names, combo))) for combo in combos]


def tune_resources(resources: Resources | None) -> dict[str, float]:
    """What one trial asks of Ray Tune: the spec's training resources."""
    if resources is None:
        return {"cpu": 1}
    out = {"cpu": resources.num_cpus, "gpu": resources.num_gpus, **resources.custom}
    if resources.memory:
        out["memory"] = resources.memory
    return out


def run_sweep(node: Node, ctx: NodeContext, fit: Fit, has_dev: bool) -> TrainManifest:
    """`fit(hparams, out_dir, scratch_dir, progress)` runs one trial's training (fit.py)."""
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    from xexp.runtime.engine.tracking import keep_tune_logs, tune_callbacks

    if not has_dev:
        raise SpecValueError(f"{node.name}: a sweep needs a dev split to pick the best trial (add dev=… to the task)")
    p = TrainParams.model_validate(node.params)
    trials_root = ctx.scratch_dir / "trials"
    trials_root.mkdir(parents=True, exist_ok=True)
    configs = grid(p)
    names = sorted(p.hparams.sweeps())

    by_id = {f"trial{i}": c for i, c in enumerate(configs)}

    def trial(config: dict) -> None:
        """One Tune trial: Tune's config names the trial; its hyperparameters come from `by_id`."""
        hparams = by_id[config["trial_id"]]
        out = trials_root / config["trial_id"]

        def report(info: dict) -> None:
            if "dev_metric" in info:
                tune.report({"dev_metric": float(info["dev_metric"]), "step": int(info.get("step", 0))})

        manifest = fit(hparams, out / "out", out / "scratch", report)
        (out / "manifest.json").write_text(json.dumps(manifest.to_json()))
        if manifest.dev_metric is None:  # run_sweep checked for a dev split: every trial scores it
            raise RuntimeError(f"{node.name}: sweep trial {config['trial_id']} reported no dev metric")
        tune.report({"dev_metric": manifest.dev_metric, "step": manifest.steps, "done": 1})

    tuner = tune.Tuner(
        tune.with_resources(trial, tune_resources(node.trial_resources)),
        param_space={"trial_id": tune.grid_search(list(by_id))},
        tune_config=tune.TuneConfig(metric="dev_metric", mode="max",
                                    scheduler=ASHAScheduler(grace_period=1, reduction_factor=2)),
        run_config=tune.RunConfig(name=node.key[:16], storage_path=str((ctx.scratch_dir / "tune").resolve()),
                                  verbose=0, callbacks=tune_callbacks(node)),
    )
    results = tuner.fit()
    keep_tune_logs(node, ctx.scratch_dir / "tune", ctx.out_dir)
    rows = []
    for index in range(len(results)):
        result = results[index]
        trial_id = (result.config or {})["trial_id"]
        finished = (trials_root / trial_id / "manifest.json").exists()
        metrics = result.metrics or {}
        rows.append({"trial": trial_id, **{k: getattr(by_id[trial_id], k) for k in names},
                     "dev_metric": metrics.get("dev_metric"), "finished": finished,
                     "stopped_early": not finished and result.error is None,
                     "error": str(result.error) if result.error else ""})
    _write_trials(ctx.out_dir / TRIALS_FILE, rows)
    finished = [r for r in rows if r["finished"] and r["dev_metric"] is not None]
    if not finished:
        raise RuntimeError(f"{node.name}: no sweep trial finished; see {TRIALS_FILE} and the Tune logs in scratch")
    best = max(finished, key=lambda r: (r["dev_metric"], -int(r["trial"].removeprefix("trial"))))
    best_dir = trials_root / best["trial"]
    manifest = TrainManifest.read(json.loads((best_dir / "manifest.json").read_text()), f"sweep trial {best['trial']}")
    shutil.copytree(best_dir / "out", ctx.out_dir, dirs_exist_ok=True)
    ctx.logger.info("sweep %s: best %s %s dev=%.4f", node.name, best["trial"],
                    {k: best[k] for k in names}, best["dev_metric"])
    outcome = SweepOutcome(trials=len(rows), best=best["trial"], best_hparams={k: best[k] for k in names},
                           table=TRIALS_FILE)
    return manifest.model_copy(update={"sweep": outcome})


def _write_trials(path: Path, rows: list[dict]) -> None:
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["trial"])
        writer.writeheader()
        writer.writerows(rows)
