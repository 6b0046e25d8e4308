"""The XTREME table (issue 24, item 6): variants × targets in the paper's metrics, averaged over
languages, an `avg` column, Δ vs the baseline, the best variant per target, the published
figures beside the measured ones, in xtreme.csv and every report format.

Predictions are written by hand so that every figure can be worked out on paper (below)."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from xexp.compiler import compile_text
from xexp.compiler.errors import SpecError
from xexp.compiler.graph.report_contract import ReportTarget
from xexp.runtime.report import ReportSettings, build_report
from xexp.runtime.report.model import ReportCell

META = {"experiment": "xtreme_table"}
N = 10
# XNLI accuracy, correct answers of 10 per language: none 50/40, mnli 80/60, squad 90/70
XNLI_RIGHT = {"none": {"en": 5, "de": 4}, "mnli": {"en": 8, "de": 6}, "squad": {"en": 9, "de": 7}}
# PAN-X: 10 sentences [B-PER, O]; k found the entity, the rest predicted [O, O]:
# F1 = 2k / (k + 10): none k=5 -> 66.67, mnli k=10 -> 100, squad k=8 -> 88.89 (both languages)
PANX_FOUND = {"none": 5, "mnli": 10, "squad": 8}
TARGETS = [ReportTarget(task="xnli", trained_on="mnli", task_type="nli", languages=["en", "de"]),
           ReportTarget(task="panx", trained_on="panx_en", task_type="token_classification", languages=["en", "de"])]


def _write(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path)
    return path


def write_cells(root: Path) -> list[ReportCell]:
    cells = []
    labels = ["entailment", "neutral", "contradiction"]
    for lang in ("en", "de"):
        ids = [f"{lang}{i}" for i in range(N)]
        nli_data = _write(pd.DataFrame({"id": ids, "premise": ["p"] * N, "hypothesis": ["h"] * N,
                                        "label": ["entailment"] * N}), root / "data" / f"xnli.{lang}.parquet")
        tag_data = _write(pd.DataFrame({"id": ids, "tokens": [["Ana", "sings"]] * N, "tags": [["B-PER", "O"]] * N}),
                          root / "data" / f"panx.{lang}.parquet")
        for variant in ("none", "mnli", "squad"):
            right = XNLI_RIGHT[variant][lang]
            predicted = ["entailment" if i < right else "neutral" for i in range(N)]
            nli = pd.DataFrame({"id": ids, "gold": ["entailment"] * N, "predicted": predicted,
                                "correct": [p == "entailment" for p in predicted],
                                "probs": [[0.8, 0.1, 0.1] if p == "entailment" else [0.1, 0.8, 0.1] for p in predicted]})
            rows = []
            for i, sentence in enumerate(ids):
                found = i < PANX_FOUND[variant]
                for w, (gold, pred) in enumerate(zip(["B-PER", "O"], ["B-PER" if found else "O", "O"])):
                    rows.append({"id": f"{sentence}:{w}", "sentence": sentence, "gold": gold, "predicted": pred,
                                 "correct": gold == pred, "probs": [0.9, 0.1] if pred == "B-PER" else [0.1, 0.9]})
            where = root / "pred" / variant / lang
            for target, frame, data in (("xnli", nli, nli_data), ("panx", pd.DataFrame(rows), tag_data)):
                cells.append(ReportCell(model="xlmr", variant=variant, language=lang, condition="clean",
                                        kind="evaluate", seed=1, predictions=_write(frame, where / f"{target}.parquet"),
                                        dataset=data, target=target))
    assert labels  # the label names the predictions use
    return cells


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("xtreme")
    reference = root / "published.csv"
    reference.write_text("variant,target,value,source\nnone,xnli,79.2,made-up test figure\n"
                         "none,panx,65.4,made-up test figure\n")
    settings = ReportSettings(bootstrap=200, examples=0, reference={"path": str(reference)})
    build_report(write_cells(root / "in"), settings, root / "out", META, targets=TARGETS)
    return root / "out"


def rows_of(out: Path) -> dict[tuple[str, str], dict]:
    with (out / "xtreme.csv").open() as f:
        return {(r["variant"], r["target"]): r for r in csv.DictReader(f)}


def test_cells_are_the_paper_metric_averaged_over_languages(report):
    rows = rows_of(report)
    assert float(rows[("none", "xnli")]["value"]) == pytest.approx(45.0, abs=1e-3)
    assert float(rows[("squad", "xnli")]["value"]) == pytest.approx(80.0, abs=1e-3)
    assert float(rows[("mnli", "panx")]["value"]) == pytest.approx(100.0, abs=1e-3)
    assert float(rows[("none", "panx")]["value"]) == pytest.approx(200 / 3, abs=1e-3)  # entity F1, not token accuracy (75)
    assert float(rows[("squad", "panx")]["value"]) == pytest.approx(1600 / 18, abs=1e-3)
    assert rows[("none", "panx")]["metric"] == "F1" and rows[("none", "xnli")]["metric"] == "accuracy"
    for row in rows.values():
        assert float(row["ci_low"]) <= float(row["value"]) + 1e-9 <= float(row["ci_high"]) + 2e-9


def test_avg_delta_and_the_best_variant_per_target(report):
    rows = rows_of(report)
    none_avg = (45.0 + 200 / 3) / 2
    assert float(rows[("none", "avg")]["value"]) == pytest.approx(none_avg, abs=1e-3)
    assert rows[("none", "xnli")]["delta"] == ""  # the baseline has no Δ against itself
    assert float(rows[("mnli", "avg")]["delta"]) == pytest.approx(85.0 - none_avg, abs=1e-3)
    # the best per target: squad on XNLI (80), mnli on PAN-X (100): avg 90, above either variant
    assert rows[("best (dev)", "xnli")]["chosen"] == "squad" and rows[("best (dev)", "panx")]["chosen"] == "mnli"
    assert float(rows[("best (dev)", "avg")]["value"]) == pytest.approx(90.0, abs=1e-3)
    assert float(rows[("best (dev)", "avg")]["delta"]) == pytest.approx(90.0 - none_avg, abs=1e-3)
    assert float(rows[("none", "xnli")]["reference"]) == 79.2


def test_the_table_leads_every_format_with_the_published_figures_beside(report):
    for name in ("report.md", "report.html", "report.tex", "summary.txt"):
        text = (report / name).read_text()
        assert "XTREME table" in text, name
        assert "paper: none" in text and "79.2" in text, name
    markdown = (report / "report.md").read_text()
    assert markdown.index("XTREME table") < markdown.index("## Target xnli")
    assert "| best (dev) | 80.0 [" in markdown and "(squad)" in markdown


def test_a_changed_reference_file_is_refused_in_one_line(tmp_path):
    reference = tmp_path / "published.csv"
    reference.write_text("variant,target,value\nnone,xnli,79.2\n")
    settings = ReportSettings(bootstrap=100, reference={"path": str(reference), "sha256": "0" * 64})
    build_report(write_cells(tmp_path / "in"), settings, tmp_path / "out", META, targets=TARGETS)
    assert not (tmp_path / "out" / "xtreme.csv").exists()
    assert "no XTREME table: reference" in (tmp_path / "out" / "summary.txt").read_text()


SPEC = """\
experiment ref
model m = tiny()
task mnli = nli(synthetic("nli", size=60), train="train", dev="dev")
task xnli = nli(synthetic("nli", size=60), test="test")
task xnli2 = nli(synthetic("nli", size=80), test="test")
intermediate = [none mnli]
target = [xnli trained_on mnli, xnli2 trained_on mnli]
languages = [en de]
"""


def test_reference_is_keyed_by_content_and_left_out_when_unset(tmp_path):
    spec = tmp_path / "ref.xexp"
    (tmp_path / "published.csv").write_text("variant,target,value\nnone,xnli,79.2\n")
    plain = compile_text(SPEC, str(spec))[1]
    with_ref = compile_text(SPEC + 'report { reference = local("published.csv") }\n', str(spec))[1]
    report = next(n for n in with_ref.nodes if n.kind == "report")
    assert "reference" not in next(n for n in plain.nodes if n.kind == "report").params["settings"]
    assert report.params["settings"]["reference"]["path"] == str(tmp_path / "published.csv")
    assert len(report.params["settings"]["reference"]["sha256"]) == 64
    (tmp_path / "published.csv").write_text("variant,target,value\nnone,xnli,80.4\n")
    again = next(n for n in compile_text(SPEC + 'report { reference = local("published.csv") }\n', str(spec))[1].nodes
                 if n.kind == "report")
    assert again.key != report.key
    with pytest.raises(SpecError, match="`reference` is a local CSV file"):
        compile_text(SPEC + 'report { reference = hf("x") }\n', str(spec))


def test_a_mining_target_is_scored_by_the_mined_pairs_f1_as_bucc_scores_it(tmp_path):
    """BUCC in the XTREME table: F1 of the mined pairs (2·hits / (gold pairs + mined pairs)), the
    figure runtime/learning/tasks/retrieval.py's bucc_scores computes from the same predictions; hand-made:
    3 gold pairs, 3 mined, 2 of them right (one wrong, one gold pair missed, one sentence with
    no pair mined nothing) -> precision 2/3, recall 2/3, F1 2/3."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from xexp.runtime.report.xtreme import units_of
    from xexp.runtime.learning.tasks.retrieval import bucc_scores

    table = pa.table({"id": ["a", "b", "c", "d", "e"], "gold": ["en1", "en2", "en3", "", ""],
                      "predicted": ["en1", "en2", "", "en9", ""], "correct": [True, True, False, False, True]})
    path = tmp_path / "p.parquet"
    pq.write_table(table, path)
    units = units_of(path, "retrieval", "de", "squad", mining=True)
    f1 = 100 * units.num.sum() / units.den.sum()
    assert abs(f1 - 100 * 2 / 3) < 1e-9
    assert abs(f1 - 100 * bucc_scores(table)["f1"]) < 1e-9
    plain = units_of(path, "retrieval", "de", "squad")  # Tatoeba-style: the per-sentence accuracy
    assert 100 * plain.num.sum() / plain.den.sum() == 60.0
