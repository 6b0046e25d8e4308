"""Raw records -> the normalized, validated table of runtime/data/formats.py.

Each record is mapped to its task family's columns (compiler/registry/families.py) through the
spec's `columns` mapping or the usual source column names (`DEFAULT_COLUMNS`), every value is
checked, and the first bad field fails the load in one line naming file, row and field. Labels
become names by runtime/data/labels.py. Beyond labels:

* extractive_qa: `answers` in either SQuAD layout (a list of {text, answer_start}, or Hugging
  Face's dict of lists), each found at its offset of the context; an empty list is an
  unanswerable question.
* retrieval: no labels; `query` (the non-English sentence) and `candidate` (its English
  translation); one of them may be empty (BUCC: a sentence with no translation), not both.
* masked_lm: no labels; `text` is the line, `language` the row's own `language`/`lang` column
  when the source has one, else the language the source was loaded in (`{lang}`), else "".
* Unlabelled nli and paraphrase rows are dropped and counted (`UNLABELLED_METADATA`).
"""

from __future__ import annotations

from typing import Any

from xexp.compiler.registry.base import task_family
from xexp.compiler.registry.families import TASK_FAMILIES
from xexp.runtime.data.labels import (
    Unlabelled, check_label_map, choice_label, pair_label, tag_names, value_key,
)
from xexp.runtime.data.raw import DataError, FieldProblem, RawSource
from xexp.runtime.data.row_size import cap_record
from xexp.runtime.data.formats import table_schema

#: Source column names tried after a normalized column's own name, in order, when the
#: `columns` mapping does not name one (GLUE's sentence1/sentence2, MNLI's gold_label, ...).
_ALIASES = {
    "premise": ("sentence1",), "hypothesis": ("sentence2",), "label": ("gold_label",), "context": ("ctx",),
    "tokens": ("words",), "tags": ("upos", "ner_tags", "pos_tags"), "language": ("lang",),
}
#: Per normalized column of any family, the source columns tried for it, in order.
DEFAULT_COLUMNS = {column: (column, *_ALIASES.get(column, ()))
                   for family in TASK_FAMILIES.values() for column in family.table_columns}

#: Schema metadata of a normalized table: how many unlabelled rows were dropped (see module doc).
UNLABELLED_METADATA = b"xexp.unlabelled_dropped"


def normalize(raw: RawSource, indices: range, *, task_type: str, columns: dict | None,
              labels: dict | None, language: str | None = None):
    """Map, validate and type the records at `indices` of `raw`; the first bad field raises.
    `language` is the one the source was read in (plain text rows record it)."""
    import pyarrow as pa

    family = task_family(task_type)
    table_columns = TASK_FAMILIES[family].table_columns
    columns = dict(columns or {})
    unknown = sorted(set(columns) - set(table_columns))
    if unknown:
        raise DataError(raw.name, f"the columns mapping names {unknown}, which {task_type} does not "
                        f"use (its columns: {', '.join(table_columns)})")
    label_map = check_label_map(labels, task_type, raw.name) if labels else None
    label_column = columns.get("label") or DEFAULT_COLUMNS["label"][0]
    if family == "tagging":
        label_column = columns.get("tags") or next(
            (c for c in DEFAULT_COLUMNS["tags"] if c in raw.class_labels), None)
    class_names = raw.class_labels.get(label_column) if isinstance(label_column, str) else None

    out: dict[str, list] = {name: [] for name in table_columns}
    seen_ids: dict[str, str] = {}
    unlabelled = 0
    for index, record in zip(indices, raw.fetch(indices)):
        if isinstance(record, dict):
            cap_record(record, raw.where(index))
        try:
            row = (_text_row(record, columns, language) if family == "text" else
                   _normalize_row(record, family, task_type, columns, label_map, class_names))
            row_id = _row_id(record, columns, index)
        except Unlabelled:
            unlabelled += 1
            continue
        except FieldProblem as bad:
            raise DataError(raw.where(index), bad.problem, field=bad.field) from None
        if row_id in seen_ids:
            raise DataError(raw.where(index), f"duplicate id {row_id!r} (first at "
                            f"{seen_ids[row_id]})", field="id")
        seen_ids[row_id] = raw.where(index)
        for name, value in {"id": row_id, **row}.items():
            out[name].append(value)
    table = pa.table(out, schema=table_schema(family))
    if unlabelled:
        table = table.replace_schema_metadata({UNLABELLED_METADATA: str(unlabelled).encode()})
    return table


def unlabelled_dropped(table) -> int:
    """How many unlabelled rows `normalize` dropped to make `table`."""
    return int((table.schema.metadata or {}).get(UNLABELLED_METADATA, b"0"))


def _lookup(record: dict, spec: str) -> tuple[bool, Any]:
    """A column's value; `a.b` reaches into nested dicts when no column is literally named so."""
    if spec in record:
        return True, record[spec]
    value: Any = record
    for part in spec.split("."):
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


def _field_value(record: dict, field: str, columns: dict) -> Any:
    spec = columns.get(field)
    if spec is None:
        for candidate in DEFAULT_COLUMNS[field]:
            found, value = _lookup(record, candidate)
            if found:
                return value
        tried = " or ".join(repr(c) for c in DEFAULT_COLUMNS[field])
        raise FieldProblem(field, f"missing: no column {tried} (map another one with columns={{{field!r}: ...}})")
    if isinstance(spec, (list, tuple)):
        values = []
        for part in spec:
            found, value = _lookup(record, part)
            if not found:
                raise FieldProblem(field, f"missing: no column {part!r}")
            values.append(_text(field, value, part))
        return values if field == "endings" else " ".join(values)
    found, value = _lookup(record, spec)
    if not found:
        raise FieldProblem(field, f"missing: no column {spec!r}")
    return value


def _text(field: str, value: Any, column: str | None = None) -> str:
    where = f" (column {column!r})" if column and column != field else ""
    if value is None:
        raise FieldProblem(field, f"missing value (null){where}")
    if not isinstance(value, str):
        raise FieldProblem(field, f"expected text, got {type(value).__name__} {value!r}{where}")
    if not value.strip():
        raise FieldProblem(field, f"empty text{where}")
    return value


def _optional_text(field: str, value: Any) -> str:
    """A text that may be empty (one side of a BUCC row); never null or a non-string."""
    if value is None or not isinstance(value, str):
        raise FieldProblem(field, f"expected text, got {value!r}")
    return value.strip()


def _row_id(record: dict, columns: dict, index: int) -> str:
    spec = columns.get("id")
    found, value = _lookup(record, spec) if spec else _lookup(record, "id")
    if not found:
        if spec:
            raise FieldProblem("id", f"missing: no column {spec!r}")
        return str(index)
    if value is None or not str(value).strip():
        raise FieldProblem("id", "empty id")
    return value_key(value)


def _normalize_row(record, family, task_type, columns, label_map, class_names) -> dict:
    if family == "pair":
        return {
            "premise": _text("premise", _field_value(record, "premise", columns)),
            "hypothesis": _text("hypothesis", _field_value(record, "hypothesis", columns)),
            "label": pair_label(_field_value(record, "label", columns), task_type, label_map, class_names),
        }
    if family == "qa":
        context = _text("context", _field_value(record, "context", columns))
        return {
            "context": context,
            "question": _text("question", _field_value(record, "question", columns)),
            "answers": _answers(_field_value(record, "answers", columns), context),
        }
    if family == "bitext":
        query, candidate = (_optional_text(f, _field_value(record, f, columns)) for f in ("query", "candidate"))
        if not query and not candidate:
            raise FieldProblem("query", "empty query and candidate: a row holds at least one sentence")
        return {"query": query, "candidate": candidate}
    if family == "tagging":
        return _tagged(_field_value(record, "tokens", columns), _field_value(record, "tags", columns),
                       label_map, class_names)
    if family != "mc":  # a family added to TASK_FAMILIES without its row reader here
        raise ValueError(f"no row reader for task family {family!r} (runtime/data/normalize.py)")
    endings = _field_value(record, "endings", columns)
    if not isinstance(endings, (list, tuple)) or len(endings) < 2:
        raise FieldProblem("endings", f"expected a list of at least two endings, got {endings!r}")
    endings = [_text("endings", e) for e in endings]
    return {
        "context": _text("context", _field_value(record, "context", columns)),
        "endings": endings,
        "label": choice_label(_field_value(record, "label", columns), len(endings), label_map),
    }


def _text_row(record: dict, columns: dict, language: str | None) -> dict:
    """A plain-text row: its text, and its language (own column, else where it was read)."""
    text = _text("text", _field_value(record, "text", columns))
    spec = columns.get("language")
    for column in [spec] if spec else DEFAULT_COLUMNS["language"]:
        found, value = _lookup(record, column)
        if found:
            return {"text": text, "language": _text("language", value, column)}
    if spec:
        raise FieldProblem("language", f"missing: no column {spec!r}")
    return {"text": text, "language": language or ""}


def _answers(raw, context: str) -> list[dict]:
    """SQuAD answers in either layout (list of objects, or HF's dict of lists) -> [{text, start}]."""
    if raw is None:
        raise FieldProblem("answers", "missing value (null); use an empty list for an unanswerable question")
    if isinstance(raw, dict):
        texts, starts = raw.get("text"), raw.get("answer_start", raw.get("start"))
        if not isinstance(texts, list) or not isinstance(starts, list) or len(texts) != len(starts):
            raise FieldProblem("answers", "expected {'text': [...], 'answer_start': [...]} of equal lengths")
        raw = [{"text": t, "start": s} for t, s in zip(texts, starts)]
    if not isinstance(raw, list):
        raise FieldProblem("answers", f"expected a list of answers, got {type(raw).__name__}")
    answers = []
    for k, answer in enumerate(raw):
        if not isinstance(answer, dict):
            raise FieldProblem("answers", f"answer {k}: expected an object with 'text' and 'answer_start'")
        text = answer.get("text")
        start = answer.get("answer_start", answer.get("start"))
        if not isinstance(text, str) or not text.strip():
            raise FieldProblem("answers", f"answer {k}: empty or missing text")
        if isinstance(start, bool) or not isinstance(start, int):
            raise FieldProblem("answers", f"answer {k}: missing or non-integer answer_start {start!r}")
        if context[start:start + len(text)] != text:
            raise FieldProblem("answers", f"answer {k} {text!r} is not at offset {start} of the context "
                               f"(found {context[start:start + len(text)]!r})")
        answers.append({"text": text, "start": start})
    return answers


def _tagged(tokens, tags, label_map, class_names) -> dict:
    """A token list and its tag list of equal length; tags become names (runtime/data/labels.py)."""
    if not isinstance(tokens, (list, tuple)) or not tokens:
        raise FieldProblem("tokens", f"expected a non-empty list of tokens, got {tokens!r}")
    if not isinstance(tags, (list, tuple)) or len(tags) != len(tokens):
        shown = len(tags) if isinstance(tags, (list, tuple)) else repr(tags)
        raise FieldProblem("tags", f"expected one tag per token ({len(tokens)} tokens), got {shown}")
    for k, token in enumerate(tokens):
        if not isinstance(token, str) or not token.strip():
            raise FieldProblem("tokens", f"token {k} is empty or not text: {token!r}")
    return {"tokens": list(tokens), "tags": tag_names(tags, tokens, label_map, class_names)}
