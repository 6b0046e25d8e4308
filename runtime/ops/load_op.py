"""`load`: read one split of one source in one language into the normalized parquet form."""

from __future__ import annotations

from xexp.compiler.graph.contracts import LoadParams
from xexp.compiler.graph.node import Node
from xexp.runtime.context import NodeContext
from xexp.runtime.formats import DATA_FILE
from xexp.runtime.ops.common import write_table


def run(node: Node, ctx: NodeContext) -> dict:
    from xexp.runtime.data.normalize import unlabelled_dropped
    from xexp.runtime.data.sources import REVISION_METADATA, load_rows

    p = LoadParams.model_validate(node.params)
    table = load_rows(p.source, task_type=p.task_type, split=p.split, rows=p.rows, language=p.language)
    dropped = unlabelled_dropped(table)
    if table.num_rows == 0:
        why = f"all {dropped} rows are unlabelled (no gold label)" if dropped else "the source gave no rows"
        raise ValueError(f"{node.name}: {why} (source {p.source}, split {p.split}, rows {p.rows})")
    write_table(table, ctx.out_dir / DATA_FILE)
    ctx.logger.info("%s: %d rows%s", node.name, table.num_rows,
                    f", {dropped} unlabelled rows dropped" if dropped else "")
    manifest = {"file": DATA_FILE, "rows": table.num_rows, "columns": table.column_names}
    if dropped:  # rows without a gold label (MNLI '-', Hugging Face -1): runtime/data/normalize.py
        manifest["unlabelled_dropped"] = dropped
    revision = (table.schema.metadata or {}).get(REVISION_METADATA)
    if revision is not None:  # the hub commit the rows came from (runtime/hub_revision.py)
        manifest["source_revision"] = revision.decode()
    return manifest
