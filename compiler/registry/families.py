"""Task families: the normalized columns of each family's examples, stated once.

A task type declares its family (`family=` in compiler/registry/sources.py), and everything
that depends on what an example looks like reads it from `TASK_FAMILIES`: the table a `load`
node writes and its arrow schema (runtime/data/formats.py), the columns the normalizer fills
(runtime/data/normalize.py), the family of a stored table (perturbations, the report's
examples), and the name of the metric its predictions' `correct` flag adds up to in the report.
The fields a perturbation may name with `on FIELD` (registry/base.py `FAMILY_FIELDS`) are some
of these columns. No pyarrow here, so the compiler can read it: the runtime turns the column
types into an arrow schema.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

#: How a normalized column is typed: one string, one integer, a list of strings, or extractive
#: QA's answers (a list of {text: string, start: integer}).
ColumnType = Literal["string", "integer", "strings", "answers"]
#: The column every normalized table starts with (the source's id, else the row number).
ID_COLUMN = "id"


@dataclass(frozen=True)
class TaskFamily:
    """What the examples of every task type of one family look like once normalized.

    `columns` follows the id, in table order; `metric` is what the share of correct
    per-example decisions (`correct` in the predictions) measures for this family.
    """

    name: str
    columns: Mapping[str, ColumnType]
    metric: str

    @property
    def table_columns(self) -> tuple[str, ...]:
        """The columns of a normalized table of this family, id first."""
        return (ID_COLUMN, *self.columns)


def _families(*families: TaskFamily) -> dict[str, TaskFamily]:
    return {family.name: family for family in families}


TASK_FAMILIES: dict[str, TaskFamily] = _families(
    # nli, paraphrase: the label is its name ("entailment"), never a raw id
    TaskFamily("pair", {"premise": "string", "hypothesis": "string", "label": "string"}, "accuracy"),
    # extractive QA: an empty answers list is an unanswerable question (SQuAD v2)
    TaskFamily("qa", {"context": "string", "question": "string", "answers": "answers"}, "exact match"),
    # multiple choice: the label is the index of the right ending
    TaskFamily("mc", {"context": "string", "endings": "strings", "label": "integer"}, "accuracy"),
    # token classification: one tag name per word; each word is one example of the metric
    TaskFamily("tagging", {"tokens": "strings", "tags": "strings"}, "token accuracy"),
    # masked_lm: plain text and its language ("" where unknown); never a target
    TaskFamily("text", {"text": "string", "language": "string"}, "masked-token accuracy"),
    # retrieval: a non-English sentence and its English translation (either may be "", BUCC)
    TaskFamily("bitext", {"query": "string", "candidate": "string"}, "retrieval accuracy"),
)


def table_family(columns: Iterable[str]) -> str:
    """The family of a normalized table (or example), from its column names: the one family
    whose columns it has (a perturbed table adds `changed`, a tagged one `changed_tokens`)."""
    names = list(columns)
    found = [f.name for f in TASK_FAMILIES.values() if set(f.columns) <= set(names)]
    if len(found) != 1:
        known = "; ".join(f"{f.name}: {', '.join(f.columns)}" for f in TASK_FAMILIES.values())
        what = f"the columns of {' and '.join(found)}" if found else "the columns of no task family"
        raise ValueError(f"a table with columns {names} has {what} ({known})")
    return found[0]
