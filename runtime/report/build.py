"""build_report: predictions of every cell in, report files and a small manifest out."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from xexp.compiler.registry.base import dump_params
from xexp.runtime.data.formats import HTML_FILE, REPORT_FILES, SUMMARY_FILE  # noqa: F401  (re-exported)
from xexp.runtime.report.figures import figure_files
from xexp.runtime.report.html import html_report, html_report_targets
from xexp.runtime.report.latex import latex_report, latex_report_targets
from xexp.runtime.report.markdown import markdown_report, markdown_report_targets
from xexp.runtime.report.model import ReportCell, ReportSettings
from xexp.runtime.report.tables import TARGET_COLUMNS, columns_of, csv_text, headline, json_text, write_text
from xexp.runtime.report.targets import ReportTarget, TargetSection, sections
from xexp.runtime.report.terminal import terminal_summary, terminal_summary_targets
from xexp.runtime.report.xtreme import XTREME_CSV, xtreme_csv, xtreme_result, xtreme_table


def build_report(cells: Iterable[ReportCell | dict], settings: ReportSettings | dict,
                 out_dir: Path, meta: dict, targets: Iterable[ReportTarget | dict] | None = None) -> dict:
    """Write the report into `out_dir` and return a JSON-able manifest.

    `meta` goes into results.json verbatim; the keys `experiment`, `run_id` and `spec` are
    also shown in the headers. Nothing time- or machine-dependent is added, so the same
    inputs give byte-identical files. `targets` describes the targets of a spec with several
    (each cell names its own): the report then has one section per target, with its own
    statistics (runtime/report/targets.py says why Holm's family is per target).
    """
    report_cells = [c if isinstance(c, ReportCell) else ReportCell.model_validate(c) for c in cells]
    settings = settings if isinstance(settings, ReportSettings) else ReportSettings.model_validate(settings)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not report_cells:
        raise ValueError("the report has no cells")

    parts = sections(report_cells, settings, targets)
    if len(parts) == 1 and parts[0].target is None:
        figures = figure_files(parts[0].index, parts[0].conditions, out_dir)
        texts, rows, caveats, warnings, summary = _one_target(parts[0], settings, meta, figures)
        names = [n for f in figures for n in f.names()]
    else:
        by_target = {part.name: figure_files(part.index, part.conditions, out_dir, (part.name,)) for part in parts}
        texts, rows, caveats, warnings, summary = _several_targets(parts, settings, meta, report_cells, by_target)
        names = [n for found in by_target.values() for f in found for n in f.names()]
    for name in texts:  # REPORT_FILES, and xtreme.csv with several targets and variants
        write_text(out_dir / name, texts[name])
    return {
        "files": list(texts) + names,
        "rows": len(rows),
        "cells": len(report_cells),
        "headline": headline(rows),
        "warnings": caveats + warnings,
        "summary": summary,
    }


def _one_target(part: TargetSection, settings: ReportSettings, meta: dict, figures: list):
    index, rows, warnings = part.index, part.rows, part.warnings
    summary = terminal_summary(index, settings, meta, warnings)
    texts = {
        HTML_FILE: html_report(index, settings, meta, part.conditions, part.examples, warnings, figures),
        "report.md": markdown_report(index, settings, meta, part.conditions, part.examples, warnings),
        "report.tex": latex_report(index, settings, meta, part.conditions, figures),
        "results.csv": csv_text(rows, columns_of(rows)),
        "results.json": json_text(rows, meta, dump_params(settings, settings.ADDED_LATER), index.caveats + warnings, columns_of(rows)),
        SUMMARY_FILE: summary,
    }
    return texts, rows, index.caveats, warnings, summary


def _several_targets(parts: list[TargetSection], settings: ReportSettings, meta: dict, cells: list[ReportCell],
                     figures: dict):
    rows = [row for part in parts for row in part.rows]
    caveats = [c for part in parts for c in part.index.caveats]
    warnings = [w for part in parts for w in part.warnings]
    try:  # an addition: predictions it cannot read cost the table, not the report
        result = xtreme_result(cells, [p.target for p in parts if p.target], settings)
    except (ValueError, KeyError) as error:
        result = None
        warnings = warnings + [f"no XTREME table: {error}"]
    table = xtreme_table(result) if result is not None else None
    summary = terminal_summary_targets(parts, settings, meta, warnings, table)
    targets = [dump_params(part.target, part.target.OMITTED_AT_DEFAULT) | {"metric": part.metric}
               for part in parts if part.target]
    texts = {
        HTML_FILE: html_report_targets(parts, settings, meta, warnings, figures, table),
        "report.md": markdown_report_targets(parts, settings, meta, warnings, table),
        "report.tex": latex_report_targets(parts, settings, meta, figures, table),
        "results.csv": csv_text(rows, columns_of(rows, TARGET_COLUMNS)),
        "results.json": json_text(rows, meta, dump_params(settings, settings.ADDED_LATER), caveats + warnings,
                                  columns_of(rows, TARGET_COLUMNS), targets),
        SUMMARY_FILE: summary,
    }
    if result is not None:
        texts[XTREME_CSV] = xtreme_csv(result)
    return texts, rows, caveats, warnings, summary
