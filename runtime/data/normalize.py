"""Raw records -> the normalized, validated table of runtime/formats.py.

Labels are mapped by *name*. A raw integer label means nothing on its own (HF MNLI/XNLI number
entailment/neutral/contradiction 0/1/2, other toolkits use other orders), so an integer is
accepted only through the dataset's own ClassLabel names or an explicit `labels` mapping.
Accepted spellings (case-insensitive; '-' and ' ' count as '_'):

* nli: entailment (entail, entails, entailed, e), neutral (n), contradiction (contradict,
  contradicts, contradictory, c). Rejected with an explanation: not_entailment /
  non_entailment (a two-way RTE/QNLI label: it cannot be split into neutral vs contradiction),
  and bare numbers.
* Unlabelled rows of nli and paraphrase sources are dropped, not refused, and counted
  (`UNLABELLED_METADATA` on the table; the load manifest's `unlabelled_dropped`): MNLI's '-'
  (the annotators did not agree, no gold label) and the id -1 that Hugging Face datasets give
  a row with no label (SNLI's ~2% of pairs without a gold label), unless a `labels` mapping
  names them. A row range (`dev="validation[:500]"`) counts source rows, so it may keep fewer.
* paraphrase: paraphrase (equivalent, duplicate, 1, true, yes), not_paraphrase (non_paraphrase,
  not_equivalent, not_duplicate, 0, false, no). Binary 0/1 *is* accepted here because every
  public paraphrase corpus (MRPC, QQP, PAWS, PAWS-X) means 1 = paraphrase: it is a yes/no flag,
  not an arbitrary class id.
* multiple_choice: the index of the right ending (int or digit string), or a single capital
  letter (A = 0, as in CommonsenseQA's answerKey).
* token_classification: a list of tag names, one per token; integers only through the
  dataset's ClassLabel names (HF `ner_tags`, `upos`) or a `labels` mapping.
* retrieval: no labels; `query` (the non-English sentence) and `candidate` (its English
  translation); one of them may be empty (BUCC: a sentence with no translation), not both.
* masked_lm: no labels; `text` is the line, `language` the row's own `language`/`lang` column
  when the source has one, else the language the source was loaded in (`{lang}`), else "".
"""

from __future__ import annotations

from typing import Any

from xexp.compiler.registry import REGISTRY
from xexp.runtime.data.row_size import cap_record
from xexp.runtime.data.sources import DataError, RawSource
from xexp.runtime.formats import NLI_LABELS, PARAPHRASE_LABELS

#: Task type -> the family of its normalized columns, as each task type declares it.
TASK_FAMILIES = {entry.name: entry.family for entry in REGISTRY.of("task_type")}
FAMILY_FIELDS = {
    "pair": ("premise", "hypothesis", "label"),
    "qa": ("context", "question", "answers"),
    "mc": ("context", "endings", "label"),
    "tagging": ("tokens", "tags"),
    "text": ("text", "language"),
    "bitext": ("query", "candidate"),
}
#: Source columns tried, in order, for a field the `columns` mapping does not name.
DEFAULT_COLUMNS = {
    "id": ("id",),
    "premise": ("premise", "sentence1"),
    "hypothesis": ("hypothesis", "sentence2"),
    "label": ("label", "gold_label"),
    "context": ("context", "ctx"),
    "question": ("question",),
    "answers": ("answers",),
    "endings": ("endings",),
    "tokens": ("tokens", "words"),
    "tags": ("tags", "upos", "ner_tags", "pos_tags"),
    "text": ("text",),
    "language": ("language", "lang"),
    "query": ("query",),
    "candidate": ("candidate",),
}

_NLI_ALIASES = {
    **{a: "entailment" for a in ("entailment", "entail", "entails", "entailed", "e")},
    **{a: "neutral" for a in ("neutral", "n")},
    **{a: "contradiction" for a in ("contradiction", "contradict", "contradicts", "contradictory", "c")},
}
_NLI_REJECTED = {
    "not_entailment": "a two-way (RTE/QNLI-style) label that cannot be split into neutral vs "
                      "contradiction; map it explicitly with labels={...} if you mean one of them",
    "non_entailment": "a two-way (HANS-style) label that cannot be split into neutral vs "
                      "contradiction; map it explicitly with labels={...} if you mean one of them",
    "_": "'-' means the annotators did not agree (no gold label): such rows are dropped, not mapped",
}
_PARAPHRASE_ALIASES = {
    **{a: "paraphrase" for a in ("paraphrase", "equivalent", "duplicate", "1", "true", "yes")},
    **{a: "not_paraphrase" for a in ("not_paraphrase", "non_paraphrase", "not_equivalent",
                                     "not_duplicate", "0", "false", "no")},
}


#: Schema metadata of a normalized table: how many unlabelled rows were dropped (see module doc).
UNLABELLED_METADATA = b"xexp.unlabelled_dropped"
#: Raw labels that mark a pair as unlabelled: MNLI's '-' and Hugging Face's missing-label id.
_UNLABELLED = ("-", "-1")


class _Unlabelled(Exception):
    """A pair-task row without a gold label: dropped and counted, never guessed."""


class _Bad(Exception):
    """A problem with one field of one row; turned into a DataError with its location."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(problem)
        self.field, self.problem = field, problem


def task_family(task_type: str) -> str:
    if task_type not in TASK_FAMILIES:
        raise ValueError(f"unknown task type {task_type!r}: expected one of {', '.join(TASK_FAMILIES)}")
    return TASK_FAMILIES[task_type]


def label_names(task_type: str) -> tuple[str, ...]:
    return {"nli": NLI_LABELS, "paraphrase": PARAPHRASE_LABELS}[task_type]


def canonical_label(raw: Any, task_type: str) -> str:
    """The label name a raw pair-task label stands for; raises ValueError with the reason."""
    key = _key(raw)
    canon = key.strip().lower().replace("-", "_").replace(" ", "_")
    aliases = _NLI_ALIASES if task_type == "nli" else _PARAPHRASE_ALIASES
    if canon in aliases:
        return aliases[canon]
    if task_type == "nli":
        if canon in _NLI_REJECTED:
            raise ValueError(f"label {key!r} is {_NLI_REJECTED[canon]}")
        if canon.lstrip("_").isdigit():
            raise ValueError(
                f"label {key!r} is a raw id, and NLI datasets order their ids differently (HF "
                "MNLI/XNLI: 0 entailment, 1 neutral, 2 contradiction); map ids to names with "
                "labels={...}")
    raise ValueError(f"unknown label {key!r}: expected one of {', '.join(label_names(task_type))}")


def normalize(raw: RawSource, indices: range, *, task_type: str, columns: dict | None,
              labels: dict | None, language: str | None = None):
    """Map, validate and type the records at `indices` of `raw`; the first bad field raises.
    `language` is the one the source was read in (plain text rows record it)."""
    import pyarrow as pa

    family = task_family(task_type)
    fields = FAMILY_FIELDS[family]
    columns = dict(columns or {})
    unknown = sorted(set(columns) - set(fields) - {"id"})
    if unknown:
        raise DataError(raw.name, f"the columns mapping names {unknown}, which {task_type} does not "
                        f"use (its fields: id, {', '.join(fields)})")
    label_map = _check_label_map(labels, task_type, raw.name) if labels else None
    label_column = columns.get("label") or DEFAULT_COLUMNS["label"][0]
    if family == "tagging":
        label_column = columns.get("tags") or next(
            (c for c in DEFAULT_COLUMNS["tags"] if c in raw.class_labels), None)
    class_names = raw.class_labels.get(label_column) if isinstance(label_column, str) else None

    out: dict[str, list] = {"id": [], **{f: [] for f in fields}}
    seen_ids: dict[str, str] = {}
    unlabelled = 0
    for index, record in zip(indices, raw.fetch(indices)):
        if isinstance(record, dict):
            cap_record(record, raw.where(index))
        try:
            row = (_text_row(record, columns, language) if family == "text" else
                   _normalize_row(record, family, task_type, columns, label_map, class_names))
            row_id = _row_id(record, columns, index)
        except _Unlabelled:
            unlabelled += 1
            continue
        except _Bad as bad:
            raise DataError(raw.where(index), bad.problem, field=bad.field) from None
        if row_id in seen_ids:
            raise DataError(raw.where(index), f"duplicate id {row_id!r} (first at "
                            f"{seen_ids[row_id]})", field="id")
        seen_ids[row_id] = raw.where(index)
        out["id"].append(row_id)
        for name in fields:
            out[name].append(row[name])
    table = pa.table(out, schema=_schema(family))
    if unlabelled:
        table = table.replace_schema_metadata({UNLABELLED_METADATA: str(unlabelled).encode()})
    return table


def unlabelled_dropped(table) -> int:
    """How many unlabelled rows `normalize` dropped to make `table`."""
    return int((table.schema.metadata or {}).get(UNLABELLED_METADATA, b"0"))


def _schema(family: str):
    import pyarrow as pa

    base = [("id", pa.string())]
    if family == "pair":
        rest = [("premise", pa.string()), ("hypothesis", pa.string()), ("label", pa.string())]
    elif family == "qa":
        answer = pa.struct([("text", pa.string()), ("start", pa.int64())])
        rest = [("context", pa.string()), ("question", pa.string()), ("answers", pa.list_(answer))]
    elif family == "tagging":
        rest = [("tokens", pa.list_(pa.string())), ("tags", pa.list_(pa.string()))]
    elif family == "text":
        rest = [("text", pa.string()), ("language", pa.string())]
    elif family == "bitext":
        rest = [("query", pa.string()), ("candidate", pa.string())]
    else:
        rest = [("context", pa.string()), ("endings", pa.list_(pa.string())), ("label", pa.int64())]
    return pa.schema(base + rest)


def _check_label_map(labels: dict, task_type: str, name: str) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    for raw_value, target in labels.items():
        try:
            if task_type == "multiple_choice":
                checked[str(raw_value)] = int(target)
            elif task_type in ("nli", "paraphrase"):
                checked[str(raw_value)] = canonical_label(target, task_type)
            elif task_type == "token_classification" and str(target).strip():
                checked[_key(raw_value)] = str(target).strip()
            else:
                raise ValueError(f"{task_type} has no labels to map")
        except ValueError as exc:
            raise DataError(name, f"labels mapping {raw_value!r} -> {target!r}: {exc}", field="label") from None
    return checked


def _key(raw: Any) -> str:
    """The string a raw label is looked up by: 1, 1.0 and "1" are all "1"."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw)


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
        raise _Bad(field, f"missing: no column {tried} (map another one with columns={{{field!r}: ...}})")
    if isinstance(spec, (list, tuple)):
        values = []
        for part in spec:
            found, value = _lookup(record, part)
            if not found:
                raise _Bad(field, f"missing: no column {part!r}")
            values.append(_text(field, value, part))
        return values if field == "endings" else " ".join(values)
    found, value = _lookup(record, spec)
    if not found:
        raise _Bad(field, f"missing: no column {spec!r}")
    return value


def _text(field: str, value: Any, column: str | None = None) -> str:
    where = f" (column {column!r})" if column and column != field else ""
    if value is None:
        raise _Bad(field, f"missing value (null){where}")
    if not isinstance(value, str):
        raise _Bad(field, f"expected text, got {type(value).__name__} {value!r}{where}")
    if not value.strip():
        raise _Bad(field, f"empty text{where}")
    return value


def _optional_text(field: str, value: Any) -> str:
    """A text that may be empty (one side of a BUCC row); never null or a non-string."""
    if value is None or not isinstance(value, str):
        raise _Bad(field, f"expected text, got {value!r}")
    return value.strip()


def _row_id(record: dict, columns: dict, index: int) -> str:
    spec = columns.get("id")
    found, value = _lookup(record, spec) if spec else _lookup(record, "id")
    if not found:
        if spec:
            raise _Bad("id", f"missing: no column {spec!r}")
        return str(index)
    if value is None or not str(value).strip():
        raise _Bad("id", "empty id")
    return _key(value)


def _normalize_row(record, family, task_type, columns, label_map, class_names) -> dict:
    if family == "pair":
        return {
            "premise": _text("premise", _field_value(record, "premise", columns)),
            "hypothesis": _text("hypothesis", _field_value(record, "hypothesis", columns)),
            "label": _pair_label(_field_value(record, "label", columns), task_type, label_map, class_names),
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
            raise _Bad("query", "empty query and candidate: a row holds at least one sentence")
        return {"query": query, "candidate": candidate}
    if family == "tagging":
        return _tagged(_field_value(record, "tokens", columns), _field_value(record, "tags", columns),
                       label_map, class_names)
    endings = _field_value(record, "endings", columns)
    if not isinstance(endings, (list, tuple)) or len(endings) < 2:
        raise _Bad("endings", f"expected a list of at least two endings, got {endings!r}")
    endings = [_text("endings", e) for e in endings]
    return {
        "context": _text("context", _field_value(record, "context", columns)),
        "endings": endings,
        "label": _choice_label(_field_value(record, "label", columns), len(endings), label_map),
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
        raise _Bad("language", f"missing: no column {spec!r}")
    return {"text": text, "language": language or ""}


def _pair_label(raw, task_type, label_map, class_names) -> str:
    if raw is None:
        raise _Bad("label", "missing value (null)")
    key = _key(raw).strip()
    if key in _UNLABELLED and not (label_map and key in label_map) and not isinstance(raw, bool):
        raise _Unlabelled()
    if label_map is not None:
        key = _key(raw)
        if key not in label_map and key.strip() not in label_map:
            raise _Bad("label", f"unknown label {key!r}: the labels mapping has {sorted(label_map)}")
        return label_map.get(key, label_map.get(key.strip()))
    if class_names is not None and isinstance(raw, int) and not isinstance(raw, bool):
        if not 0 <= raw < len(class_names):
            raise _Bad("label", f"label id {raw} is outside the dataset's classes {class_names}")
        raw = class_names[raw]
    try:
        return canonical_label(raw, task_type)
    except ValueError as exc:
        raise _Bad("label", str(exc)) from None


def _choice_label(raw, n_endings: int, label_map) -> int:
    if raw is None:
        raise _Bad("label", "missing value (null)")
    key = _key(raw).strip()
    if label_map is not None:
        if key not in label_map:
            raise _Bad("label", f"unknown label {key!r}: the labels mapping has {sorted(label_map)}")
        index = label_map[key]
    elif key.isdigit():
        index = int(key)
    elif len(key) == 1 and "A" <= key <= "Z":
        index = ord(key) - ord("A")
    else:
        raise _Bad("label", f"expected the index of the right ending, got {raw!r}")
    if not 0 <= index < n_endings:
        raise _Bad("label", f"ending index {index} is out of range for {n_endings} endings")
    return index


def _answers(raw, context: str) -> list[dict]:
    """SQuAD answers in either layout (list of objects, or HF's dict of lists) -> [{text, start}]."""
    if raw is None:
        raise _Bad("answers", "missing value (null); use an empty list for an unanswerable question")
    if isinstance(raw, dict):
        texts, starts = raw.get("text"), raw.get("answer_start", raw.get("start"))
        if not isinstance(texts, list) or not isinstance(starts, list) or len(texts) != len(starts):
            raise _Bad("answers", "expected {'text': [...], 'answer_start': [...]} of equal lengths")
        raw = [{"text": t, "start": s} for t, s in zip(texts, starts)]
    if not isinstance(raw, list):
        raise _Bad("answers", f"expected a list of answers, got {type(raw).__name__}")
    answers = []
    for k, answer in enumerate(raw):
        if not isinstance(answer, dict):
            raise _Bad("answers", f"answer {k}: expected an object with 'text' and 'answer_start'")
        text = answer.get("text")
        start = answer.get("answer_start", answer.get("start"))
        if not isinstance(text, str) or not text.strip():
            raise _Bad("answers", f"answer {k}: empty or missing text")
        if isinstance(start, bool) or not isinstance(start, int):
            raise _Bad("answers", f"answer {k}: missing or non-integer answer_start {start!r}")
        if context[start:start + len(text)] != text:
            raise _Bad("answers", f"answer {k} {text!r} is not at offset {start} of the context "
                       f"(found {context[start:start + len(text)]!r})")
        answers.append({"text": text, "start": start})
    return answers


def _tagged(tokens, tags, label_map, class_names) -> dict:
    """A token list and its tag list of equal length; tags become names (see module doc)."""
    if not isinstance(tokens, (list, tuple)) or not tokens:
        raise _Bad("tokens", f"expected a non-empty list of tokens, got {tokens!r}")
    if not isinstance(tags, (list, tuple)) or len(tags) != len(tokens):
        shown = len(tags) if isinstance(tags, (list, tuple)) else repr(tags)
        raise _Bad("tags", f"expected one tag per token ({len(tokens)} tokens), got {shown}")
    for k, token in enumerate(tokens):
        if not isinstance(token, str) or not token.strip():
            raise _Bad("tokens", f"token {k} is empty or not text: {token!r}")
    names = []
    for k, raw in enumerate(tags):
        key = _key(raw).strip() if raw is not None else ""
        if label_map is not None:
            if key not in label_map:
                raise _Bad("tags", f"tag {k} {key!r} is not in the labels mapping {sorted(label_map)}")
            names.append(label_map[key])
        elif isinstance(raw, int) and not isinstance(raw, bool):
            if class_names is None:
                raise _Bad("tags", f"tag {k} is a raw id {raw}: map ids to names with labels={{...}}")
            if not 0 <= raw < len(class_names):
                raise _Bad("tags", f"tag {k} id {raw} is outside the dataset's classes {class_names}")
            names.append(class_names[raw])
        elif not key or key == "_":
            raise _Bad("tags", f"tag {k} (token {tokens[k]!r}) is missing")
        else:
            names.append(key)
    return {"tokens": list(tokens), "tags": names}
