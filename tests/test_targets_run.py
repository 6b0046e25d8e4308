"""Reports of several targets: per-target statistics (built from stored predictions), and an end
to end run with two targets of different task types (NLI on synthetic data, UPOS tagging on real
UD files, zero-shot German and Chinese) on a tiny model."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import needs
from report_inputs import META, write_inputs
from xexp.compiler import compile_text
from xexp.compiler.graph.report_contract import ReportTarget
from xexp.runtime.report import ReportSettings, build_report

TARGETS = [ReportTarget(task="xnli", trained_on="mnli", task_type="nli", languages=["en", "hi"]),
           ReportTarget(task="small", trained_on="ewt", task_type="token_classification", languages=["hi"])]


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, dtype=str)


@pytest.fixture(scope="module")
def two_reports(tmp_path_factory):
    root = tmp_path_factory.mktemp("targets")
    cells = write_inputs(root / "inputs")
    small = [c for c in cells if c.language == "hi" and c.kind == "evaluate"]
    settings = ReportSettings(bootstrap=300, examples=2)
    both = [c.model_copy(update={"target": "xnli"}) for c in cells] + \
        [c.model_copy(update={"target": "small"}) for c in small]
    manifest = build_report(both, settings, root / "both", META, targets=TARGETS)
    build_report(cells, settings, root / "xnli", META)
    build_report(small, settings, root / "small", META)
    return root, manifest


def test_each_targets_rows_are_those_of_its_own_report(two_reports):
    """Per-target statistics: the rows (Holm-adjusted p included) of each target in the combined
    report equal those of a report of that target alone."""
    root, _ = two_reports
    both = _read(root / "both" / "results.csv")
    assert list(both.columns)[0] == "target"
    assert list(dict.fromkeys(both["target"])) == ["xnli", "small"]  # grouped, in the spec's order
    for target in ("xnli", "small"):
        alone = _read(root / target / "results.csv")
        mine = both[both["target"] == target].drop(columns="target").reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, alone)
        assert (alone["p_holm"] != "").any()  # there is a Holm family to compare


def test_every_format_groups_by_target_with_its_metric(two_reports):
    root, manifest = two_reports
    markdown = (root / "both" / "report.md").read_text()
    assert "## Target xnli (nli, trained on mnli; accuracy; en hi)" in markdown
    assert "## Target small (token_classification, trained on ewt; token accuracy; hi)" in markdown
    assert markdown.index("## Target xnli") < markdown.index("## Target small")
    assert "### Clean token accuracy" in markdown
    summary = (root / "both" / "summary.txt").read_text()
    assert "=== target xnli" in summary and "=== target small" in summary
    assert "Holm within each target" in summary
    assert all(len(line) <= 100 for line in summary.splitlines())
    html = (root / "both" / "report.html").read_text()
    assert 'id="target-small"' in html and 'id="target-xnli-clean"' in html
    tex = (root / "both" / "report.tex").read_text()
    assert r"\label{tab:xnli-robustness-test-small-clean}" in tex and "Clean token accuracy" in tex
    results = json.loads((root / "both" / "results.json").read_text())
    assert [(t["task"], t["metric"]) for t in results["targets"]] == [("xnli", "accuracy"),
                                                                      ("small", "token accuracy")]
    assert {h["target"] for h in manifest["headline"]} == {"xnli", "small"}


def test_cells_of_an_undeclared_target_are_refused(tmp_path):
    cells = [c.model_copy(update={"target": "other"}) for c in write_inputs(tmp_path / "in")[:6]]
    with pytest.raises(ValueError, match="target.*other.*not declare"):
        build_report(cells, ReportSettings(bootstrap=200), tmp_path / "out", META, targets=TARGETS)


# --- end to end -------------------------------------------------------------------------------------

E2E = """\
experiment two_targets
var data = "."
model tiny = tiny(layers=2, hidden=64, heads=2, intermediate=128, seed=0)

task nli  = nli(synthetic("nli", size=48), train="train", dev="dev", test="test")
task ewt  = token_classification(local("{data}/en_ewt-ud-dev.conllu"), train="train[200:360]", dev="train[1900:1940]")
task upos = token_classification(local("{data}/{lang}_*-ud-test.conllu"), test="test")

intermediate = [none nli]
target       = [nli trained_on nli, upos trained_on ewt in [en de zh]]
languages    = [en de]

perturbations {
  typo    = char_noise(p=0.1)
  shuffle = word_shuffle()  # sentence pairs only: the NLI target alone
}

train intermediate { lr=1e-3 batch=16 epochs=1 max_len=64 }
train target       { lr=3e-3 batch=16 epochs=1 max_len=64 }
evaluate           { batch=64 max_len=128 limit=25 }
report             { bootstrap=200 reference=local("published.csv") }
"""


def test_two_targets_of_different_types_run_and_report_end_to_end(tmp_path, ray_local):
    from xexp.running import run_spec

    ud = needs.data("ud")
    spec = tmp_path / "two_targets.xexp"
    spec.write_text(E2E)
    (tmp_path / "published.csv").write_text("variant,target,value\nnone,nli,79.2\nnone,upos,72.6\n")
    _, graph = compile_text(E2E, str(spec), {"data": str(ud)})
    trainings = {n.name: n for n in graph.nodes if n.kind == "train"}
    shared = trainings["train:nli/seed1"].key
    assert trainings["train:nli→nli/seed1"].inputs["base"] == trainings["train:nli→upos/seed1"].inputs["base"] == shared

    summary = run_spec(spec, variables={"data": str(ud)}, show_progress=False)
    assert summary["failed"] == 0
    store = Path(summary["store"])
    assert len(list(store.glob("train/*/_complete.json"))) == len(trainings) == 5  # 1 intermediate + 2 × 2

    # UPOS predictions are per word: the report's token accuracy is recomputed from them
    accuracy = {}
    for record_path in store.glob("evaluate/*/_complete.json"):
        record = json.loads(record_path.read_text())
        chain, lang, condition, _ = record["name"].removeprefix("evaluate:").split("/")
        correct = pq.read_table(record_path.parent / "predictions.parquet").column("correct").to_pylist()
        accuracy[(chain, lang, condition)] = 100 * sum(correct) / len(correct)
    with (Path(summary["report"]) / "results.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["seed"] == "1"]
    seen = {(r["target"], r["language"], r["perturbation"]) for r in rows}
    assert seen == {("nli", lang, c) for lang in ("en", "de", "macro") for c in ("clean", "typo", "shuffle", "worst_case")} \
        | {("upos", lang, c) for lang in ("en", "de", "zh", "macro") for c in ("clean", "typo", "worst_case")}
    for row in rows:
        if row["language"] != "macro" and row["perturbation"] in ("clean", "typo"):
            chain = f"{row['variant']}→{row['target']}"
            column = "clean_acc" if row["perturbation"] == "clean" else "perturbed_acc"
            assert float(row[column]) == pytest.approx(accuracy[(chain, row["language"], row["perturbation"])], abs=1e-3)

    markdown = (Path(summary["report"]) / "report.md").read_text()
    assert "## Target nli (nli, trained on nli; accuracy; en de)" in markdown
    # the XTREME table (2 variants x 2 targets): UPOS in XTREME's seqeval F1, recomputed here
    # from the stored per-word predictions, averaged over the three languages
    from xexp.runtime.report.paper_metrics import entity_f1

    f1 = {}
    for record_path in store.glob("evaluate/*/_complete.json"):
        chain, lang, condition, _ = json.loads(record_path.read_text())["name"].removeprefix("evaluate:").split("/")
        if chain.endswith("upos") and condition == "clean":
            words = pq.read_table(record_path.parent / "predictions.parquet").to_pandas()
            f1[(chain.split("→")[0], lang)] = 100 * entity_f1(
                [(g.gold.tolist(), g.predicted.tolist()) for _, g in words.groupby("sentence", sort=False)])
    with (Path(summary["report"]) / "xtreme.csv").open() as f:
        table = {(r["variant"], r["target"]): r for r in csv.DictReader(f)}
    for variant in ("none", "nli"):
        expected = sum(f1[(variant, lang)] for lang in ("en", "de", "zh")) / 3
        assert float(table[(variant, "upos")]["value"]) == pytest.approx(expected, abs=1e-3)
    assert table[("best (dev)", "upos")]["chosen"] == "nli" and table[("none", "upos")]["reference"] == "72.6"
    for name in ("report.md", "report.html", "report.tex", "summary.txt"):
        assert "paper: none" in (Path(summary["report"]) / name).read_text()
    assert "## Target upos (token_classification, trained on ewt; token accuracy; en de zh)" in markdown


def test_peak_memory_is_read_when_the_process_name_is_cut_inside_a_character():
    """Ray names a worker after its node (`ray::train:nli→upos/seed1`); Linux keeps 15 bytes of
    that, here ending inside the arrow. Reading /proc/self/status must still work (it failed
    every training whose variant name put the arrow across that boundary)."""
    import subprocess
    import sys

    code = ("import ctypes; from xexp.runtime.engine.usage import _peak_rss\n"
            "libc = ctypes.CDLL(None); libc.prctl(15, b'ray::train:nli\\xe2\\x86\\x92upos', 0, 0, 0)\n"
            "print(open('/proc/self/comm', 'rb').read()); print(_peak_rss())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    comm, peak = done.stdout.split("\n")[:2]
    assert "\\xe2" in comm  # the name was really cut inside the character
    assert int(peak) > 0


def test_tracked_metrics_keep_the_targets_apart(two_reports):
    from xexp.runtime.engine.tracking import _report_metrics

    root, _ = two_reports
    metrics = _report_metrics(root / "both" / "results.json")
    clean = {k for k in metrics if k.startswith("clean_acc/")}
    assert "clean_acc/xnli/xlmr/none/hi" in clean and "clean_acc/small/xlmr/none/hi" in clean
    assert metrics["clean_acc/small/xlmr/none/hi"] == pytest.approx(
        _report_metrics(root / "small" / "results.json")["clean_acc/xlmr/none/hi"])
