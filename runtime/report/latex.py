"""report.tex: what a paper `\\input`s. Booktabs tables of the clean metric per language, the
lead robustness figures (Δ perturbed, Δ flip) of the primary rows, the per-language Δ perturbed
by condition, and the report's figures (runtime/report/figures.py). The preamble needs
`\\usepackage{booktabs,graphicx}`.

Every table must fit a default article's text width, so the tables carry only what a paper
shows: no model column with one model, per-language cells without their intervals (the macro
column keeps its own), the secondary columns left to report.md and results.csv; a table that
is still wider than the line is scaled down to it (`\\xexpfit`), never left to run off the page.
The READ FIRST caveats, what † means and which columns are secondary are footnotes of the
table they qualify (a minipage's footnotes, which LaTeX places under the table itself), and the
caption says over what the intervals were taken: seeds, or with one seed the examples.

Written by hand, not with pandas' `Styler.to_latex`: that would make pandas and jinja2 hard
dependencies for a few dozen lines, and its escaping leaves the report's own Unicode (Δ, −, –,
†) to the reader's TeX engine. Every cell goes through `escape`, and the numbers are the strings
the other report files show (views.py), so no file can disagree.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from xexp.runtime.report.figures import FigureFile
from xexp.runtime.report.model import CLEAN, ReportSettings
from xexp.runtime.report.rows import BY_EXAMPLES, BY_SEEDS, MACRO
from xexp.runtime.report.cells import flip_ci, p_accuracy
from xexp.runtime.report.verdicts import PRIMARY
from xexp.runtime.report.views import (DASH, F1_DELTA, RowIndex, Table, delta_rows, f1_delta, p_shown, pct,
                                       primary_ci, signed, significant, with_ci)

#: TeX's special characters and the report's non-ASCII symbols, each with a form any engine reads
LATEX_ESCAPES = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}", "Δ": r"$\Delta$", "−": "$-$",
    "–": "--", "†": r"\textdagger{}", "×": r"$\times$", "≥": r"$\geq$", "≤": r"$\leq$",
    "…": r"\ldots{}", "·": r"$\cdot$",
}

#: what report.tex defines for itself, each only if the including document has not
MACROS = [
    r"\providecommand{\xexpfigdir}{}  % the folder of the fig-* files, relative to the main document",
    r"\providecommand{\xexpfit}[1]{\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{#1}}",
]


def escape(text: str) -> str:
    """Text that TeX typesets as written (user names included: a variant may be `mnli_v2`)."""
    return "".join(LATEX_ESCAPES.get(ch, ch) for ch in str(text))


def _label(*parts: str) -> str:
    return "-".join(re.sub(r"[^A-Za-z0-9]+", "-", p).strip("-") or "x" for p in parts)


@dataclass
class TexTable:
    """A table as report.tex prints it: `notes` are footnotes, each on the header it explains
    (column index) and typeset under the table."""

    caption: str
    label: str
    headers: list[str]
    rows: list[list[str]]
    numeric: list[bool]
    notes: list[tuple[int, str]] = field(default_factory=list)

    def without(self, column: int) -> None:
        del self.headers[column], self.numeric[column]
        for row in self.rows:
            del row[column]
        self.notes = [(c - (c > column), text) for c, text in self.notes if c != column]


def _cell(text: str, numeric: bool = False) -> str:
    out = escape(text)
    if numeric:  # a number's minus sign, not a hyphen
        out = re.sub(r"(?<![\w$])-(?=\d)", "$-$", out)
    # a cell that starts with `[` right after `\\` would be read as the row's spacing argument
    return "{}" + out if out.startswith("[") else out


def render_table(table: TexTable) -> list[str]:
    headers = [_cell(h) for h in table.headers]
    marks: dict[int, list[str]] = {}
    for number, (column, _) in enumerate(table.notes, start=1):
        marks.setdefault(column, []).append(_mark(number))
    for column, letters in marks.items():  # a minipage's footnotes are lettered: \footnotetext[n] is `n`-th letter
        headers[column] += rf"\textsuperscript{{{','.join(letters)}}}"
    columns = "".join("r" if numeric else "l" for numeric in table.numeric)
    lines = [r"\begin{table}[ht]", r"\centering", rf"\caption{{{table.caption}}}",
             rf"\label{{tab:{table.label}}}", r"\begin{minipage}{\linewidth}", r"\centering",
             rf"\xexpfit{{\begin{{tabular}}{{{columns}}}", r"\toprule", " & ".join(headers) + r" \\",
             r"\midrule"]
    lines += [" & ".join(_cell(c, n) for c, n in zip(row, table.numeric)) + r" \\" for row in table.rows]
    lines += [r"\bottomrule", r"\end{tabular}}"]
    lines += [rf"\footnotetext[{number}]{{{escape(text)}}}" for number, (_, text) in enumerate(table.notes, start=1)]
    return lines + [r"\end{minipage}", r"\end{table}", ""]


def _read_first(index: RowIndex, column: int) -> list[tuple[int, str]]:
    """The READ FIRST caveats (too few seeds, a model at chance) as one footnote: a table has
    at most a handful of notes, whatever the number of caveats."""
    if not index.caveats:
        return []
    return [(column, "Read first: " + "; ".join(c.rstrip(".") for c in index.caveats) + ".")]


def _mark(number: int) -> str:
    """The letter LaTeX prints for a minipage's footnote `number` (a, b, … z, then aa, …)."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


def _intervals(rows: list[dict]) -> str:
    """What the caption must say about the intervals and p of these rows."""
    kinds = {r["inference"] for r in rows if r["inference"] in (BY_SEEDS, BY_EXAMPLES)}
    if kinds == {BY_SEEDS}:
        return "intervals and p over seeds"
    if kinds == {BY_EXAMPLES}:
        return r"intervals over examples (one seed per variant, marked \textdagger)"
    return r"intervals and p over seeds, or over examples where marked \textdagger{} (one seed)"


def _baseline_first(index: RowIndex, variants: set[str]) -> list[str]:
    return sorted(variants, key=lambda v: (v != index.baseline, v))


def clean_by_language(index: RowIndex, settings: ReportSettings, subject: str, label: str,
                      f1: bool = False) -> TexTable:
    """Variant rows (baseline first), one column per language: the target's metric, or (`f1`,
    extractive QA) its token F1; the macro column (or a lone language) with its interval."""
    metric, value, low, high = (("token F1", "clean_f1", "clean_f1_ci_low", "clean_f1_ci_high") if f1
                                else (index.metric, "clean_acc", "clean_ci_low", "clean_ci_high"))
    languages: list[str] = []
    for model in index.models():
        languages += [lang for lang in index.languages(model) if lang not in languages]
    summary = MACRO if MACRO in languages else languages[-1] if len(languages) == 1 else None
    rows = []
    for model in index.models():
        for variant in _baseline_first(index, {r["variant"] for r in index.pooled if r["model"] == model}):
            cells = [model, variant]
            for language in languages:
                r = index.get(model, variant, language, CLEAN)
                cells.append(DASH if r is None else
                             with_ci(r[value], r[low], r[high], sign=False) if language == summary
                             else pct(r[value]))
            rows.append(cells)
    where = f"the {summary} column" if summary else "each column"
    table = TexTable(
        f"Clean {escape(metric)} (\\%) by language, seeds pooled: {subject}",
        _label(label, "clean-f1" if f1 else "clean"),
        ["model", "variant", *languages], rows, [False, False] + [True] * len(languages),
        _read_first(index, 1) + [
            (1, f"Baseline {index.baseline} first. {metric[0].upper()}{metric[1:]} in %; {where} with its "
                f"{settings.ci:.0%} bootstrap interval over examples ({settings.bootstrap} replicates)."),
        ])
    if len(index.models()) == 1:
        table.without(0)
    return table


def robustness(index: RowIndex, settings: ReportSettings, subject: str, label: str) -> TexTable | None:
    """Every condition's delta row, the declared primary ones first: the two questions apart
    (docs/statistics.md): Δ flip, robustness, with its method-level p (Holm over the primary
    rows, starred where it rejects), then Δ perturbed, accuracy under perturbation (clean gains
    included), with its unadjusted p, and drop Δ (secondary)."""
    rows = delta_rows(index)  # primary rows first
    if not rows:
        return None
    cells = [[r["model"], r["variant"], r["language"], r["perturbation"],
              "primary" if r["family"] == PRIMARY else "explor.", flip_ci(r, index.alpha), p_shown(r),
              primary_ci(r), p_accuracy(r), *([f1_delta(r)] if index.f1 else []), signed(r["delta_vs_baseline"])]
             for r in rows]
    headers = ["model", "variant", "language", "condition", "family", "Δ flip [CI]", "p", "Δ perturbed [CI]",
               "p acc", *([F1_DELTA] if index.f1 else []), "drop Δ"]
    lead = ("Robustness: Δ flip, the share of the examples both got right clean that the condition "
            "made wrong, variant − baseline (< 0: more robust); only this figure is tested as the "
            "declared hypothesis and starred.")
    accuracy = ("Accuracy under perturbation: Δ perturbed, the metric under the condition, variant − "
                "baseline; it includes clean gains, so a more accurate model wins it without being "
                "more robust; its p (p acc) is unadjusted and never starred.")
    dagger = any(c[5].rstrip("*").endswith("†") or c[7].endswith("†") for c in cells)
    notes = _read_first(index, 5) + [(5, lead), (7, accuracy)]
    if dagger:
        notes.append((5, "† interval over examples: one seed per variant, so it is conditional on "
                         "the trained model, not on the method."))
    tested = [r for r in rows if r["family"] == PRIMARY and not math.isnan(r["p_holm"])]
    if tested:
        notes.append((6, f"p of Δ flip: t over paired seeds plus the examples' variance, Holm over the "
                         f"{len(tested)} primary rows (unadjusted on exploratory rows); * p < {index.alpha:g}."))
    notes.append((len(headers) - 1, "drop Δ = drop(baseline) − drop(variant): secondary, it "
                                    "favours the model that had less to lose."))
    table = TexTable(
        f"Robustness vs {escape(index.baseline)}, {_intervals(rows)} ({escape(f'{settings.ci:.0%}')}): {subject}",
        _label(label, "robustness"), headers, cells, [False] * 5 + [True] * (len(headers) - 5), notes)
    if not tested:  # one seed: no p anywhere
        table.without(8)
        table.without(6)
    if len({r["language"] for r in rows}) == 1:
        table.caption = table.caption.replace(":", f", {escape(_language_said(rows[0]['language']))}:", 1)
        table.without(2)
    if len(index.models()) == 1:
        table.without(0)
    return table


def _language_said(language: str) -> str:
    return "macro average over languages" if language == MACRO else f"language {language}"


def per_language(index: RowIndex, conditions: list[str], subject: str, label: str) -> TexTable | None:
    """Δ perturbed by language (rows) and condition (columns), every variant against the
    baseline: where the effect is, exploratory."""
    conditions = [c for c in conditions if c != CLEAN]
    rows = []
    for model in index.models():
        variants = {r["variant"] for r in index.pooled if r["model"] == model} - {index.baseline}
        for variant in _baseline_first(index, variants):
            for language in index.languages(model):
                cells = [model, variant, language]
                for condition in conditions:
                    r = index.get(model, variant, language, condition)
                    cells.append(DASH if r is None or math.isnan(r["perturbed_acc_delta"]) else
                                 signed(r["perturbed_acc_delta"]) + ("*" if significant(r) else ""))
                rows.append(cells)
    if not rows or not conditions:
        return None
    table = TexTable(
        f"$\\Delta$ perturbed {escape(index.metric)} (points, variant $-$ {escape(index.baseline)}) "
        f"by language and condition: {subject}", _label(label, "by-language"),
        ["model", "variant", "language", *conditions], rows, [False] * 3 + [True] * len(conditions),
        [(2, "Per-language cells are exploratory (no correction for multiple comparisons); their "
             "intervals are in report.md and results.csv."),
         (2, "* p (Holm) < 0.05 on a primary (macro) row.")])
    if len({r[1] for r in rows}) == 1:
        table.caption = table.caption.replace("variant", escape(rows[0][1]), 1)
        table.without(1)
    if len(index.models()) == 1:
        table.without(0)
    return table


def xtreme_tex(table: Table, label: str) -> TexTable:
    """The XTREME table (runtime/report/xtreme.py) as report.tex prints it, its note a footnote."""
    return TexTable(caption=escape(table.title), label=label, headers=list(table.headers),
                    rows=[list(row) for row in table.rows], numeric=list(table.numeric),
                    notes=[(0, table.note)] if table.note else [])


def figure_blocks(figures: list[FigureFile], label: str) -> list[str]:
    lines = []
    for f in figures:
        lines += [r"\begin{figure}[ht]", r"\centering",
                  rf"\includegraphics[width=\linewidth]{{\xexpfigdir {f.stem}}}",
                  rf"\caption{{{escape(f.title)}}}", rf"\label{{fig:{_label(label, f.stem)}}}",
                  r"\end{figure}", ""]
    return lines


def latex_report(index: RowIndex, settings: ReportSettings, meta: dict, conditions: list[str] | None = None,
                 figures: list[FigureFile] | None = None) -> str:
    experiment = str(meta.get("experiment", "experiment"))
    return "\n".join(_preamble(meta) + _section(index, settings, experiment, conditions, figures or []))


def latex_report_targets(parts: list, settings: ReportSettings, meta: dict,
                         figures: dict[str, list[FigureFile]] | None = None, xtreme: Table | None = None) -> str:
    """Several targets (runtime/report/targets.py): each target's tables, captioned and labelled
    with the target and its metric."""
    experiment = str(meta.get("experiment", "experiment"))
    lines = _preamble(meta)
    if xtreme is not None:  # the paper's table first (runtime/report/xtreme.py)
        lines += render_table(xtreme_tex(xtreme, _label(experiment, "xtreme")))
    for part in parts:
        lines += _section(part.index, settings, experiment, part.conditions,
                          (figures or {}).get(part.name, []), part.name)
    return "\n".join(lines)


def _preamble(meta: dict) -> list[str]:
    experiment = str(meta.get("experiment", "experiment"))
    return [f"% report.tex written by xexp for experiment {experiment}"
            + (f", run {meta['run_id']}" if meta.get("run_id") else "") + ".",
            r"% \input{report.tex} in a document whose preamble has \usepackage{booktabs,graphicx};",
            r"% the figures are the fig-* files beside it: \newcommand{\xexpfigdir}{path/} first when",
            r"% report.tex is not in the main document's folder.", *MACROS, ""]


def _section(index: RowIndex, settings: ReportSettings, experiment: str, conditions: list[str] | None,
             figures: list[FigureFile], target: str = "") -> list[str]:
    subject = f"{escape(experiment)}, target {escape(target)}" if target else escape(experiment)
    if len(index.models()) == 1:  # the tables leave out their model column
        subject += f", model {escape(index.models()[0])}"
    label = _label(experiment, target) if target else _label(experiment)
    conditions = conditions if conditions is not None else sorted({r["perturbation"] for r in index.pooled})
    tables = [clean_by_language(index, settings, subject, label)]
    if index.f1:  # extractive QA: token F1 beside exact match
        tables.append(clean_by_language(index, settings, subject, label, f1=True))
    tables += [t for t in (robustness(index, settings, subject, label),
                           per_language(index, conditions, subject, label)) if t is not None]
    lines = [line for table in tables for line in render_table(table)]
    return lines + figure_blocks(figures, label)
