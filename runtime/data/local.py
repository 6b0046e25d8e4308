"""Local files (one path or a glob) -> a RawSource, remembering each record's file and line.

Line numbers are 1-based physical lines, so a user can open the file at the number an error
names. Rows of several files (a glob) are numbered in sorted-path order, which keeps ids unique
and stable across machines.
"""

from __future__ import annotations

import bisect
import csv
import io
import json
import re
from pathlib import Path
from typing import Any, Callable

from xexp.compiler.registry import REGISTRY
from xexp.compiler.registry.base import task_family
from xexp.runtime.data.conll import read_conll, read_conllu
from xexp.runtime.data.raw import DataError, RawSource

FORMATS = ("jsonl", "csv", "tsv", "parquet", "squad_json", "conllu", "conll", "text", "tatoeba", "bucc")
#: Formats whose files are read together, one language pair a glob (runtime/data/bitext.py).
PAIRED_FORMATS = ("tatoeba", "bucc")
_EXTENSIONS = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "tsv", ".parquet": "parquet",
    ".pq": "parquet", ".json": "squad_json", ".conllu": "conllu", ".conll": "conll",
}
#: `.txt` says only "text": plain lines for a task type of the `text` family (masked_lm), while
#: a CoNLL-2003 file is often a `.txt` too, so other task types must name their format.
_PLAIN_TEXT_TASKS = tuple(e.name for e in REGISTRY.of("task_type") if e.family == "text")


def read_local(source: dict, *, task_type: str, split: str | None, language: str | None) -> RawSource:
    pattern = str(source.get("path") or "")
    if not pattern:
        raise DataError("local source", "no 'path' given")
    if "{split}" in pattern:
        if not split:
            raise DataError(pattern, "the path contains {split} but no split was given")
        pattern = pattern.replace("{split}", split)
    if "{lang}" in pattern:
        if not language:
            raise DataError(pattern, "the path contains {lang} but no language was given")
        pattern = pattern.replace("{lang}", language)
    files = _expand(pattern)
    if source.get("sha256") is not None:
        _check_content(files, source["sha256"], pattern)
    fmt = source.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise DataError(pattern, f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")

    if fmt in PAIRED_FORMATS:
        from xexp.runtime.data.bitext import read_bucc, read_tatoeba

        paired, places = (read_tatoeba if fmt == "tatoeba" else read_bucc)(files, pattern)
        return RawSource(name=pattern, count=len(paired), fetch=lambda idx: [paired[i] for i in idx],
                         where=lambda i: places[i])
    records: list[dict[str, Any]] = []
    # (first record, file, where each record came from: line numbers or SQuAD paths, unit)
    segments: list[tuple[int, str, list, str]] = []
    for path in files:
        file_format = fmt or _infer_format(path, task_type)
        if file_format == "squad_json" and task_family(task_type) != "qa":
            raise DataError(str(path), f"a SQuAD JSON file holds extractive QA data, not {task_type!r} "
                            "(give format= if this .json is something else)")
        first = len(records)
        if file_format == "parquet":
            import pyarrow.parquet as pq

            try:
                table = pq.read_table(path)
            except Exception as exc:  # pyarrow raises several types for a corrupt file
                raise DataError(str(path), f"unreadable parquet file: {exc}") from exc
            records.extend(table.to_pylist())
            segments.append((first, str(path), [], "row"))  # a row is its own place
        elif file_format == "squad_json":
            found, paths = _read_squad(path)
            records.extend(found)
            segments.append((first, str(path), paths, "squad"))
        else:
            readers: dict[str, Callable[[Path, str], tuple[list[dict], list[int]]]] = {
                "jsonl": _read_jsonl, "conllu": read_conllu, "conll": read_conll, "text": read_text}
            reader = readers.get(file_format, _read_delimited)
            found, lines = reader(path, file_format)
            records.extend(found)
            segments.append((first, str(path), lines, "line"))

    starts = [s[0] for s in segments]

    def where(i: int) -> str:
        first, path, lines, unit = segments[bisect.bisect_right(starts, i) - 1]
        if unit == "line":
            return f"{path}, line {lines[i - first]}"
        if unit == "squad":
            return f"{path}, {lines[i - first]}"
        return f"{path}, row {i - first + 1}"

    return RawSource(
        name=pattern, count=len(records), fetch=lambda idx: [records[i] for i in idx], where=where,
    )


def _expand(pattern: str) -> list[Path]:
    from xexp.compiler.inputs import is_glob, matching_files

    files = matching_files(pattern)
    if not files:
        raise DataError(pattern, "no file matches this pattern" if is_glob(pattern) else "file not found")
    return files


def _check_content(files: list[Path], planned: list[str] | str, pattern: str) -> None:
    """The files must still hold what the node's key says (their sha256 at planning time):
    an artifact stored under a key must never come from other content."""
    from xexp.compiler.inputs import DigestCache

    planned = [planned] if isinstance(planned, str) else list(planned)
    cache = DigestCache()
    now = [cache.digest(path) for path in files]
    cache.save()
    if now == planned:
        return
    if len(now) != len(planned):
        raise DataError(pattern, f"matched {len(planned)} file(s) when the run was planned and {len(now)} now: "
                        "run again to plan with the files as they are")
    changed = next(path for path, a, b in zip(files, now, planned) if a != b)
    raise DataError(str(changed), "the file changed after the run was planned: run again to plan with "
                    "its new content")


def _infer_format(path: Path, task_type: str | None = None) -> str:
    suffix = path.suffix.lower()
    if suffix == ".txt" and task_type in _PLAIN_TEXT_TASKS:
        return "text"
    if suffix not in _EXTENSIONS:
        raise DataError(str(path), f"cannot tell the format from the extension {suffix!r}: "
                        f"give format= (one of {', '.join(FORMATS)})")
    return _EXTENSIONS[suffix]


def _read_jsonl(path: Path, _fmt: str, limit: int | None = None) -> tuple[list[dict], list[int]]:
    """One JSON object per line; blank lines are skipped (but still counted as lines). With
    `limit`, only the first `limit` records are read (`xexp check` previews a file)."""
    records, lines = [], []
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(f"{path}, line {number}", f"not valid UTF-8 ({exc.reason})") from exc
            if number == 1:
                text = text.removeprefix("\ufeff")  # a byte-order mark (Windows editors) is not data
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}, line {number}", json_problem(exc)) from exc
            if not isinstance(record, dict):
                raise DataError(f"{path}, line {number}",
                                f"expected a JSON object per line, got {type(record).__name__}")
            records.append(record)
            lines.append(number)
            if limit is not None and len(records) >= limit:
                break
    return records, lines


def json_problem(error: json.JSONDecodeError) -> str:
    """"malformed JSON (expecting ',' delimiter, column 12)": json's message without its own
    position (``exc.msg`` may already end in one: "… at line 1 column 5")."""
    message = re.sub(r"\s*(at )?(line \d+ )?column \d+.*$", "", error.msg).rstrip(": ") or "invalid"
    return f"malformed JSON ({message[0].lower()}{message[1:]}, column {error.colno})"


def read_text(path: Path, _fmt: str = "text", limit: int | None = None) -> tuple[list[dict], list[int]]:
    """Plain text, one example per non-empty line (`{"text": line}`, the line ending removed);
    blank lines are skipped but counted, so a line number is the one an editor shows. With
    `limit`, only the first `limit` examples are read (`xexp check` previews a file)."""
    records, lines = [], []
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            try:
                text = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                raise DataError(f"{path}, line {number}", f"not valid UTF-8 ({exc.reason})") from exc
            if number == 1:
                text = text.removeprefix("\ufeff")  # a byte-order mark is not text
            if not text.strip():
                continue
            records.append({"text": text})
            lines.append(number)
            if limit is not None and len(records) >= limit:
                break
    return records, lines


def _read_delimited(path: Path, fmt: str) -> tuple[list[dict], list[int]]:
    """CSV (RFC 4180 quoting) or TSV (no quoting: GLUE-style TSVs contain stray quotes)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}, line {line}", f"not valid UTF-8 ({exc.reason})") from exc
    if fmt == "tsv":
        reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE)
    else:
        reader = csv.reader(io.StringIO(text, newline=""))
    records, lines = [], []
    header: list[str] | None = None
    previous_end = 0
    try:
        for row in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if header is None:
                header = row
                if len(set(header)) != len(header):
                    raise DataError(f"{path}, line {start}", "the header repeats a column name")
                continue
            if len(row) != len(header):
                raise DataError(f"{path}, line {start}",
                                f"{len(row)} fields where the header has {len(header)}")
            records.append(dict(zip(header, row)))
            lines.append(start)
    except csv.Error as exc:
        raise DataError(f"{path}, line {reader.line_num}", f"malformed {fmt.upper()} ({exc})") from exc
    if header is None:
        raise DataError(str(path), "empty file: no header line")
    return records, lines


def _read_squad(path: Path) -> tuple[list[dict], list[str]]:
    """SQuAD v1.1/v2.0 JSON -> one record per question; v2 `is_impossible` -> no answers."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise DataError(str(path), f"not valid UTF-8 ({exc.reason})") from exc
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}, line {exc.lineno}", f"malformed JSON ({exc.msg})") from exc
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        raise DataError(str(path), "not SQuAD JSON: expected an object with a 'data' list")
    records, paths = [], []
    for a, article in enumerate(document["data"]):
        paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paragraphs, list):
            raise DataError(f"{path}, data[{a}]", "missing", field="paragraphs")
        for p, paragraph in enumerate(paragraphs):
            here = f"data[{a}].paragraphs[{p}]"
            if not isinstance(paragraph, dict) or not isinstance(paragraph.get("qas"), list):
                raise DataError(f"{path}, {here}", "missing", field="qas")
            for q, qa in enumerate(paragraph["qas"]):
                if not isinstance(qa, dict):
                    raise DataError(f"{path}, {here}.qas[{q}]", "expected an object")
                answers = [] if qa.get("is_impossible") else qa.get("answers")
                records.append({"id": qa.get("id"), "context": paragraph.get("context"),
                                "question": qa.get("question"), "answers": answers})
                paths.append(f"{here}.qas[{q}]")
    return records, paths
