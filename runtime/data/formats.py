"""The data contracts between nodes: normalized datasets, predictions, attack records.

Every dataset artifact is one parquet file `data.parquet`; every evaluation artifact is one
`predictions.parquet`. Keeping these shapes in one place is what lets `load`, `perturb`,
`train`, `evaluate`, `attack` and `report` be written (and tested) independently.

Normalized datasets (written by `load`, tokenizer-independent), one row per example; the
columns of each task family and their types are `TASK_FAMILIES` (compiler/registry/families.py),
made an arrow schema by `table_schema`; what they mean:

* every task type: ``id`` (str, stable: the source's id column if it has one, else the
  0-based row number in the source file/split as a string; a perturbed copy keeps the id).
* ``pair_classification`` (``nli``, ``paraphrase``): ``premise`` (str), ``hypothesis`` (str),
  ``label`` (str: the label *name*, e.g. "entailment"; never a raw id).
* ``extractive_qa``: ``context`` (str), ``question`` (str), ``answers`` (list of struct
  {``text``: str, ``start``: int}; empty list = unanswerable, SQuAD v2 style).
* ``multiple_choice``: ``context`` (str), ``endings`` (list[str]), ``label`` (int, index
  of the right ending).
* ``token_classification``: ``tokens`` (list[str], the words), ``tags`` (list[str], one tag
  name per word). Its predictions have one row per *word*, id ``<sentence id>:<word index>``,
  plus ``sentence``; a perturbed copy adds ``changed_tokens`` (list[bool], per word).
* ``retrieval`` (family ``bitext``): ``query`` (str, the non-English sentence; "" for an
  English sentence with no translation in the file, BUCC), ``candidate`` (str, its English
  translation; "" for a non-English sentence with none). Every non-empty ``candidate`` is in
  the pool a query is matched against. Its predictions have one row per non-empty query:
  ``gold``/``predicted`` are the ids of the English rows (predicted "" = nothing mined), and
  ``probs`` holds the score of the match.
* ``masked_lm`` (family ``text``): ``text`` (str, one line of plain text), ``language``
  (str, the row's language where known, else ""). Never evaluated as a target: its dev
  predictions (training only) have one row per masked token, id ``<example id>:<position>``,
  gold and predicted token ids as strings.

A perturbed dataset (written by `perturb`) has the same columns plus ``changed`` (bool: the
perturbation really altered at least one touched field of this example). A perturbed QA
context carries its answers at their new offsets, the answer texts being the perturbed spans
(runtime/robustness/perturbations/fields.py); multiple-choice endings keep their number and the label.

Predictions (written by `evaluate`): ``id`` (str), ``gold`` (str), ``predicted`` (str),
``correct`` (bool), ``probs`` (list[float], in the task's label order); extractive QA adds
``f1`` (float, token F1) and its ``correct`` is exact match.

Attack records (written by `attack`): the prediction columns for the *clean* input plus
``status`` ("skipped" when the clean prediction was already wrong, "succeeded", "failed"),
``adv_predicted`` (str), ``adv_correct`` (bool), ``words_changed`` (int), ``words_total``
(int), ``queries`` (int), ``adv_premise`` (str), ``adv_hypothesis`` (str).
"""

from __future__ import annotations

from xexp.compiler.registry import REGISTRY
from xexp.compiler.registry.families import ID_COLUMN, TASK_FAMILIES, ColumnType


def _labels(task_type: str) -> tuple[str, ...]:
    """The label names a task type declares (compiler/registry/sources.py), in head order."""
    entry = REGISTRY.get("task_type", task_type)
    assert entry is not None, task_type
    return entry.labels


NLI_LABELS: tuple[str, ...] = _labels("nli")
PARAPHRASE_LABELS: tuple[str, ...] = _labels("paraphrase")

DATA_FILE = "data.parquet"
PREDICTIONS_FILE = "predictions.parquet"
#: The files of a report (written by runtime/report/build.py).
HTML_FILE, SUMMARY_FILE = "report.html", "summary.txt"
REPORT_FILES = (HTML_FILE, "report.md", "report.tex", "results.csv", "results.json", SUMMARY_FILE)

PREDICTION_COLUMNS = ("id", "gold", "predicted", "correct", "probs")
ATTACK_COLUMNS = PREDICTION_COLUMNS + (
    "status", "adv_predicted", "adv_correct", "words_changed", "words_total", "queries",
    "adv_premise", "adv_hypothesis",
)


def table_schema(family: str):
    """The arrow schema of a normalized table of `family` (its columns: TASK_FAMILIES)."""
    import pyarrow as pa

    answer = pa.struct([("text", pa.string()), ("start", pa.int64())])
    types: dict[ColumnType, pa.DataType] = {
        "string": pa.string(), "integer": pa.int64(), "strings": pa.list_(pa.string()), "answers": pa.list_(answer)}
    columns = TASK_FAMILIES[family].columns
    return pa.schema([(ID_COLUMN, pa.string()), *((name, types[kind]) for name, kind in columns.items())])


def token_id(sentence_id: str, position: int) -> str:
    """The id of one word's prediction row of a token_classification table (see above); unique
    because the suffix is always `:<int>`."""
    return f"{sentence_id}:{position}"


def token_changed_flags(table):
    """(token ids, changed flags) of a perturbed tagged table as numpy arrays, one entry per
    word, for pairing the words' predictions with whether the perturbation changed them."""
    import numpy as np

    ids: list[str] = []
    flags: list[bool] = []
    for sentence, changed in zip(table.column("id").to_pylist(), table.column("changed_tokens").to_pylist()):
        ids.extend(token_id(sentence, k) for k in range(len(changed)))
        flags.extend(changed)
    return np.array(ids, dtype=object), np.array(flags, dtype=bool)
