"""summary.txt (issue 30, item 7): names are never cut while a secondary column can go, and the
primary rows are in the order of report.md (and report.tex, results.csv)."""

from __future__ import annotations

import re

from report_cells import prediction_cells
from xexp.runtime.report import ReportSettings, build_report
from xexp.runtime.report.terminal import WIDTH

CONDITIONS = ("typo", "code_switch_de", "negation")


def _primary_conditions(lines: list[str], header: str) -> list[str]:
    title = next(i for i, line in enumerate(lines) if line.startswith(header))
    start = next(i for i in range(title, len(lines)) if lines[i].startswith("variant")) + 2
    rows = []
    for line in lines[start:]:
        if not line.strip():
            break
        rows.append(line.split()[1])  # variant, condition (every row the macro average)
    return rows


def test_two_seeds_keep_whole_condition_names_and_the_report_md_order(tmp_path):
    cells, _ = prediction_cells(tmp_path / "inputs", model="e5", variants=("none", "hellaswag_translated"),
                                seeds=(1, 2), languages=("de", "en"), conditions=CONDITIONS)
    build_report(cells, ReportSettings(bootstrap=100, examples=0), tmp_path / "out", {"experiment": "wide"})
    summary = (tmp_path / "out" / "summary.txt").read_text(encoding="utf-8").splitlines()
    assert all(len(line) <= WIDTH for line in summary)
    in_summary = _primary_conditions(summary, "Robustness vs")
    assert "…" not in "".join(in_summary) and "worst_case" in in_summary
    assert "hellaswag_translated" in "\n".join(summary)  # the variant's name is whole too
    markdown = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    block = markdown.split("### Summary (seeds pooled; primary rows are the declared hypotheses)")[1].split("\n\n")[1]
    in_markdown = [re.split(r"\s*\|\s*", line)[4] for line in block.splitlines()[2:]]  # | model | variant | language |
    assert in_summary == in_markdown, (in_summary, in_markdown)
