"""report.tex: the clean accuracy per language and the robustness deltas with CIs, as booktabs
tables a paper can `\\input` (its preamble needs `\\usepackage{booktabs}`).

Written by hand, not with pandas' `Styler.to_latex`: that would make pandas and jinja2 hard
dependencies of the report for a few dozen lines, and its LaTeX escaping leaves the report's own
Unicode (Δ, −, –) to the reader's TeX engine. Here every cell goes through `escape`, and the
numbers are the strings the other report files show (views.py), so no file can disagree.
"""

from __future__ import annotations

import re

from xexp.runtime.report.model import CLEAN, ReportSettings
from xexp.runtime.report.views import (DASH, RowIndex, Table, delta_rows, robustness_note, robustness_table,
                                       with_ci)

#: TeX's special characters and the report's non-ASCII symbols, each with a form any engine reads
LATEX_ESCAPES = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "Δ": r"$\Delta$", "−": "$-$", "–": "--",
}


def escape(text: str) -> str:
    """Text that TeX typesets as written (user names included: a variant may be `mnli_v2`)."""
    return "".join(LATEX_ESCAPES.get(ch, ch) for ch in str(text))


def _label(*parts: str) -> str:
    return "tab:" + "-".join(re.sub(r"[^A-Za-z0-9]+", "-", p).strip("-") or "x" for p in parts)


def _tabular(table: Table, caption: str, label: str) -> list[str]:
    # A cell that starts with `[` right after `\\` would be read as the row's spacing argument.
    def cell(text: str, numeric: bool = False) -> str:
        out = escape(text)
        if numeric:  # a number's minus sign, not a hyphen
            out = re.sub(r"(?<![\w$])-(?=\d)", "$-$", out)
        return "{}" + out if out.startswith("[") else out

    columns = "".join("r" if numeric else "l" for numeric in table.numeric)
    lines = [r"\begin{table}[ht]", r"\centering", rf"\caption{{{caption}}}", rf"\label{{{label}}}",
             rf"\begin{{tabular}}{{{columns}}}", r"\toprule",
             " & ".join(cell(h) for h in table.headers) + r" \\", r"\midrule"]
    lines += [" & ".join(cell(c, n) for c, n in zip(row, table.numeric)) + r" \\" for row in table.rows]
    lines += [r"\bottomrule", r"\end{tabular}"]
    if table.note:
        lines.append(rf"\par\smallskip{{\footnotesize {escape(table.note)}}}")
    return lines + [r"\end{table}", ""]


def clean_by_language(index: RowIndex, f1: bool = False) -> Table:
    """Model × variant rows, one column per language (macro average last), seeds pooled: the
    target's metric, or (`f1`, extractive QA) its token F1."""
    metric, value, low, high = (("token F1", "clean_f1", "clean_f1_ci_low", "clean_f1_ci_high") if f1
                                else (index.metric, "clean_acc", "clean_ci_low", "clean_ci_high"))
    languages: list[str] = []
    for model in index.models():
        languages += [lang for lang in index.languages(model) if lang not in languages]
    rows = []
    for model in index.models():
        variants = sorted({r["variant"] for r in index.pooled if r["model"] == model})
        for variant in variants:
            cells = [model, variant]
            for language in languages:
                r = index.get(model, variant, language, CLEAN)
                cells.append(DASH if r is None else
                             with_ci(r[value], r[low], r[high], sign=False))
            rows.append(tuple(cells))
    return Table(f"Clean {metric} by language", ("model", "variant", *languages), rows,
                 (False, False) + (True,) * len(languages),
                 note=f"{metric[0].upper()}{metric[1:]} in % with its bootstrap CI in brackets; seeds pooled.")


def latex_report(index: RowIndex, settings: ReportSettings, meta: dict) -> str:
    experiment = str(meta.get("experiment", "experiment"))
    return "\n".join(_preamble(meta) + _tables(index, settings, experiment))


def latex_report_targets(parts: list, settings: ReportSettings, meta: dict, xtreme: Table | None = None) -> str:
    """Several targets (runtime/report/targets.py): each target's tables, captioned and labelled
    with the target and its metric."""
    experiment = str(meta.get("experiment", "experiment"))
    lines = _preamble(meta)
    if xtreme is not None:  # the paper's table first (runtime/report/xtreme.py)
        lines += _tabular(xtreme, escape(xtreme.title), _label(experiment, "xtreme"))
    for part in parts:
        lines += _tables(part.index, settings, experiment, part.name)
    return "\n".join(lines)


def _preamble(meta: dict) -> list[str]:
    experiment = str(meta.get("experiment", "experiment"))
    return [f"% report.tex written by xexp for experiment {experiment}"
            + (f", run {meta['run_id']}" if meta.get("run_id") else "") + ".",
            r"% \input{report.tex} in a document whose preamble has \usepackage{booktabs}.", ""]


def _tables(index: RowIndex, settings: ReportSettings, experiment: str, target: str = "") -> list[str]:
    ci = f"{settings.ci:.0%} bootstrap CI, {settings.bootstrap} replicates"
    subject = f"{escape(experiment)}, target {escape(target)}" if target else escape(experiment)
    label = (experiment, target) if target else (experiment,)
    lines = _tabular(clean_by_language(index),
                     f"Clean {escape(index.metric)} (\\%) by language, {escape(ci)}: {subject}",
                     _label(*label, "clean"))
    if index.f1:  # extractive QA: token F1 beside exact match
        lines += _tabular(clean_by_language(index, f1=True),
                          f"Clean token F1 (\\%) by language, {escape(ci)}: {subject}",
                          _label(*label, "clean-f1"))
    deltas = delta_rows(index)
    if deltas:
        table = robustness_table(index, deltas, "Robustness delta", note=robustness_note(index))
        lines += _tabular(table, f"Robustness delta vs {escape(settings.baseline)}, {escape(ci)}: "
                                 f"{subject}", _label(*label, "robustness"))
    return lines
