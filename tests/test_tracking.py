"""`xexp run --track mlflow|tensorboard|wandb`: a real MLflow store, real Tune event files and W&B offline runs."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from xexp.cli import main

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tracked(tmp_path_factory, ray_local):
    """tests/specs/tracked_tiny.xexp run through the CLI with --track mlflow; stdout and stderr kept."""
    folder = tmp_path_factory.mktemp("tracked")
    spec = folder / "tracked_tiny.xexp"
    shutil.copy(REPO / "tests" / "specs" / "tracked_tiny.xexp", spec)
    store = folder / "store"
    capture = pytest.MonkeyPatch()
    import io
    import sys

    out, err = io.StringIO(), io.StringIO()
    capture.setattr(sys, "stdout", out)
    capture.setattr(sys, "stderr", err)
    try:
        code = main(["run", str(spec), "--store", str(store), "--track", "mlflow"])
    finally:
        capture.undo()
    assert code == 0, err.getvalue()[-3000:]
    return {"store": store, "stdout": out.getvalue(), "stderr": err.getvalue()}


def test_the_final_summary_is_on_stdout_and_progress_is_not(tracked):
    assert tracked["stdout"].startswith("xexp report: tracked_tiny"), tracked["stdout"][:500]
    assert "xexp report:" not in tracked["stderr"] and "nodes" in tracked["stderr"]


def test_mlflow_holds_one_run_with_a_nested_run_per_training(tracked):
    from mlflow.tracking import MlflowClient
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

    store = tracked["store"]
    client = MlflowClient(tracking_uri=f"sqlite:///{store / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("tracked_tiny")
    runs = client.search_runs([experiment.experiment_id])
    (parent,) = [r for r in runs if MLFLOW_PARENT_RUN_ID not in r.data.tags]
    run_dir = store / "runs" / parent.info.run_name
    assert (run_dir / "run.json").is_file() and parent.info.status == "FINISHED"
    assert parent.data.params["languages"] == "de,en" and parent.data.params["seeds"] == "1,2"

    children = [r for r in runs if r.data.tags.get(MLFLOW_PARENT_RUN_ID) == parent.info.run_id]
    trainings = [p.parent for p in store.glob("train/*/_complete.json")]
    assert len(children) == len(trainings) == 2
    for child in children:
        key = child.data.tags["xexp.key"]
        curve = json.loads((store / "train" / key / "curve.json").read_text())
        assert child.data.params["hparams.lr"] == "0.001" and child.data.params["hparams.batch"] == "16"
        history = client.get_metric_history(child.info.run_id, "loss")
        assert [(m.step, m.value) for m in history] == [(p["step"], p["loss"]) for p in curve["loss"]]
        assert len(history) >= 1
        dev = client.get_metric_history(child.info.run_id, "dev_accuracy")
        assert [(m.step, m.value) for m in dev] == [(p["step"], p["accuracy"]) for p in curve["dev"]] and dev

    results = json.loads((run_dir / "report" / "results.json").read_text())
    pooled = {(r["variant"], r["language"]): r["clean_acc"] for r in results["rows"]
              if r["seed"] == "all" and r["perturbation"] == "clean"}
    for (variant, language), value in pooled.items():
        assert parent.data.metrics[f"clean_acc/tiny/{variant}/{language}"] == pytest.approx(value)
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id, "report")}
    assert {"report/report.html", "report/results.json", "report/report.tex"} <= artifacts


def test_a_tracker_that_is_unknown_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["run", str(REPO / "specs" / "smoke.xexp"), "--track", "neptune"])
    assert "invalid choice: 'neptune'" in capsys.readouterr().err


def test_a_tune_sweep_writes_tensorboard_event_files(tmp_path, ray_local):
    from xexp.running import run_spec

    spec = tmp_path / "sweep_tiny.xexp"
    shutil.copy(REPO / "tests" / "specs" / "sweep_tiny.xexp", spec)
    summary = run_spec(spec, show_progress=False, track=("tensorboard",))
    assert summary["failed"] == 0
    (train_dir,) = [p.parent for p in Path(summary["store"]).glob("train/*/_complete.json")]
    events = sorted((train_dir / "tensorboard").glob("*/events.out.tfevents.*"))
    assert len({e.parent for e in events}) == 2  # one folder per trial of the lr grid
    assert all(b"dev_metric" in e.read_bytes() for e in events)
    recorded = {f["path"] for f in json.loads((train_dir / "_complete.json").read_text())["files"]}
    assert any(path.startswith("tensorboard/") for path in recorded)  # part of the checked artifact


def test_a_tune_sweep_writes_offline_wandb_runs_without_a_network_call(tmp_path):
    """`--track wandb` in a fresh process whose every Python process, Ray's workers and W&B's
    logging actors included, refuses the network (tests/netguard.py): one offline W&B run per
    trial, holding the dev metric the trial reported, kept in the train node's artifact."""
    pytest.importorskip("wandb", reason="pip install 'xexp[wandb]'")
    import os
    import subprocess
    import sys

    from netguard import GUARD, refused

    spec = tmp_path / "sweep_tiny.xexp"
    shutil.copy(REPO / "tests" / "specs" / "sweep_tiny.xexp", spec)
    guard, log, store = tmp_path / "guard", tmp_path / "net", tmp_path / "store"
    guard.mkdir(), log.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD)
    env = {k: v for k, v in os.environ.items()
           if k not in ("RAY_ADDRESS", "PYTHONPATH") and not k.startswith("WANDB_")}  # nothing the user set
    env.update(RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0", XEXP_TEST_NET_LOG=str(log),
               PYTHONPATH=str(guard), HOME=str(tmp_path / "home"))  # no W&B login or settings to find
    run = subprocess.run([sys.executable, "-m", "xexp.cli", "run", str(spec), "--store", str(store),
                          "--track", "wandb", "--json", "--num-cpus", "2"], env=env, capture_output=True,
                         text=True, timeout=400, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    assert json.loads(run.stdout.strip().splitlines()[-1])["failed"] == 0
    assert refused(log) == [] and len(list(log.glob("started-*"))) >= 3

    (train_dir,) = [p.parent for p in store.glob("train/*/_complete.json")]
    runs = sorted((train_dir / "wandb").iterdir())
    assert len(runs) == 2 and all(r.name.startswith("offline-run-") for r in runs)  # one per trial of the lr grid
    trials = {row["trial"]: float(row["dev_metric"]) for row in csv.DictReader((train_dir / "trials.csv").open())}
    logged = {}
    for run_dir in runs:
        (log_file,) = run_dir.glob("run-*.wandb")
        records = list(_wandb_records(log_file))
        (run,) = [r.run for r in records if r.WhichOneof("record_type") == "run"]
        assert run.project == "sweep_tiny"
        trial = json.loads({u.key: u.value_json for u in run.config.update}["trial_id"])
        history = [{i.nested_key[0] if i.nested_key else i.key: json.loads(i.value_json) for i in r.history.item}
                   for r in records if r.WhichOneof("record_type") == "history"]
        logged[trial] = [h["dev_metric"] for h in history if "dev_metric" in h]
    assert sorted(logged) == sorted(trials)
    for trial, dev_metrics in logged.items():
        assert dev_metrics and dev_metrics[-1] == pytest.approx(trials[trial])
    recorded = {f["path"] for f in json.loads((train_dir / "_complete.json").read_text())["files"]}
    assert any(path.startswith("wandb/offline-run-") for path in recorded)  # part of the checked artifact


def _wandb_records(path: Path):
    """The protobuf records of a W&B run file: after a 7-byte header, 32 KiB blocks of chunks, each
    a 7-byte header (CRC32, little-endian length, type: 1 whole, 2 first, 3 middle, 4 last)."""
    import struct

    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B", data[:8]
    block, position, pending = 32768, 7, b""
    while position + 7 <= len(data):
        room = block - position % block
        if room < 7:  # a block's tail too short for a chunk header is padding
            position += room
            continue
        _crc, length, kind = struct.unpack("<IHB", data[position:position + 7])
        pending += data[position + 7:position + 7 + length]
        position += 7 + length
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            pending = b""
            yield record
