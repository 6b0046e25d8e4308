"""`report`: metrics, robustness deltas with CIs, and the report files, from stored predictions.

The same function serves the `report` node and `xexp report RUN`, so a rebuild from the store
gives byte-identical files without re-running anything.
"""

from __future__ import annotations

from pathlib import Path

from xexp.compiler.graph.report_contract import ReportParams
from xexp.compiler.graph.node import Graph, Node
from xexp.runtime.context import NodeContext
from xexp.runtime.formats import DATA_FILE, HTML_FILE, PREDICTIONS_FILE, SUMMARY_FILE


def _cells(node: Node, locate) -> list:
    from xexp.runtime.report.model import ReportCell

    cells = []
    for i, cell in enumerate(ReportParams.model_validate(node.params).cells):
        predictions_dir, predictions_manifest = locate(node.inputs[f"cell{i}"])
        data_dir, data_manifest = locate(node.inputs[f"data{i}"])
        cells.append(ReportCell(
            model=cell.model, variant=cell.variant, language=cell.language, condition=cell.condition,
            description=cell.description, kind=cell.kind, seed=cell.seed, target=cell.target,
            predictions=predictions_dir / predictions_manifest.get("file", PREDICTIONS_FILE),
            dataset=data_dir / data_manifest.get("file", DATA_FILE),
        ))
    return cells


def _write(node: Node, cells: list, out_dir: Path) -> str:
    from xexp.runtime.report import build_report

    p = ReportParams.model_validate(node.params)
    meta = {"experiment": p.experiment, "report_key": node.key}
    return build_report(cells, p.settings, out_dir, meta, targets=p.targets)["summary"]  # it writes summary.txt too


def run(node: Node, ctx: NodeContext) -> dict:
    cells = _cells(node, lambda key: next((a.dir, a.manifest) for a in ctx.inputs.values() if a.key == key))
    summary = _write(node, cells, ctx.out_dir)
    ctx.logger.info("report with %d cells", len(cells))
    return {"cells": len(cells), "summary_file": SUMMARY_FILE, "html": HTML_FILE, "lines": summary.count("\n")}


def build_from_store(node: Node, graph: Graph, store, out_dir: Path) -> str:
    """Rebuild a report into `out_dir` from the completion records of its inputs."""
    kinds = {n.key: n.kind for n in graph.nodes}

    def locate(key: str):
        record = store.read_record(kinds[key], key)
        return store.artifact_dir(kinds[key], key), record.manifest if record else {}

    out_dir.mkdir(parents=True, exist_ok=True)
    return _write(node, _cells(node, locate), out_dir)
