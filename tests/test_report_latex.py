"""report.tex: booktabs tables of the clean metric per language, the lead robustness figures and
the per-language Δ perturbed, the figures as files beside it, and all of it compiled by pdflatex
within a default article's text width (issue 30)."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest

import needs
from report_cells import LANGUAGES, MODEL, VARIANTS, prediction_cells
from xexp.runtime.report import ReportSettings, build_report
from xexp.runtime.report.latex import escape

DEMO_CONDITIONS = ("typo", "negation", "codemix")
XNLI = ("ar", "bg", "de", "el", "en", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh")


def _build(root, experiment: str, **shape) -> tuple[str, dict, dict]:
    cells, correct_by = prediction_cells(root / "inputs", **shape)
    manifest = build_report(cells, ReportSettings(bootstrap=200, examples=0), root / "out",
                            {"experiment": experiment, "run_id": "run-1"})
    return (root / "out" / "report.tex").read_text(encoding="utf-8"), correct_by, manifest


@pytest.fixture(scope="module")
def tex(tmp_path_factory):
    text, correct_by, manifest = _build(tmp_path_factory.mktemp("latex"), "tex_test")
    assert "report.tex" in manifest["files"]
    return text, correct_by


@pytest.fixture(scope="module")
def demo_like(tmp_path_factory):
    """The demo's shape: one model, none and choice, one seed, five languages, three conditions."""
    root = tmp_path_factory.mktemp("demo_like")
    text, _, manifest = _build(root, "demo", model="e5", variants=("none", "choice"), seeds=(1,),
                               languages=("en", "de", "fr", "hi", "zh"), conditions=DEMO_CONDITIONS)
    return root / "out", text, manifest


def _rows(text: str, label: str) -> list[list[str]]:
    """The body rows (between \\midrule and \\bottomrule) of the table with this label."""
    block = text.split(rf"\label{{{label}}}")[1].split(r"\end{table}")[0]
    body = block.split(r"\midrule")[1].split(r"\bottomrule")[0]
    return [[c.strip() for c in line.removesuffix(r"\\").split(" & ")] for line in body.strip().splitlines()]


def _header(text: str, label: str) -> str:
    block = text.split(rf"\label{{{label}}}")[1]
    return block.split(r"\toprule")[1].split(r"\midrule")[0].strip()


def _caption(text: str, label: str) -> str:
    return text.split(rf"\label{{{label}}}")[0].rsplit(r"\caption{", 1)[1]


def _footnotes(text: str, label: str) -> list[str]:
    block = text.split(rf"\label{{{label}}}")[1].split(r"\end{table}")[0]
    return re.findall(r"\\footnotetext\[\d+\]\{(.*)\}", block)


def test_clean_table_has_the_baseline_first_and_the_accuracy_per_language(tex):
    text, correct_by = tex
    assert text.count(r"\begin{tabular}") == 3  # clean, robustness, per language
    assert _header(text, "tab:tex-test-clean").startswith("variant") and "& de & en & macro" in text
    rows = _rows(text, "tab:tex-test-clean")
    assert [row[0] for row in rows] == [escape(v) for v in VARIANTS]  # none (the baseline) first
    assert r"model xlm\_r\&50\%" in _caption(text, "tab:tex-test-clean")  # one model: named, no column
    for row in rows:
        variant = row[0].replace(r"\_", "_")
        for language, cell in zip(LANGUAGES, row[1:]):
            expected = 100 * np.concatenate(correct_by[(variant, language)]).mean()
            assert float(cell) == pytest.approx(expected, abs=0.051)
        value, low, high = map(float, re.fullmatch(r"([\d.]+) \[([\d.]+), ([\d.]+)\]", row[-1]).groups())
        assert low <= value <= high  # the macro column keeps its interval


def test_robustness_table_has_the_lead_figures_with_intervals_over_seeds_and_p(tex):
    text, _ = tex
    label = "tab:tex-test-robustness"
    rows = _rows(text, label)
    # the declared hypothesis first, then the exploratory rows (issue 29)
    assert [row[:3] for row in rows] == [[r"mnli\_v2", r"worst\_case", "primary"], [r"mnli\_v2", "typo", "explor."]]
    for cell in (rows[0][3], rows[0][5]):  # Δ flip and Δ perturbed, each with its interval, no † with 2 seeds
        assert re.fullmatch(r"[+$-]+[\d.]+ \[[+$-]+[\d.]+, [+$-]+[\d.]+\]\*?", cell), cell
    assert re.fullmatch(r"[\d.<]+", rows[0][4]) and re.fullmatch(r"[\d.<]+", rows[0][6])  # p of Δ flip, p acc
    header = _header(text, label)
    assert header.index(r"$\Delta$ flip") < header.index(r"$\Delta$ perturbed")  # robustness leads
    caption = _caption(text, label)
    assert "intervals and p over seeds" in caption and "macro average" in caption
    notes = _footnotes(text, label)
    assert any("2 paired seeds" in n for n in notes)  # the READ FIRST caveat
    assert any("includes clean gains" in n for n in notes)  # accuracy under perturbation, said as such
    assert any("secondary" in n for n in notes) and not any("dagger" in n for n in notes)
    assert "−" not in text and "Δ" not in text
    assert not re.search(r"(?<![\w$-])-\d", text)  # a negative number has a minus sign, not a hyphen


def test_one_seed_says_its_intervals_are_over_examples_and_explains_the_dagger(demo_like):
    _, text, _ = demo_like
    caption = _caption(text, "tab:demo-robustness")
    assert "over examples" in caption and "over seeds" not in caption
    rows = _rows(text, "tab:demo-robustness")
    assert rows and all(row[3].endswith(r"\textdagger{}") and row[4].endswith(r"\textdagger{}") for row in rows)
    assert _header(text, "tab:demo-robustness").split(" & ")[5].startswith(r"drop $\Delta$")  # no p columns
    notes = _footnotes(text, "tab:demo-robustness")
    assert any(n.startswith(r"\textdagger{} interval over examples") for n in notes)
    assert any("one seed per variant" in n for n in notes)  # the READ FIRST caveat


def test_per_language_table_has_every_language_and_condition(demo_like):
    _, text, _ = demo_like
    label = "tab:demo-by-language"
    assert _header(text, label).startswith("language") and "& codemix & negation & typo & worst" in text
    rows = _rows(text, label)
    assert [row[0] for row in rows] == ["de", "en", "fr", "hi", "zh", "macro"]
    assert all(re.fullmatch(r"[+$-]+[\d.]+\*?", c) for row in rows for c in row[1:])
    assert "choice $-$ none" in _caption(text, label)


def test_figures_are_files_in_three_formats_and_report_tex_includes_each(demo_like):
    out, text, manifest = demo_like
    stems = sorted({name.rsplit(".", 1)[0] for name in manifest["files"] if name.startswith("fig-")})
    assert stems == ["fig-bars-e5", "fig-heatmap-e5-choice", "fig-scatter"]
    for stem in stems:
        assert (out / f"{stem}.svg").read_text().lstrip().startswith("<?xml")
        assert (out / f"{stem}.pdf").read_bytes().startswith(b"%PDF")
        assert (out / f"{stem}.png").read_bytes().startswith(b"\x89PNG")
        assert rf"\includegraphics[width=\linewidth]{{\xexpfigdir {stem}}}" in text
    assert "Δ perturbed under typo" in (out / "fig-bars-e5.svg").read_text()  # the lead figure, not the drop
    assert "drop under" not in (out / "fig-bars-e5.svg").read_text()


MAIN = r"""\documentclass{article}
\usepackage{booktabs,graphicx}
\begin{document}
\input{report.tex}
\end{document}
"""


def _compile(folder) -> str:
    (folder / "main.tex").write_text(MAIN, encoding="utf-8")
    done = subprocess.run([needs.pdflatex(), "-interaction=nonstopmode", "-halt-on-error", "main.tex"],
                          cwd=folder, capture_output=True, text=True, timeout=300)
    log = (folder / "main.log").read_text(encoding="utf-8", errors="replace")
    assert done.returncode == 0, log[-3000:]
    assert (folder / "main.pdf").read_bytes().startswith(b"%PDF")
    return log


def test_pdflatex_compiles_the_demo_like_report_within_the_text_width(demo_like):
    out, _, _ = demo_like
    log = _compile(out)
    assert "Overfull \\hbox" not in log, re.findall(r"Overfull.*", log)
    assert "File `fig-" not in log  # every figure found


def test_pdflatex_fits_fifteen_languages_and_two_seeds(tmp_path):
    needs.pdflatex()
    _build(tmp_path, "xnli", model="e5", variants=("none", "mnli_v2", "squad"), seeds=(1, 2),
           languages=XNLI, conditions=("typo",))
    log = _compile(tmp_path / "out")
    assert "Overfull \\hbox" not in log, re.findall(r"Overfull.*", log)


def test_special_characters_are_escaped():
    assert escape(r"a_b & 50% #1 $x$ {y} ~ ^ \ <>") == (
        r"a\_b \& 50\% \#1 \$x\$ \{y\} \textasciitilde{} \textasciicircum{} \textbackslash{} "
        r"\textless{}\textgreater{}")
    assert escape("Δ vs none – −0.3") == r"$\Delta$ vs none -- $-$0.3"


def test_names_in_the_tables_are_escaped(tex):
    text, _ = tex
    assert MODEL not in text and r"xlm\_r\&50\%" in text
