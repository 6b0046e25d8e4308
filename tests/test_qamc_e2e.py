"""End to end on the tiny model (issues 13 and 15): an extractive QA target with a perturbation
on its context, and a multiple-choice target with perturbed endings and context, through
`xexp run`'s entry point; the perturbed data stay valid and the report has their rows (QA: token
F1 beside exact match, the metric said before any number)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import needs
from xexp.runtime.report.outcomes import QA_NOTE

pytestmark = pytest.mark.slow  # two tiny-model runs, about half a minute each

QA_SPEC = """\
experiment qa_context
var d = "."
model m = tiny(layers=1, hidden=16, heads=2, intermediate=32)
task squad = extractive_qa(local("{d}/xquad/xquad.en.json"), train="train[40:72]")
task src = extractive_qa(local("{d}/xquad/xquad.en.json"), train="train[:40]")
task tgt = extractive_qa(local("{d}/xquad/xquad.en.json"), test="test[200:230]", doc_stride=8)
intermediate = [none squad]
target = tgt trained_on src
languages = [en]
train intermediate { epochs=1 batch=8 max_len=48 }
train target { epochs=1 batch=8 max_len=48 }
evaluate { batch=16 max_len=48 }
report { bootstrap=100 examples=2 }
perturbations {
  typo = char_noise(p=0.15) on context
  shuffled = word_shuffle(4) on both
  qtypo = keyboard_typo(p=0.2)
}
"""

MC_SPEC = """\
experiment mc_endings
model m = tiny(layers=1, hidden=16, heads=2, intermediate=32)
task src = multiple_choice(synthetic("multiple_choice", size=40), train="train")
task tgt = multiple_choice(synthetic("multiple_choice", size=40, seed=2), test="test")
intermediate = [none]
target = tgt trained_on src
languages = [en de]
train target { epochs=1 batch=8 max_len=32 }
evaluate { batch=16 max_len=32 }
report { bootstrap=100 examples=2 }
perturbations {
  dropped = word_drop(p=0.3)
  ctx = char_noise(p=0.2) on context
}
"""


def perturbed_tables(store: Path) -> dict[str, list[dict]]:
    """Each perturb node's rows, by the node's name."""
    out = {}
    for record_path in store.glob("perturb/*/_complete.json"):
        record = json.loads(record_path.read_text())
        out[record["name"]] = pq.read_table(record_path.parent / "data.parquet").to_pylist()
    return out


def results(summary: dict) -> dict:
    assert summary["failed"] == 0, summary
    assert summary["report"], summary
    return json.loads((Path(summary["report"]) / "results.json").read_text())


def test_qa_target_with_a_perturbation_on_its_context(tmp_path, ray_local):
    from xexp.running import run_spec

    data = needs.data()
    needs.data("xquad", "xquad.en.json")
    spec = tmp_path / "qa.xexp"
    spec.write_text(QA_SPEC)
    summary = run_spec(spec, variables={"d": str(data)}, show_progress=False)
    report = results(summary)

    tables = perturbed_tables(Path(summary["store"]))
    assert len(tables) == 3
    context_changed = 0
    for name, rows in tables.items():
        assert len(rows) == 30
        for row in rows:
            for answer in row["answers"]:  # every gold answer is where it says, in the perturbed text
                assert row["context"][answer["start"]:answer["start"] + len(answer["text"])] == answer["text"]
        if "typo" in name and "qtypo" not in name:
            context_changed += sum(row["changed"] for row in rows)
    assert context_changed > 0

    rows = {(r["variant"], r["perturbation"], r["seed"]): r for r in report["rows"]}
    for condition in ("clean", "typo", "shuffled", "qtypo"):
        row = rows[("none", condition, 1)]
        assert 0 <= row["clean_f1"] <= 100 and 0 <= row["perturbed_f1"] <= 100
        assert math.isclose(row["f1_drop"], row["clean_f1"] - row["perturbed_f1"], abs_tol=1e-9)
        assert row["clean_f1_ci_low"] <= row["clean_f1"] <= row["clean_f1_ci_high"]
        assert row["clean_f1"] >= row["clean_acc"] - 1e-9  # F1 credits every exact match fully
        paired = rows[("squad", condition, 1)]
        assert math.isfinite(paired["perturbed_f1_delta"])
    assert rows[("none", "typo", 1)]["description"].endswith(" on context")
    assert rows[("none", "qtypo", 1)]["description"] == "keyboard_typo(p=0.2)"  # the QA default: the question
    assert QA_NOTE in report["warnings"]
    markdown = (Path(summary["report"]) / "report.md").read_text()
    assert "- context:" in markdown and "- question:" in markdown  # QA examples show their fields


def test_multiple_choice_target_with_perturbed_endings_and_context(tmp_path, ray_local):
    from xexp.running import run_spec

    spec = tmp_path / "mc.xexp"
    spec.write_text(MC_SPEC)
    summary = run_spec(spec, show_progress=False)
    report = results(summary)

    tables = perturbed_tables(Path(summary["store"]))
    assert len(tables) == 4  # two perturbations x two languages
    assert all(any(row["changed"] for row in rows) for rows in tables.values())
    for rows in tables.values():
        assert all(len(row["endings"]) >= 2 for row in rows)
    conditions = {(r["perturbation"], r["language"]) for r in report["rows"] if r["seed"] == 1}
    assert {("dropped", "en"), ("dropped", "de"), ("ctx", "en"), ("ctx", "de")} <= conditions
    for row in report["rows"]:
        assert row["clean_f1"] is None or not math.isfinite(row["clean_f1"])  # accuracy only
    assert QA_NOTE not in report["warnings"]
    markdown = (Path(summary["report"]) / "report.md").read_text()
    assert "- endings:" in markdown
