"""`load`: read one split of one source in one language into the normalized parquet form."""

from __future__ import annotations

from xexp.compiler.graph.contracts import LoadParams
from xexp.compiler.graph.node import Node
from xexp.errors import DataError
from xexp.runtime.engine.context import NodeContext
from xexp.runtime.data.formats import DATA_FILE
from xexp.runtime.ops.common import write_table
from xexp.runtime.manifests.tables import LoadManifest


def _concatenated(p: LoadParams):
    """A split read from several sources as one task (ANLI+): each part normalized as a load of
    it alone, its ids prefixed with the part's number so they stay unique, the rows in order."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from xexp.runtime.data.normalize import UNLABELLED_METADATA, unlabelled_dropped
    from xexp.runtime.data.sources import load_rows

    assert p.parts is not None
    tables, dropped = [], 0
    for i, part in enumerate(p.parts):
        table = load_rows(part.source, task_type=p.task_type, split=part.split, rows=part.rows, language=p.language)
        dropped += unlabelled_dropped(table)
        ids = pc.binary_join_element_wise(pa.scalar(f"{i}"), table.column("id"), ":")
        tables.append(table.set_column(table.schema.get_field_index("id"), "id", ids).replace_schema_metadata(None))
    joined = pa.concat_tables(tables, promote_options="default")
    return joined.replace_schema_metadata({UNLABELLED_METADATA: str(dropped)}) if dropped else joined


def run(node: Node, ctx: NodeContext) -> LoadManifest:
    from xexp.runtime.data.normalize import unlabelled_dropped
    from xexp.runtime.data.sources import REVISION_METADATA, load_rows

    p = LoadParams.model_validate(node.params)
    if p.parts:
        table = _concatenated(p)
    else:
        table = load_rows(p.source, task_type=p.task_type, split=p.split, rows=p.rows, language=p.language)
    dropped = unlabelled_dropped(table)
    if table.num_rows == 0:
        why = f"all {dropped} rows are unlabelled (no gold label)" if dropped else "the source gave no rows"
        raise DataError(node.name, f"{why} (source {p.source}, split {p.split}, rows {p.rows})")
    write_table(table, ctx.out_dir / DATA_FILE)
    ctx.logger.info("%s: %d rows%s", node.name, table.num_rows,
                    f", {dropped} unlabelled rows dropped" if dropped else "")
    revision = (table.schema.metadata or {}).get(REVISION_METADATA)
    return LoadManifest(rows=table.num_rows, columns=table.column_names, unlabelled_dropped=dropped,
                        source_revision=None if revision is None else revision.decode())
