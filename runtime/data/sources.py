"""`load_rows`: any declared data source -> the normalized table of runtime/formats.py.

Each source kind has its own reader (local files, Hugging Face datasets, the synthetic
generator); they all return a `RawSource` (raw records plus where each came from), and one
normalizer turns those into the typed table. Keeping readers and normalization apart is what
makes every source report bad data the same way: file, row and field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from xexp.errors import DataError


@dataclass
class RawSource:
    """Raw records of one source, in source order, before any mapping or validation.

    `fetch(indices)` returns the records at those positions (an HF dataset materializes only
    those); `where(i)` describes record i for error messages ("file.jsonl, line 7");
    `class_labels` maps a column to its ClassLabel names when the source declares them.
    """

    name: str
    count: int
    fetch: Callable[[range], list[dict[str, Any]]]
    where: Callable[[int], str]
    class_labels: dict[str, list[str]] = field(default_factory=dict)
    revision: str | None = None  # the hub commit the records came from (hf sources)


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
    from xexp.runtime.data.normalize import normalize, task_family

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


def read_source(source: dict, *, task_type: str, split: str | None, language: str | None) -> RawSource:
    """Dispatch to the reader of `source["source"]` (imported lazily: `datasets` is heavy)."""
    if not isinstance(source, dict) or "source" not in source:
        raise DataError(repr(source), "a data source is a dict with a 'source' key "
                        "('local', 'hf' or 'synthetic')")
    kind = source["source"]
    if kind == "local":
        from xexp.runtime.data.local import read_local

        return read_local(source, task_type=task_type, split=split, language=language)
    if kind == "hf":
        from xexp.runtime.data.hf import read_hf

        return read_hf(source, split=split, language=language)
    if kind == "synthetic":
        return _read_synthetic(source, task_type=task_type, split=split, language=language)
    raise DataError(repr(source), f"unknown data source {kind!r}: expected 'local', 'hf' or 'synthetic'")


def _read_synthetic(source: dict, *, task_type: str, split: str | None,
                    language: str | None) -> RawSource:
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
