"""Experiment trackers, off unless a run asks: `xexp run --track mlflow` (and/or `tensorboard`).

MLflow is filled from the store after the run, not from inside the nodes: the store already
holds everything worth tracking (each training's hyperparameters and `curve.json`, the report),
so tracking cannot slow, break or change a node, cached nodes are tracked like fresh ones, and
a tracker failure costs one warning line, never a result. One MLflow run per xexp run, one
nested run per training (params, per-step loss and dev curves, final dev metric), the report's
lead figures (Δ perturbed and Δ flip with their intervals and p, per primary row, under
`robustness/…`) and pooled numbers as final metrics, and its files as artifacts. The default tracking store is
MLflow's embedded SQLite database beside the xexp store (`<store>/mlflow.db`, artifacts in
`<store>/mlflow-artifacts/`); `MLFLOW_TRACKING_URI` names another. With the `mlflow-ui` extra
(the full MLflow: its server and web UI), `mlflow ui --backend-store-uri
sqlite:///<store>/mlflow.db` shows it.

TensorBoard is for Ray Tune sweeps: Tune's own `TBXLoggerCallback` writes each trial's event
files, which the train node keeps under `tensorboard/` in its artifact. The request travels as
a node label, which is not part of the node's key, so asking for it never redoes work (and a
sweep already in the store is not re-run to produce event files).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

from xexp.errors import Category, XexpError
from xexp.runtime.engine.completion import ManifestError
from xexp.runtime.manifests.train import TrainManifest

TRACKERS = ("mlflow", "tensorboard")
TUNE_LOGGERS = ("tensorboard",)
#: the train-node label that carries the Tune loggers a run asked for (labels are not in keys)
TUNE_LOGGERS_LABEL = "tune_loggers"
TENSORBOARD_DIR = "tensorboard"
MLFLOW_DB = "mlflow.db"
MLFLOW_ARTIFACTS = "mlflow-artifacts"


class TrackingError(XexpError, RuntimeError):
    """A tracker `--track` names that cannot be used (unknown, or its package missing): the
    one line a user sees before the run starts. What to do: install what it names, or drop it."""

    category = Category.SPEC


def check_trackers(names: list[str] | tuple[str, ...]) -> list[str]:
    """The requested trackers, each known and importable; otherwise one clear error line."""
    chosen = list(dict.fromkeys(names))
    for name in chosen:
        if name not in TRACKERS:
            raise TrackingError(f"--track {name}: unknown tracker (known: {', '.join(TRACKERS)})")
    if "mlflow" in chosen:
        try:
            import mlflow  # noqa: F401
            import sqlalchemy  # noqa: F401
        except ImportError:
            raise TrackingError("--track mlflow needs MLflow: pip install 'xexp[mlflow]'") from None
    if "tensorboard" in chosen:
        try:
            import tensorboardX  # noqa: F401
        except ImportError:
            raise TrackingError("--track tensorboard needs tensorboardX: pip install tensorboardX") from None
    return chosen


# ------------------------------------------------------------------------------ Ray Tune sweeps

def with_tune_loggers(graph, trackers: list[str]):
    """The graph with each train node labelled with the Tune loggers asked for (keys unchanged)."""
    loggers = [t for t in trackers if t in TUNE_LOGGERS]
    if not loggers:
        return graph
    nodes = [n.model_copy(update={"labels": {**n.labels, TUNE_LOGGERS_LABEL: loggers}}) if n.kind == "train" else n
             for n in graph.nodes]
    return graph.model_copy(update={"nodes": nodes})


def tune_callbacks(node) -> list:
    """Ray Tune logger callbacks for a sweep of this train node."""
    loggers = node.labels.get(TUNE_LOGGERS_LABEL) or []
    callbacks = []
    if "tensorboard" in loggers:
        from ray.tune.logger import TBXLoggerCallback

        callbacks.append(TBXLoggerCallback())
    return callbacks


def keep_tune_logs(node, tune_dir: Path, out_dir: Path) -> None:
    """Copy the sweep's TensorBoard event files into the node's artifact, one folder per trial."""
    if "tensorboard" not in (node.labels.get(TUNE_LOGGERS_LABEL) or []):
        return
    for event_file in sorted(Path(tune_dir).rglob("events.out.tfevents.*")):
        target = out_dir / TENSORBOARD_DIR / event_file.parent.name / event_file.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(event_file, target)


# ------------------------------------------------------------------------------ MLflow

def mlflow_uri(store_root: Path) -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path(store_root).resolve() / MLFLOW_DB}"


def after_run(trackers: list[str], store, run_id: str, graph, report_dir: Path | None, failed: int,
              stream) -> str | None:
    """Log a finished run to MLflow when asked; a tracker failure is one line on `stream`."""
    if "mlflow" not in trackers:
        return None
    try:
        mlflow_run = log_to_mlflow(store, run_id, graph, report_dir, failed=failed)
    except Exception as err:  # the run's results are in the store whatever the tracker does
        print(f"warning: MLflow logging failed ({type(err).__name__}: {err}); the run itself is complete",
              file=stream)
        return None
    print(f"MLflow: run {mlflow_run} in {mlflow_uri(store.root)}", file=stream)
    return mlflow_run


def log_to_mlflow(store, run_id: str, graph, report_dir: Path | None, *, failed: int = 0,
                  uri: str | None = None) -> str:
    """Log one xexp run; returns the MLflow run id of the parent run."""
    from mlflow.tracking import MlflowClient
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

    client = MlflowClient(tracking_uri=uri or mlflow_uri(store.root))
    experiment = client.get_experiment_by_name(graph.experiment)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(
        graph.experiment, artifact_location=(Path(store.root).resolve() / MLFLOW_ARTIFACTS).as_uri())
    parent = client.create_run(experiment_id, run_name=run_id,
                               tags={"xexp.run_id": run_id, "xexp.store": str(store.root)}).info.run_id
    status = "FAILED" if failed else "FINISHED"
    try:
        client.log_batch(parent, params=_params(_run_params(graph)))
        for node in graph.nodes:
            if node.kind == "train" and store.is_done("train", node.key):
                _log_training(client, experiment_id, parent, MLFLOW_PARENT_RUN_ID, store, node)
        if report_dir is not None and (Path(report_dir) / "results.json").is_file():
            _log_metrics(client, parent, _report_metrics(Path(report_dir) / "results.json"))
            client.log_artifacts(parent, str(report_dir), artifact_path="report")
    except Exception:
        status = "FAILED"
        raise
    finally:
        client.set_terminated(parent, status=status)
    return parent


def _run_params(graph) -> dict[str, Any]:
    def values(kind: str, label: str) -> str:
        return ",".join(sorted({str(n.labels[label]) for n in graph.nodes if n.kind == kind and label in n.labels}))

    return {"experiment": graph.experiment, "nodes": len(graph.nodes),
            "variants": values("evaluate", "variant"), "languages": values("evaluate", "language"),
            "conditions": values("evaluate", "condition"), "seeds": values("train", "seed")}


def training_params(node) -> dict[str, Any]:
    """A training's MLflow params. A multi-task (mix) training has no task type of its own: its
    `task_type` is its members' task types in order (`nli,extractive_qa,multiple_choice`), with
    the members' task names and the sampling rule beside it (compiler/graph/contracts.py
    TrainParams, MixMember, Sampling)."""
    from xexp.compiler.graph.contracts import TrainParams

    p = TrainParams.model_validate(node.params)
    params: dict[str, Any] = {"task_type": p.task_type, "seed": p.seed, "phase": node.labels.get("phase"),
                              "task": node.labels.get("task"), "xexp.key": node.key}
    if p.members is not None:
        params["task_type"] = ",".join(m.task_type for m in p.members)
        params["members"] = ",".join(node.labels.get("members", [])) or None
        params["member_languages"] = ";".join(",".join(m.languages) for m in p.members)
        if p.sampling is not None:
            params.update({f"sampling.{k}": v for k, v in p.sampling.model_dump().items() if v is not None})
    return params | {f"hparams.{k}": v for k, v in (node.params.get("hparams") or {}).items()}  # as set


def _log_training(client, experiment_id: str, parent: str, parent_tag: str, store, node) -> None:
    params = training_params(node)
    child = client.create_run(experiment_id, run_name=node.name,
                              tags={parent_tag: parent, "xexp.key": node.key}).info.run_id
    try:
        client.log_batch(child, params=_params(params))
        folder = store.artifact_dir("train", node.key)
        curve_file = folder / "curve.json"
        if curve_file.is_file():
            curve = json.loads(curve_file.read_text(encoding="utf-8"))
            metric = curve.get("metric", "dev")
            points = [("loss", p["step"], p["loss"]) for p in curve.get("loss", [])]
            points += [(f"dev_{metric}", p["step"], p[metric]) for p in curve.get("dev", []) if metric in p]
            _log_points(client, child, points)
        record = store.read_record("train", node.key)
        if record is not None:
            try:
                manifest = TrainManifest.read(record.manifest, f"train/{node.key[:10]}")
            except ManifestError:
                pass  # an altered training: its curve above is all there is to show
            else:
                finals = [("final_dev_metric", manifest.dev_metric), ("steps", manifest.steps)]
                _log_points(client, child, [(name, 0, value) for name, value in finals if value is not None])
    finally:
        client.set_terminated(child)


#: The report's lead figures (results.csv column -> MLflow name), logged per primary row as
#: `robustness/<target/><model>/<variant>/<language>/<condition>/<name>`. A column the report
#: does not have is skipped, so a new lead column is one line here.
LEAD_METRICS = {
    "perturbed_acc_delta": "delta_perturbed",
    "perturbed_ci_low": "delta_perturbed_ci_low",
    "perturbed_ci_high": "delta_perturbed_ci_high",
    "p_holm": "delta_flip_p_holm",  # the robustness test's Holm-adjusted p (docs/statistics.md)
    "p_method": "delta_perturbed_p_method",
    "flip_rate_delta": "delta_flip",
    "flip_ci_low": "delta_flip_ci_low",
    "flip_ci_high": "delta_flip_ci_high",
    "flip_p_method": "delta_flip_p_method",
    "mde_80": "mde_80",
}
#: The figures every pooled row keeps under its own name: the metric as measured, and the drop
#: delta, which is secondary (it favours the model with less to lose), and named so.
POOLED_METRICS = {
    "clean": {"clean_acc": "clean_acc", "clean_f1": "clean_f1"},
    "condition": {"perturbed_acc": "perturbed_acc", "delta_vs_baseline": "secondary/drop_delta",
                  "perturbed_f1": "perturbed_f1"},
}


def _report_metrics(results_json: Path) -> dict[str, float]:
    """The report's pooled numbers: the lead figures of each primary row under `robustness/`,
    the clean and perturbed metric per cell, and for extractive QA (rows with F1) clean and
    perturbed token F1 beside the exact-match ones."""
    rows = json.loads(results_json.read_text(encoding="utf-8"))["rows"]
    out: dict[str, float] = {}
    for r in rows:
        if str(r.get("seed")) != "all":
            continue
        target = f"{r['target']}/" if r.get("target") else ""  # a report of several targets
        where = f"{target}{r['model']}/{r['variant']}/{r['language']}"
        clean = r["perturbation"] == "clean"
        cell = where if clean else f"{where}/{r['perturbation']}"
        for column, name in POOLED_METRICS["clean" if clean else "condition"].items():
            out[f"{name}/{cell}"] = r.get(column)  # None (dropped below) where a row lacks it
        if r.get("family") == "primary" and r.get("delta_metric"):
            lead = f"robustness/{where}/{r['perturbation']}"
            for column, name in LEAD_METRICS.items():
                out[f"{lead}/{name}"] = r.get(column)
    return {metric_name(k): float(v) for k, v in out.items() if isinstance(v, (int, float)) and math.isfinite(v)}


def metric_name(name: str) -> str:
    """`name` with each character MLflow refuses in a metric name (a report name may hold any)
    as `_`."""
    return re.sub(r"[^A-Za-z0-9_\-. :/]", "_", name)


def _params(values: dict[str, Any]) -> list:
    from mlflow.entities import Param

    return [Param(k, json.dumps(v) if isinstance(v, (dict, list)) else str(v)) for k, v in values.items()
            if v is not None]


def _log_metrics(client, run: str, metrics: dict[str, float]) -> None:
    _log_points(client, run, [(name, 0, value) for name, value in metrics.items()])


def _log_points(client, run: str, points: list[tuple[str, int, float]]) -> None:
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    metrics = [Metric(name, float(value), now, int(step)) for name, step, value in points
               if value is not None and math.isfinite(float(value))]
    for start in range(0, len(metrics), 1000):  # MLflow's batch limit
        client.log_batch(run, metrics=metrics[start:start + 1000])
