"""Raw labels -> the label names (or ending indices) of the normalized table.

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
"""

from __future__ import annotations

from typing import Any

from xexp.compiler.registry.base import REGISTRY, task_family
from xexp.runtime.data.raw import DataError, FieldProblem
from xexp.runtime.data.formats import NLI_LABELS, PARAPHRASE_LABELS

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
#: Raw labels that mark a pair as unlabelled: MNLI's '-' and Hugging Face's missing-label id.
_UNLABELLED = ("-", "-1")
#: The spellings each pair label set accepts and refuses, by the set a task type declares
#: (`labels=`, compiler/registry/sources.py), so any task type with NLI's labels reads them alike.
_ALIASES = {NLI_LABELS: _NLI_ALIASES, PARAPHRASE_LABELS: _PARAPHRASE_ALIASES}
_REJECTED = {NLI_LABELS: _NLI_REJECTED}
#: Label sets whose raw ids mean nothing on their own: NLI datasets order their ids differently.
_IDS_REFUSED = (NLI_LABELS,)


class Unlabelled(Exception):
    """A pair-task row without a gold label: dropped and counted, never guessed."""


def label_names(task_type: str) -> tuple[str, ...]:
    """The classes a task type declares, in head order."""
    entry = REGISTRY.get("task_type", task_type)
    return entry.labels if entry is not None else ()


def value_key(raw: Any) -> str:
    """The string a raw label (or id) is looked up by: 1, 1.0 and "1" are all "1"."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw)


def canonical_label(raw: Any, task_type: str) -> str:
    """The label name a raw pair-task label stands for; raises ValueError with the reason."""
    key = value_key(raw)
    canon = key.strip().lower().replace("-", "_").replace(" ", "_")
    labels = label_names(task_type)
    aliases = _ALIASES.get(labels, {name: name for name in labels})
    if canon in aliases:
        return aliases[canon]
    if canon in _REJECTED.get(labels, {}):
        raise ValueError(f"label {key!r} is {_REJECTED[labels][canon]}")
    if labels in _IDS_REFUSED:
        if canon.lstrip("_").isdigit():
            raise ValueError(
                f"label {key!r} is a raw id, and NLI datasets order their ids differently (HF "
                "MNLI/XNLI: 0 entailment, 1 neutral, 2 contradiction); map ids to names with "
                "labels={...}")
    raise ValueError(f"unknown label {key!r}: expected one of {', '.join(label_names(task_type))}")


def check_label_map(labels: dict, task_type: str, name: str) -> dict[str, Any]:
    """A spec's `labels={raw: name}` mapping with every target checked for `task_type`; a bad
    one fails before any row is read, naming the source."""
    checked: dict[str, Any] = {}
    family = task_family(task_type)
    for raw_value, target in labels.items():
        try:
            if family == "mc":
                checked[str(raw_value)] = int(target)
            elif family == "pair":
                checked[str(raw_value)] = canonical_label(target, task_type)
            elif family == "tagging" and str(target).strip():
                checked[value_key(raw_value)] = str(target).strip()
            else:
                raise ValueError(f"{task_type} has no labels to map")
        except ValueError as exc:
            raise DataError(name, f"labels mapping {raw_value!r} -> {target!r}: {exc}", field="label") from None
    return checked


def pair_label(raw, task_type, label_map, class_names) -> str:
    """The label name of a pair row; `Unlabelled` for a row without a gold label."""
    if raw is None:
        raise FieldProblem("label", "missing value (null)")
    key = value_key(raw).strip()
    if key in _UNLABELLED and not (label_map and key in label_map) and not isinstance(raw, bool):
        raise Unlabelled()
    if label_map is not None:
        key = value_key(raw)
        if key not in label_map and key.strip() not in label_map:
            raise FieldProblem("label", f"unknown label {key!r}: the labels mapping has {sorted(label_map)}")
        return label_map.get(key, label_map.get(key.strip()))
    if class_names is not None and isinstance(raw, int) and not isinstance(raw, bool):
        if not 0 <= raw < len(class_names):
            raise FieldProblem("label", f"label id {raw} is outside the dataset's classes {class_names}")
        raw = class_names[raw]
    try:
        return canonical_label(raw, task_type)
    except ValueError as exc:
        raise FieldProblem("label", str(exc)) from None


def choice_label(raw, n_endings: int, label_map) -> int:
    """The index of the right ending of a multiple-choice row."""
    if raw is None:
        raise FieldProblem("label", "missing value (null)")
    key = value_key(raw).strip()
    if label_map is not None:
        if key not in label_map:
            raise FieldProblem("label", f"unknown label {key!r}: the labels mapping has {sorted(label_map)}")
        index = label_map[key]
    elif key.isdigit():
        index = int(key)
    elif len(key) == 1 and "A" <= key <= "Z":
        index = ord(key) - ord("A")
    else:
        raise FieldProblem("label", f"expected the index of the right ending, got {raw!r}")
    if not 0 <= index < n_endings:
        raise FieldProblem("label", f"ending index {index} is out of range for {n_endings} endings")
    return index


def tag_names(tags: list | tuple, tokens: list | tuple, label_map, class_names) -> list[str]:
    """The tag name of each token (one tag per token, checked by the caller)."""
    names = []
    for k, raw in enumerate(tags):
        key = value_key(raw).strip() if raw is not None else ""
        if label_map is not None:
            if key not in label_map:
                raise FieldProblem("tags", f"tag {k} {key!r} is not in the labels mapping {sorted(label_map)}")
            names.append(label_map[key])
        elif isinstance(raw, int) and not isinstance(raw, bool):
            if class_names is None:
                raise FieldProblem("tags", f"tag {k} is a raw id {raw}: map ids to names with labels={{...}}")
            if not 0 <= raw < len(class_names):
                raise FieldProblem("tags", f"tag {k} id {raw} is outside the dataset's classes {class_names}")
            names.append(class_names[raw])
        elif not key or key == "_":
            raise FieldProblem("tags", f"tag {k} (token {tokens[k]!r}) is missing")
        else:
            names.append(key)
    return names
