"""build_report: predictions of every cell in, report files and a small manifest out."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from xexp.runtime.report.examples import select_examples
from xexp.runtime.report.html import html_report
from xexp.runtime.report.latex import latex_report
from xexp.runtime.report.markdown import markdown_report
from xexp.runtime.formats import HTML_FILE, REPORT_FILES, SUMMARY_FILE
from xexp.runtime.report.model import ReportCell, ReportSettings
from xexp.runtime.report.outcomes import collect_outcomes
from xexp.runtime.report.rows import compute_rows, condition_order
from xexp.runtime.report.tables import csv_text, headline, json_text, write_text
from xexp.runtime.report.terminal import terminal_summary
from xexp.runtime.report.views import RowIndex




def build_report(cells: Iterable[ReportCell | dict], settings: ReportSettings | dict,
                 out_dir: Path, meta: dict) -> dict:
    """Write the report into `out_dir` and return a JSON-able manifest.

    `meta` goes into results.json verbatim; the keys `experiment`, `run_id` and `spec` are
    also shown in the headers. Nothing time- or machine-dependent is added, so the same
    inputs give byte-identical files.
    """
    report_cells = [c if isinstance(c, ReportCell) else ReportCell.model_validate(c) for c in cells]
    settings = settings if isinstance(settings, ReportSettings) else ReportSettings.model_validate(settings)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    collected = collect_outcomes(report_cells)
    rows, row_warnings = compute_rows(collected, settings)
    warnings = collected.warnings + row_warnings
    index = RowIndex(rows, settings.baseline, collected.caveats)
    conditions = condition_order(collected.condition_kinds)
    examples = select_examples(report_cells, settings, conditions, collected.descriptions)
    summary = terminal_summary(index, settings, meta, warnings)

    texts = {
        HTML_FILE: html_report(index, settings, meta, conditions, examples, warnings),
        "report.md": markdown_report(index, settings, meta, conditions, examples, warnings),
        "report.tex": latex_report(index, settings, meta),
        "results.csv": csv_text(rows),
        "results.json": json_text(rows, meta, settings.model_dump(), index.caveats + warnings),
        SUMMARY_FILE: summary,
    }
    for name in REPORT_FILES:
        write_text(out_dir / name, texts[name])
    return {
        "files": list(REPORT_FILES),
        "rows": len(rows),
        "cells": len(report_cells),
        "headline": headline(rows),
        "warnings": index.caveats + warnings,
        "summary": summary,
    }
