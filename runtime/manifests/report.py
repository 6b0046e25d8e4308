"""What a `report` node hands on: its manifest (runtime/ops/report_op.py writes the report)."""

from __future__ import annotations

from xexp.runtime.engine.completion import NodeManifest


class ReportManifest(NodeManifest):
    """The report's cells, its summary and page (files in the node's folder), and the summary's
    length in lines."""

    cells: int
    summary_file: str
    html: str
    lines: int
