"""One table says which columns each task family has (compiler/registry/families.py): the
registry refuses a task type of an undeclared family, every reader of a family's columns agrees
with the table, and an unknown task type or table is an error, never a guessed family."""

from __future__ import annotations

import json

import pytest

from xexp.compiler.registry import REGISTRY
from xexp.compiler.registry.base import FAMILY_FIELDS, register, task_family
from xexp.compiler.registry.families import TASK_FAMILIES, table_family
from xexp.runtime.data.sources import load_rows
from xexp.runtime.data.formats import table_schema
from xexp.runtime.report.targets import metric_of

#: A row of each family as a local JSONL file holds it, with the table the load must make.
ROWS = {
    "nli": ({"premise": "A dog runs.", "hypothesis": "An animal moves.", "label": "entailment"},
            ("id", "premise", "hypothesis", "label")),
    "extractive_qa": ({"context": "Paris is in France.", "question": "Where is Paris?",
                       "answers": [{"text": "France", "answer_start": 12}]},
                      ("id", "context", "question", "answers")),
    "multiple_choice": ({"context": "She opened the door", "endings": ["and left.", "and sang."], "label": 0},
                        ("id", "context", "endings", "label")),
    "token_classification": ({"tokens": ["Dogs", "bark"], "tags": ["NOUN", "VERB"]}, ("id", "tokens", "tags")),
    "masked_lm": ({"text": "a line of text"}, ("id", "text", "language")),
    "retrieval": ({"query": "Ein Hund.", "candidate": "A dog."}, ("id", "query", "candidate")),
}


def test_every_task_type_declares_a_family_of_the_table():
    assert {e.name for e in REGISTRY.of("task_type")} <= set(ROWS) | {"paraphrase"}
    for entry in REGISTRY.of("task_type"):
        assert task_family(entry.name) in TASK_FAMILIES


def test_a_task_type_of_an_undeclared_family_is_refused_when_registered():
    with pytest.raises(ValueError, match="task type 'poem' declares family 'verse': expected one of pair, qa"):
        register("poem", "task_type", implementation="xexp.runtime.learning.tasks:get_task", family="verse")
    assert REGISTRY.get("task_type", "poem") is None


def test_an_unknown_task_type_has_no_family():
    with pytest.raises(ValueError, match="unknown task type 'sentiment': expected one of .*nli"):
        task_family("sentiment")


@pytest.mark.parametrize("task_type", sorted(ROWS))
def test_a_loaded_table_has_its_family_columns_and_schema(tmp_path, task_type):
    row, expected = ROWS[task_type]
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    table = load_rows({"source": "local", "path": str(path)}, task_type=task_type, split=None, rows=None,
                      language="en")
    family = task_family(task_type)
    assert tuple(table.column_names) == expected == TASK_FAMILIES[family].table_columns
    assert table.schema.equals(table_schema(family))
    assert table_family(table.column_names + ["changed"]) == family


def test_the_fields_a_perturbation_names_are_columns_of_their_family():
    for family, fields in FAMILY_FIELDS.items():
        columns = set(TASK_FAMILIES[family].columns)
        for field, named in fields.items():
            assert set(named) <= columns, (family, field, named)


def test_a_table_of_no_family_or_of_two_is_refused():
    with pytest.raises(ValueError, match=r"a table with columns \['id', 'sentence'\] has the columns of no task family"):
        table_family(["id", "sentence"])
    with pytest.raises(ValueError, match="has the columns of pair and bitext"):
        table_family(["id", "premise", "hypothesis", "label", "query", "candidate"])


def test_a_target_metric_is_its_family_metric():
    assert metric_of("nli") == metric_of("multiple_choice") == "accuracy"
    assert metric_of("extractive_qa") == "exact match"
    assert metric_of("token_classification") == "token accuracy"
    assert metric_of("retrieval") == "retrieval accuracy"
