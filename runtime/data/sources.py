"""`load_rows`: any declared data source -> the normalized table of runtime/data/formats.py.

Each source kind has its own reader (local files, Hugging Face datasets, the synthetic
generator); they all return a `RawSource` (raw records plus where each came from), and one
normalizer turns those into the typed table. Keeping readers and normalization apart is what
makes every source report bad data the same way: file, row and field.
"""

from __future__ import annotations

from typing import Protocol

from xexp.compiler.registry.base import task_family
from xexp.runtime.data.normalize import normalize
from xexp.runtime.data.raw import DataError, RawSource


#: Schema metadata of a loaded table naming the hub commit its rows came from.
REVISION_METADATA = b"xexp.source_revision"


def load_rows(
    source: dict,
    *,
    task_type: str,
    split: str | None,
    rows: tuple[int, int] | None,
    language: str | None,
):
    """Read `source` and return its normalized pyarrow Table for `task_type`.

    `rows=(start, stop)` keeps that slice of the source (Python slice semantics, so None and
    negative bounds work) *after* reading: ids stay the row numbers in the whole source, so a
    slice of a dataset has the same ids as the same rows of the full dataset.
    """
    task_family(task_type)  # unknown task types fail before any file is read
    raw = read_source(source, task_type=task_type, split=split, language=language)
    indices = range(raw.count)
    if rows is not None:
        start, stop = rows
        indices = indices[slice(start, stop)]
    table = normalize(
        raw, indices, task_type=task_type,
        columns=source.get("columns"), labels=source.get("labels"), language=language,
    )
    if raw.revision is not None:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                               REVISION_METADATA: raw.revision.encode()})
    return table


class SourceReader(Protocol):
    """What a data source's implementation (its registry entry's `implementation=`) is: the
    source's raw records for one task type, split and language. One signature for every kind is
    what lets `read_source` call any of them by the entry alone."""

    def __call__(self, source: dict, *, task_type: str, split: str | None,
                 language: str | None) -> RawSource: ...


def read_source(source: dict, *, task_type: str, split: str | None, language: str | None) -> RawSource:
    """The reader the registry names for `source["source"]` (imported lazily: `datasets` is heavy)."""
    from xexp.compiler.registry import REGISTRY
    from xexp.runtime.implementations import entry_of, resolve

    if not isinstance(source, dict) or "source" not in source:
        raise DataError(repr(source), "a data source is a dict with a 'source' key "
                        f"({', '.join(map(repr, REGISTRY.names('data_source')))})")
    try:
        entry = entry_of("data_source", source["source"])
    except ValueError as unknown:
        raise DataError(repr(source), str(unknown)) from None
    reader: SourceReader = resolve(entry)
    return reader(source, task_type=task_type, split=split, language=language)


def read_synthetic(source: dict, *, task_type: str, split: str | None,
                   language: str | None) -> RawSource:
    """The offline generator's examples (data/synthetic/), generated whole: its `task` is the task
    type it feeds unless the source says."""
    from xexp.runtime.data.synthetic import generate

    params = {k: v for k, v in source.items() if k not in ("source", "columns", "labels")}
    params.setdefault("task", task_type)
    records = generate(params, split=split or "train", language=language)
    name = f"synthetic({', '.join(f'{k}={v!r}' for k, v in sorted(params.items()))})"
    return RawSource(
        name=name,
        count=len(records),
        fetch=lambda indices: [records[i] for i in indices],
        where=lambda i: f"{name} [{split}/{language}], row {i + 1}",
    )
