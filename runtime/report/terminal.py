"""The terminal summary: the few numbers a user reads first, ≤ 100 columns. The primary rows
keep the order of every other report file; the per-language list is the largest effects first."""

from __future__ import annotations

import math
import textwrap

from xexp.runtime.report.model import ReportSettings
from xexp.runtime.report.rows import MACRO
from xexp.runtime.report.views import (
    RowIndex, Table, clean_table, delta_rows, footers, n_tests, robustness_table, test_line, verdicts,
)

WIDTH = 100
TOP_LANGUAGE_EFFECTS = 10
#: Columns of the robustness table left to the files, so the terminal stays ≤ 100 columns.
_SECONDARY = ("rel. drop Δ", "drop changed", "drop Δ", "changed %")
#: With an extractive QA target's F1 columns, these go to the files too (same reason).
_SECONDARY_QA = ("drop Δ", "changed %", "family", "p acc")
_CLEAN_SECONDARY_QA = ("seeds",)


#: Columns a too-wide terminal table gives up, in this order, before any name is cut: they
#: are secondary (p acc: Δ perturbed's unadjusted p) and stay in report.md and results.csv.
_SPARED = ("changed %", "drop Δ", "p acc")


def text_table(table: Table, width: int = WIDTH, drop: tuple[str, ...] = (),
               spared: tuple[str, ...] = _SPARED) -> list[str]:
    """A plain-text table that never exceeds `width`: first the `spared` columns go, then the
    widest text columns get cut (…), so a name is cut only when nothing else is left to give."""
    def width_of(dropped: tuple[str, ...]) -> int:
        kept = [i for i, h in enumerate(table.headers) if h not in dropped]
        return sum(max([len(table.headers[i])] + [len(r[i]) for r in table.rows]) + 2 for i in kept) - 2

    for column in spared:
        if width_of(drop) <= width:
            break
        drop = drop + (column,)
    keep = [i for i, h in enumerate(table.headers) if h not in drop]
    headers = [table.headers[i] for i in keep]
    rows = [[row[i] for i in keep] for row in table.rows]
    numeric = [table.numeric[i] for i in keep]
    widths = [max([len(h)] + [len(r[j]) for r in rows]) for j, h in enumerate(headers)]
    while sum(widths) + 2 * (len(widths) - 1) > width:
        candidates = [j for j in range(len(widths)) if not numeric[j] and widths[j] > 4]
        if not candidates:
            candidates = [j for j in range(len(widths)) if widths[j] > 4]
        if not candidates:
            break
        widest = max(candidates, key=lambda j: widths[j])
        widths[widest] -= 1

    def line(cells: list[str]) -> str:
        parts = [_cut(c, w).rjust(w) if numeric[j] else _cut(c, w).ljust(w)
                 for j, (c, w) in enumerate(zip(cells, widths))]
        return "  ".join(parts).rstrip()

    return [line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows]


def caveat_box(caveats: list[str], width: int = WIDTH) -> list[str]:
    """The warnings a reader must see before any number, framed so they cannot be missed."""
    if not caveats:
        return []
    lines = ["!" * width, "!! READ FIRST"]
    for caveat in caveats:
        lines += ["!! " + part for part in textwrap.wrap(caveat, width - 3)]
    return lines + ["!" * width, ""]


def terminal_summary(index: RowIndex, settings: ReportSettings, meta: dict,
                     warnings: list[str]) -> str:
    lines = _title(meta)
    lines += [f"baseline {settings.baseline!r} | α {settings.alpha:g} | {settings.ci:.0%} intervals",
              test_line(index, settings.ci), ""]
    lines += caveat_box(index.caveats)
    lines += _body(index, settings)
    return _finish(lines, warnings)


def terminal_summary_targets(parts: list, settings: ReportSettings, meta: dict, warnings: list[str],
                             xtreme: Table | None = None) -> str:
    """Several targets (runtime/report/targets.py): one block per target, each with its metric
    and its own Holm family."""
    lines = _title(meta)
    study = settings.family == "study"
    lines += [f"baseline {settings.baseline!r} | α {settings.alpha:g} | {settings.ci:.0%} intervals",
              f"robustness test: Δ flip, t over paired seeds + the examples' variance, "
              f"Holm {'over every target' if study else 'within each target'}", ""]
    lines += caveat_box([c for part in parts for c in part.index.caveats])
    if xtreme is not None:  # the paper's table first (runtime/report/xtreme.py), never cut
        lines += [xtreme.title, *text_table(xtreme, width=10_000), xtreme.note, ""]
    for part in parts:
        lines += [f"=== target {part.heading}",
                  f"({n_tests(part.index)} primary rows in this target"
                  f"{'; one Holm family over every target' if study else ''})", ""]
        lines += _body(part.index, settings)
    return _finish(lines, warnings)


def _title(meta: dict) -> list[str]:
    title = f"xexp report: {meta.get('experiment', '?')}"
    if meta.get("run_id"):
        title += f"  (run {meta['run_id']})"
    return [title]


def _body(index: RowIndex, settings: ReportSettings) -> list[str]:
    lines: list[str] = []
    metric = index.metric
    single_model = ("model",) if len(index.models()) == 1 else ()
    secondary = _SECONDARY + (_SECONDARY_QA if index.f1 else ())
    clean = clean_table(index)
    if clean.rows:
        lines += [f"Clean {metric} (seeds pooled)"] + text_table(
            clean, drop=single_model + (_CLEAN_SECONDARY_QA if index.f1 else ())) + [""]
    summary = delta_rows(index)  # the order of report.md, report.html and report.tex
    shown = [clean] if clean.rows else []
    if summary:
        lines += [f"Robustness vs {settings.baseline!r}: Δ flip = change in flips among the examples "
                  f"both got right clean",
                  "  (< 0: more robust; * the primary test rejects; MDE of each primary row: its verdict)",
                  "Accuracy under perturbation: Δ perturbed (includes clean gains; p acc unadjusted)"]
        table = robustness_table(index, summary, "")
        shown.append(table)
        # every row the macro average: said once here, and the column's room goes to the names
        macro_only = ("language",) if all(r["language"] == MACRO for r in summary) else ()
        if macro_only:
            lines.append("Every row: the macro average over languages")
        lines += text_table(table, drop=single_model + secondary + macro_only + ("MDE",)) + [""]
        said = verdicts(index)
        if said:
            lines += ["Verdict (primary rows only)"]
            lines += [part for v in said for part in textwrap.wrap(v, WIDTH, initial_indent="  ",
                                                                    subsequent_indent="    ")] + [""]
    per_language = [r for r in index.pooled if r["language"] != MACRO
                    and r["delta_metric"] == "robustness_delta"
                    and not math.isnan(r["flip_rate_delta"])]
    if any(r["language"] == MACRO for r in summary) and per_language:
        top = sorted(per_language, key=_effect_size, reverse=True)[:TOP_LANGUAGE_EFFECTS]
        lines.append(f"Largest per-language Δ flip (top {len(top)}; exploratory, p unadjusted)")
        table = robustness_table(index, top, "")
        shown.append(table)
        lines += text_table(table, drop=single_model + secondary + ("family", "MDE")) + [""]
    marks = footers(shown)
    if index.f1 and (summary or clean.rows):
        marks += ["EM = exact match; drop Δ, changed % in report.md; Δ F1 = token F1, variant − "
                  "baseline, interval over examples (secondary to EM)"]
    elif summary:
        marks += ["drop Δ, rel. drop Δ and changed % are in report.md (secondary)"]
    return lines + (marks + [""] if marks else [])


def _finish(lines: list[str], warnings: list[str]) -> str:
    if warnings:
        lines.append(f"Warnings ({len(warnings)}):")
        lines += [_cut("  " + w) for w in warnings[:5]]
        if len(warnings) > 5:
            lines.append(f"  … and {len(warnings) - 5} more in results.json")
    return "\n".join(_cut(line) for line in lines).rstrip() + "\n"


def _effect_size(row: dict) -> float:
    value = row["flip_rate_delta"]
    return -1.0 if math.isnan(value) else abs(value)


def _cut(text: str, size: int = WIDTH) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"
