"""report.tex: booktabs tables of clean accuracy per language and robustness deltas with CIs."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from xexp.runtime.formats import NLI_LABELS
from xexp.runtime.report import ReportCell, ReportSettings, build_report
from xexp.runtime.report.latex import escape

MODEL = "xlm_r&50%"  # names reach the tables verbatim, so specials must be escaped
LANGUAGES = ("de", "en")
VARIANTS = ("none", "mnli_v2")
SEEDS = (1, 2)
N = 60
CLEAN_ACC = {"none": 0.7, "mnli_v2": 0.8}


def _write(path, columns: dict) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path)
    return path


def _cells(root) -> tuple[list[ReportCell], dict]:
    """Predictions with a known clean accuracy per (variant, language); a typo condition."""
    cells, correct_by = [], {}
    for language in LANGUAGES:
        ids = [f"{language}-{i}" for i in range(N)]
        gold = [NLI_LABELS[i % 3] for i in range(N)]
        text = {"id": ids, "premise": ["p"] * N, "hypothesis": ["h"] * N, "label": gold}
        clean_data = _write(root / language / "clean.parquet", text)
        typo_data = _write(root / language / "typo.parquet", {**text, "changed": [i % 2 == 0 for i in range(N)]})
        for v, variant in enumerate(VARIANTS):
            for seed in SEEDS:
                rng = np.random.default_rng([v, seed, len(language)])
                correct = rng.random(N) < CLEAN_ACC[variant]
                correct_by.setdefault((variant, language), []).append(correct)
                for condition, keep, data in (("clean", 1.0, clean_data), ("typo", 0.6, typo_data)):
                    now = correct & (rng.random(N) < keep) if condition == "typo" else correct
                    predicted = [g if ok else NLI_LABELS[(NLI_LABELS.index(g) + 1) % 3] for g, ok in zip(gold, now)]
                    path = _write(root / "pred" / variant / language / str(seed) / f"{condition}.parquet", {
                        "id": ids, "gold": gold, "predicted": predicted, "correct": now.tolist(),
                        "probs": [[0.8 if lab == p else 0.1 for lab in NLI_LABELS] for p in predicted]})
                    cells.append(ReportCell(model=MODEL, variant=variant, language=language, condition=condition,
                                            description="" if condition == "clean" else "char_noise(p=0.1)",
                                            kind="evaluate", seed=seed, predictions=path, dataset=data))
    return cells, correct_by


@pytest.fixture(scope="module")
def tex(tmp_path_factory):
    root = tmp_path_factory.mktemp("latex")
    cells, correct_by = _cells(root / "inputs")
    manifest = build_report(cells, ReportSettings(bootstrap=200, examples=0), root / "out",
                            {"experiment": "tex_test", "run_id": "run-1"})
    assert "report.tex" in manifest["files"]
    return (root / "out" / "report.tex").read_text(encoding="utf-8"), correct_by


def _rows(text: str, label: str) -> list[list[str]]:
    """The body rows (between \\midrule and \\bottomrule) of the table with this label."""
    block = text.split(rf"\label{{{label}}}")[1].split(r"\end{table}")[0]
    body = block.split(r"\midrule")[1].split(r"\bottomrule")[0]
    return [[c.strip() for c in line.removesuffix(r"\\").split(" & ")] for line in body.strip().splitlines()]


def test_clean_table_has_one_row_per_variant_and_the_accuracy_per_language(tex):
    text, correct_by = tex
    assert r"\toprule" in text and text.count(r"\begin{tabular}") == 2
    assert r"model & variant & de & en & macro \\" in text
    rows = _rows(text, "tab:tex-test-clean")
    assert [row[:2] for row in rows] == [[escape(MODEL), escape(v)] for v in sorted(VARIANTS)]
    for row in rows:
        variant = row[1].replace(r"\_", "_")
        for language, cell in zip(LANGUAGES, row[2:]):
            expected = 100 * np.concatenate(correct_by[(variant, language)]).mean()
            value, low, high = map(float, re.fullmatch(r"([\d.]+) \[([\d.]+), ([\d.]+)\]", cell).groups())
            assert value == pytest.approx(expected, abs=0.051) and low <= value <= high


def test_robustness_table_has_the_variant_with_a_ci_and_the_p_value(tex):
    text, _ = tex
    rows = _rows(text, "tab:tex-test-robustness")
    assert [row[1:4] for row in rows] == [[r"mnli\_v2", "macro", "typo"], [r"mnli\_v2", "macro", r"worst\_case"]]
    # the two questions (docs/statistics.md): Δ flip (robustness, the family's test) and
    # Δ perturbed (accuracy under perturbation), each with its interval
    assert [row[4] for row in rows] == ["explor.", "primary"]  # the worst case is the hypothesis
    for cell in (rows[0][5], rows[0][8]):
        assert re.fullmatch(r"[+$-]+[\d.]+ \[[+$-]+[\d.]+, [+$-]+[\d.]+\]\S*", cell), cell
    assert r"$\Delta$" not in rows[0][5] and "−" not in text and "Δ" not in text
    assert not re.search(r"(?<![\w$])-\d", text)  # a negative number has a minus sign, not a hyphen


def test_special_characters_are_escaped():
    assert escape(r"a_b & 50% #1 $x$ {y} ~ ^ \ <>") == (
        r"a\_b \& 50\% \#1 \$x\$ \{y\} \textasciitilde{} \textasciicircum{} \textbackslash{} "
        r"\textless{}\textgreater{}")
    assert escape("Δ vs none – −0.3") == r"$\Delta$ vs none -- $-$0.3"


def test_names_in_the_tables_are_escaped(tex):
    text, _ = tex
    assert MODEL not in text and r"xlm\_r\&50\%" in text
