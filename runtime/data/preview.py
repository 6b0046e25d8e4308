"""The first rows of a local file, read and normalized as a run would: `xexp check`'s look.

Reading a whole file (or a whole dataset) at check time would cost what the `load` node costs;
the first `PREVIEW_ROWS` rows are enough to catch a wrong path, a wrong format, a missing
column, an unmapped label. The rows go through the runtime's own normalizer, so check and run
agree on what a valid row is.
"""

from __future__ import annotations

import csv
import itertools
from pathlib import Path
from typing import Any

from xexp.runtime.data.conll import read_conll, read_conllu
from xexp.runtime.data.local import FORMATS, PAIRED_FORMATS, _infer_format, _read_jsonl, read_text
from xexp.runtime.data.normalize import normalize
from xexp.runtime.data.raw import DataError, RawSource

PREVIEW_ROWS = 5


def preview_problem(source: dict[str, Any], task_type: str, path: Path) -> str | None:
    """None when the first rows of `path` normalize for `task_type`, else the problem in one line."""
    try:
        fmt = source.get("format") or _infer_format(path, task_type)
        if fmt not in FORMATS:
            return f"{path}: unknown format {fmt!r}"
        if fmt in ("parquet", "squad_json", *PAIRED_FORMATS):
            return None  # binary, one JSON document, or one file of a pair: the load node reads it whole
        if fmt in ("conllu", "conll"):  # sentences span lines: read the (small) file, keep the first
            records, lines = (read_conllu if fmt == "conllu" else read_conll)(path)
            records, lines = records[:PREVIEW_ROWS], lines[:PREVIEW_ROWS]
        elif fmt == "text":
            records, lines = read_text(path, fmt, limit=PREVIEW_ROWS)
        else:
            records, lines = (_jsonl_head if fmt == "jsonl" else _delimited_head)(path, fmt)
        if not records:
            return f"{path}: no rows"
        raw = RawSource(name=str(path), count=len(records), fetch=lambda idx: [records[i] for i in idx],
                        where=lambda i: f"{path}, line {lines[i]}")
        normalize(raw, range(len(records)), task_type=task_type, columns=source.get("columns"),
                  labels=source.get("labels"))
    except DataError as err:
        return str(err)
    except (OSError, UnicodeDecodeError) as err:
        return f"{path}: cannot read ({err})"
    return None


def _jsonl_head(path: Path, fmt: str) -> tuple[list[dict], list[int]]:
    return _read_jsonl(path, fmt, limit=PREVIEW_ROWS)


def _delimited_head(path: Path, fmt: str) -> tuple[list[dict], list[int]]:
    with open(path, encoding="utf-8", newline="") as handle:
        if fmt == "tsv":
            reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        else:
            reader = csv.reader(handle)
        try:
            rows = [(reader.line_num, row) for row in itertools.islice(
                (r for r in reader if r and any(c.strip() for c in r)), PREVIEW_ROWS + 1)]
        except csv.Error as exc:
            raise DataError(f"{path}, line {reader.line_num}", f"malformed {fmt.upper()} ({exc})") from exc
    if not rows:
        return [], []
    header = rows[0][1]
    records = [dict(zip(header, row)) for _, row in rows[1:] if len(row) == len(header)]
    bad = next((line for line, row in rows[1:] if len(row) != len(header)), None)
    if bad is not None:
        raise DataError(f"{path}, line {bad}", f"the number of fields differs from the header's {len(header)}")
    return records, [line for line, _ in rows[1:]]
