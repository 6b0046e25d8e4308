"""`load`: read one split of one source in one language into the normalized parquet form."""

from __future__ import annotations

from xexp.compiler.graph.contracts import LoadParams
from xexp.compiler.graph.node import Node
from xexp.runtime.context import NodeContext
from xexp.runtime.formats import DATA_FILE
from xexp.runtime.ops.common import write_table


def run(node: Node, ctx: NodeContext) -> dict:
    from xexp.runtime.data.sources import REVISION_METADATA, load_rows

    p = LoadParams.model_validate(node.params)
    table = load_rows(p.source, task_type=p.task_type, split=p.split, rows=p.rows, language=p.language)
    if table.num_rows == 0:
        raise ValueError(f"{node.name}: the source gave no rows (source {p.source}, split {p.split}, rows {p.rows})")
    write_table(table, ctx.out_dir / DATA_FILE)
    ctx.logger.info("%s: %d rows", node.name, table.num_rows)
    manifest = {"file": DATA_FILE, "rows": table.num_rows, "columns": table.column_names}
    revision = (table.schema.metadata or {}).get(REVISION_METADATA)
    if revision is not None:  # the hub commit the rows came from (runtime/hub_revision.py)
        manifest["source_revision"] = revision.decode()
    return manifest
