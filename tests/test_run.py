"""`xexp run` end to end on real Ray: the smoke spec, resume, and re-execution counts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from xexp.running import run_spec

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
REPORT_FILES = ("report.md", "report.html", "results.csv", "results.json", "summary.txt")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory, ray_local):
    """One full run of specs/smoke.xexp into a fresh store."""
    folder = tmp_path_factory.mktemp("smoke")
    spec = folder / "smoke.xexp"
    shutil.copy(REPO / "specs" / "smoke.xexp", spec)
    summary = run_spec(spec, show_progress=False)
    return spec, summary


def test_smoke_runs_every_node_and_publishes_the_report(smoke):
    spec, summary = smoke
    assert summary["failed"] == 0
    assert summary["executed"] == summary["nodes"] == 25
    report = Path(summary["report"])
    for name in REPORT_FILES:
        assert (report / name).stat().st_size > 0, name
    results = json.loads((report / "results.json").read_text())
    assert results  # the report has content
    scratch = Path(summary["store"]) / "scratch"
    leftovers = [p for p in scratch.rglob("*") if p.is_file()] if scratch.exists() else []
    assert leftovers == []  # resume state is deleted once a node's record stands


def test_second_identical_run_executes_nothing(smoke):
    spec, first = smoke
    second = run_spec(spec, show_progress=False)
    assert second["executed"] == 0
    assert second["cached"] == first["nodes"]
    assert second["run_id"] != first["run_id"]


def test_changing_one_perturbation_reruns_only_its_downstream(smoke, tmp_path):
    spec, first = smoke
    changed = tmp_path / "smoke.xexp"
    changed.write_text(spec.read_text().replace("char_noise(p=0.1)", "char_noise(p=0.2)"))
    # same store as the first run, different spec file location
    result = run_spec(changed, store=spec.parent / ".xexp", show_progress=False)
    # 2 languages: 2 perturb nodes, 2 variants x 2 languages evaluate nodes, and the report
    assert result["executed"] == 2 + 4 + 1
    assert result["cached"] == first["nodes"] - 7


@pytest.mark.needs_data
def test_real_files_tiny_model_zero_shot(tmp_path, ray_local):
    """A tiny model trained on a slice of real MNLI, evaluated on XNLI dev in 3 languages."""
    spec = tmp_path / "real_tiny.xexp"
    shutil.copy(REPO / "tests" / "specs" / "real_tiny.xexp", spec)
    summary = run_spec(spec, variables={"data": str(SHARED_DATA)}, show_progress=False)
    assert summary["failed"] == 0
    store = Path(summary["store"])
    predictions = sorted(store.glob("evaluate/*/predictions.parquet"))
    assert len(predictions) == 3 * 2  # 3 languages x (clean, typo)
    for path in predictions:
        table = pq.read_table(path)
        assert table.num_rows == 60
        assert set(table.column("gold").to_pylist()) <= {"entailment", "neutral", "contradiction"}
    rows = list(csv_rows(Path(summary["report"]) / "results.csv"))
    languages = {r["language"] for r in rows}
    assert {"en", "de", "hi"} <= languages


def csv_rows(path: Path):
    import csv

    with path.open() as f:
        yield from csv.DictReader(f)


def test_xexp_report_rebuilds_identical_files_without_running_anything(smoke, capsys):
    from xexp.cli import main

    spec, summary = smoke
    report = Path(summary["report"])
    before = {name: (report / name).read_bytes() for name in REPORT_FILES}
    for name in REPORT_FILES:
        (report / name).unlink()
    events = (report.parent / "events.jsonl").read_text()
    assert main(["report", summary["run_id"], "--store", summary["store"]]) == 0
    after = {name: (report / name).read_bytes() for name in REPORT_FILES}
    assert after == before
    assert (report.parent / "events.jsonl").read_text() == events  # no node ran
    assert "Robustness vs" in capsys.readouterr().out


def test_a_sweep_runs_as_a_tune_search_and_keeps_the_best_trial(tmp_path, ray_local):
    import csv

    spec = tmp_path / "sweep_tiny.xexp"
    shutil.copy(REPO / "tests" / "specs" / "sweep_tiny.xexp", spec)
    summary = run_spec(spec, show_progress=False)
    assert summary["failed"] == 0
    store = Path(summary["store"])
    (train_dir,) = [p.parent for p in store.glob("train/*/_complete.json")]
    record = json.loads((train_dir / "_complete.json").read_text())
    sweep = record["manifest"]["sweep"]
    with (train_dir / "trials.csv").open() as f:
        trials = list(csv.DictReader(f))
    assert sweep["trials"] == len(trials) == 2
    assert {float(t["lr"]) for t in trials} == {1e-4, 3e-3}
    finished = [t for t in trials if t["finished"] == "True"]
    best_metric = max(float(t["dev_metric"]) for t in finished)
    assert float(record["manifest"]["dev_metric"]) == best_metric
    assert sweep["best_hparams"]["lr"] in {float(t["lr"]) for t in finished if float(t["dev_metric"]) == best_metric}
    assert (train_dir / "checkpoint" / "config.json").exists()  # the best trial's checkpoint


def test_plan_prints_cost_from_the_store_history_and_profile_feeds_it(smoke, tmp_path):
    """After the smoke run, plan it again as if its trainings were forced: the cost section
    rests on the store's history (tests/test_estimate.py has the parts)."""
    import subprocess
    import sys

    spec, _ = smoke
    store = spec.parent / ".xexp"
    records = [json.loads(p.read_text()) for p in store.glob("*/*/_complete.json")]
    measured = {r["key"]: r["timings"]["seconds"] for r in records}
    env = {**__import__("os").environ, "XEXP_CACHE": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-m", "xexp.cli", "plan", str(spec), "--json", "--force", "train", "--cpus", "2"],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    cost = json.loads(out.stdout)["cost"]
    assert cost["samples"] == len(records)
    kinds = {row["kind"]: row for row in cost["kinds"]}
    assert set(kinds) == {"train", "evaluate", "attack", "report"}
    assert all(b.startswith("history of") for row in kinds.values() for b in row["basis"])
    estimated = sum(v["seconds"] for v in cost["nodes"].values())
    actual = sum(measured[k] for k in cost["nodes"])
    assert 0.5 * actual <= estimated <= 2.0 * actual, (estimated, actual)
    assert cost["makespan_seconds"] >= cost["lower_bound_seconds"] > 0
    text = subprocess.run([sys.executable, "-m", "xexp.cli", "plan", str(spec), "--force", "train"],
                          capture_output=True, text=True, env=env, cwd=tmp_path).stdout
    assert "cost (estimated from history of" in text and "makespan on" in text and "critical path" in text
    # a profile of the model: measured in seconds, kept in the user cache, read by the next plan
    done = subprocess.run([sys.executable, "-m", "xexp.cli", "profile", str(spec), "--steps", "1", "--batch", "2"],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    profiles = list((tmp_path / "cache" / "profiles").glob("cpu-*.json"))
    assert len(profiles) == 1 and json.loads(profiles[0].read_text())["train_s_per_token"] > 0
    fresh = subprocess.run([sys.executable, "-m", "xexp.cli", "plan", str(spec), "--json", "--store",
                            str(tmp_path / "empty")], capture_output=True, text=True, env=env, cwd=tmp_path)
    bases = {b for row in json.loads(fresh.stdout)["cost"]["kinds"] if row["kind"] == "train" for b in row["basis"]}
    assert any(b.startswith("a profile of tiny(") for b in bases), bases
