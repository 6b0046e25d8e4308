"""`report`: metrics, robustness deltas with CIs, and the report files, from stored predictions.

The same function serves the `report` node and `xexp report RUN`, so a rebuild from the store
gives byte-identical files without re-running anything.
"""

from __future__ import annotations

from pathlib import Path

from xexp.compiler.graph.report_contract import ReportParams
from xexp.compiler.graph.node import Graph, Node
from xexp.runtime.engine.context import NodeContext
from xexp.runtime.data.formats import HTML_FILE, SUMMARY_FILE
from xexp.runtime.manifests.report import ReportManifest
from xexp.runtime.manifests.tables import DataManifest, PredictionsManifest


def _cells(node: Node, locate) -> list:
    """`locate(key)` gives input `key`'s folder, its stored manifest and its name in errors."""
    from xexp.runtime.report.model import ReportCell

    def table(key: str, manifest: type[DataManifest] | type[PredictionsManifest]) -> Path:
        folder, stored, where = locate(key)
        return folder / manifest.read(stored, where).file

    cells = []
    for i, cell in enumerate(ReportParams.model_validate(node.params).cells):
        cells.append(ReportCell(
            model=cell.model, variant=cell.variant, language=cell.language, condition=cell.condition,
            description=cell.description, kind=cell.kind, seed=cell.seed, target=cell.target,
            predictions=table(node.inputs[f"cell{i}"], PredictionsManifest),
            dataset=table(node.inputs[f"data{i}"], DataManifest),
        ))
    return cells


def _write(node: Node, cells: list, out_dir: Path) -> str:
    from xexp.runtime.report import build_report

    p = ReportParams.model_validate(node.params)
    meta = {"experiment": p.experiment, "report_key": node.key}
    return build_report(cells, p.settings, out_dir, meta, targets=p.targets)["summary"]  # it writes summary.txt too


def run(node: Node, ctx: NodeContext) -> ReportManifest:
    cells = _cells(node, lambda key: next((a.dir, a.manifest, f"{a.kind}/{key[:10]}")
                                          for a in ctx.inputs.values() if a.key == key))
    summary = _write(node, cells, ctx.out_dir)
    ctx.logger.info("report with %d cells", len(cells))
    return ReportManifest(cells=len(cells), summary_file=SUMMARY_FILE, html=HTML_FILE, lines=summary.count("\n"))


def build_from_store(node: Node, graph: Graph, store, out_dir: Path) -> str:
    """Rebuild a report into `out_dir` from the completion records of its inputs."""
    kinds = {n.key: n.kind for n in graph.nodes}

    def locate(key: str):
        record = store.read_record(kinds[key], key)
        return store.artifact_dir(kinds[key], key), record.manifest if record else {}, f"{kinds[key]}/{key[:10]}"

    out_dir.mkdir(parents=True, exist_ok=True)
    return _write(node, _cells(node, locate), out_dir)
