"""How much work a node is, in the unit that drives its time.

A node's wall time is roughly a fixed overhead plus a rate times its work: tokens for trainings
(steps × batch × length: what the accelerator pushes through forward and backward) and
evaluations (rows × length), model queries for attacks, rows for loads and perturbations, cells
for the report. The same measure is taken of a finished node (from its completion record:
the steps it took, the rows it wrote, the queries it made) and of a planned one (from its params
and what is known of its inputs' sizes), so a rate fitted on the first predicts the second.

A training's work also counts what it does besides its steps: each dev scoring (after every
epoch, or every `eval_every` steps, and once at the end) reads the dev rows forward only, about a
third of a trained token's cost. A multiple-choice example is one sequence per ending
(`SEQUENCES_PER_EXAMPLE`), in trainings and evaluations alike.

Sizes of planned inputs come, in order, from a finished load's own record, a `rows` slice, a
synthetic source's `size`, a count of the local file's records, or the split sizes of the hub
datasets the paper reads (hub_sizes.py); any other hub source not yet loaded has no known size
(its estimate then rests on the kind's typical time, and says so).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

from xexp.compiler.graph.contracts import DEFAULT_MAX_LEN
from xexp.compiler.graph.kinds import kind_of
from xexp.compiler.registry.base import REGISTRY
from xexp.runtime.engine.completion import ManifestError, NodeManifest
from xexp.runtime.manifests.tables import AttackManifest, DataManifest, PredictionsManifest
from xexp.runtime.manifests.train import TrainManifest

M = TypeVar("M", bound=NodeManifest)

#: Sequences the model reads per example, by task family: a multiple-choice example is one
#: (context, ending) pair per ending; HellaSwag and CosmosQA have 4 endings, CommonsenseQA 5.
SEQUENCES_PER_EXAMPLE = {"mc": 4.0}
#: A token scored forward only (dev scoring, evaluation) against one trained forward and backward.
FORWARD_SHARE = 1 / 3


@dataclass(frozen=True)
class Work:
    """`amount` of the kind's unit (None: not known before the node's inputs are loaded)."""

    unit: str
    amount: float | None


# --- finished nodes ------------------------------------------------------------------------------
def recorded_work(kind: str, params: dict[str, Any], manifest: dict[str, Any],
                  dev_rows: float | None = None) -> Work:
    """The work a finished node did, read from its completion record; `dev_rows` are a
    training's dev rows where the store still has the records of its dev inputs."""
    unit = kind_of(kind).WORK_UNIT
    amount: float | None = None
    if kind in ("load", "perturb"):
        amount = recorded_rows(manifest)
    elif kind == "train":
        hparams = params.get("hparams") or {}
        trained = _read(TrainManifest, manifest)
        batch = _number(hparams.get("batch")) if not isinstance(hparams.get("batch"), dict) else None
        if trained is not None and batch is not None:
            accum, max_len = float(hparams.get("grad_accum") or 1), float(hparams.get("max_len") or DEFAULT_MAX_LEN)
            seen = trained.steps * batch * accum
            epochs = math.ceil(seen / trained.train_examples) if trained.train_examples else 1
            amount = (seen * max_len * _train_sequences(params)
                      + _dev_tokens(params, hparams, dev_rows, trained.steps, epochs))
    elif kind == "evaluate":
        predicted = _read(PredictionsManifest, manifest)
        amount = None if predicted is None else (predicted.n * float(params.get("max_len") or DEFAULT_MAX_LEN)
                                                 * sequences_per_example(params.get("task_type")))
    elif kind == "attack":
        attacked = _read(AttackManifest, manifest)
        total, each = (attacked.summary.total, attacked.summary.avg_queries) if attacked else (None, None)
        amount = total * each if total is not None and each is not None else None
    elif kind == "report":
        amount = float(len(params.get("cells") or [])) or None
    else:
        amount = 1.0
    return Work(unit, amount)


# --- planned nodes -------------------------------------------------------------------------------
def planned_work(node: Any, rows_of: Callable[[str], float | None]) -> Work:
    """The work a planned node will do; `rows_of(key)` is the row count of an input node."""
    kind, params = node.kind, node.params
    unit = kind_of(kind).WORK_UNIT
    if kind == "model":
        return Work(unit, 1.0)
    if kind == "load":
        return Work(unit, rows_of(node.key))
    if kind == "perturb":
        return Work(unit, rows_of(node.inputs["data"]))
    if kind == "evaluate":
        rows = rows_of(node.inputs["data"])
        return Work(unit, None if rows is None else rows * float(params.get("max_len") or DEFAULT_MAX_LEN)
                    * sequences_per_example(params.get("task_type")))
    if kind == "attack":
        rows = rows_of(node.inputs["data"])
        entry = params.get("params") or {}
        if rows is None:
            return Work(unit, None)
        examples = entry.get("examples")
        attacked = min(rows, float(examples)) if isinstance(examples, (int, float)) else rows
        # an attack queries about half its budget per example on average (the search stops at
        # the first success; many examples are skipped as already wrong): the fit absorbs the rest
        budget = float(entry.get("max_queries") or 1)
        return Work(unit, attacked * budget / 2)
    if kind == "train":
        return Work(unit, _train_tokens(node, rows_of))
    if kind == "report":
        return Work(unit, float(len(params.get("cells") or [])) or None)
    return Work(unit, 1.0)


def _train_tokens(node: Any, rows_of: Callable[[str], float | None]) -> float | None:
    hparams = node.params.get("hparams") or {}
    batch, epochs = _setting(hparams.get("batch"), 32), _setting(hparams.get("epochs"), 2)
    accum, max_len = float(hparams.get("grad_accum") or 1), float(hparams.get("max_len") or DEFAULT_MAX_LEN)
    rows = [rows_of(key) for role, key in node.inputs.items() if role == "train" or role.startswith("train")]
    if not rows or any(r is None for r in rows):
        return None
    examples = sum(r for r in rows if r is not None)
    steps = int(math.ceil(examples / (batch * accum)) * epochs)
    if hparams.get("max_steps"):
        steps = min(steps, int(hparams["max_steps"]))
        epochs = math.ceil(steps * batch * accum / examples) if examples else 1
    trials = 1
    for value in hparams.values():  # a sweep trains once per combination
        if isinstance(value, dict) and isinstance(value.get("values"), list):
            trials *= len(value["values"])
    dev_rows = [rows_of(key) for role, key in node.inputs.items() if is_dev_input(role)]
    dev = _dev_tokens(node.params, hparams, sum(r for r in dev_rows if r is not None), steps, int(epochs))
    return (steps * batch * accum * max_len * _train_sequences(node.params) + dev) * trials


def sequences_per_example(task_type: Any) -> float:
    """Sequences the model reads per example of `task_type` (SEQUENCES_PER_EXAMPLE; 1 for an
    unknown type: an estimate never fails on what the check reports)."""
    entry = REGISTRY.get("task_type", task_type) if isinstance(task_type, str) else None
    return SEQUENCES_PER_EXAMPLE.get(entry.family or "", 1.0) if entry is not None else 1.0


def _train_sequences(params: dict[str, Any]) -> float:
    """Sequences per trained example: the task type's, or the mean over a mix's members."""
    members = params.get("members")
    if isinstance(members, list) and members:
        return sum(sequences_per_example(m.get("task_type") if isinstance(m, dict) else None)
                   for m in members) / len(members)
    return sequences_per_example(params.get("task_type"))


def is_dev_input(role: str) -> bool:
    """A train node's dev input: `dev` for one task, `dev<i>.<lang>` for a mix member's."""
    return role == "dev" or (role.startswith("dev") and role[3:4].isdigit())


def _dev_tokens(params: dict[str, Any], hparams: dict[str, Any], dev_rows: float | None,
                steps: int, epochs: int) -> float:
    """Forward-only tokens of a training's dev scorings, in trained-token equivalents: the dev
    rows, scored after each epoch (or every `eval_every` steps) and once at the end."""
    if not dev_rows:
        return 0.0
    every = _number(hparams.get("eval_every"))
    scorings = (steps // int(every) if every else epochs) + 1
    max_len = float(hparams.get("max_len") or DEFAULT_MAX_LEN)
    return dev_rows * max_len * _train_sequences(params) * scorings * FORWARD_SHARE


def _setting(value: Any, default: float) -> float:
    if isinstance(value, dict) and value.get("values"):  # a sweep: its largest value
        return float(max(value["values"]))
    return float(value) if isinstance(value, (int, float)) else default


def recorded_rows(manifest: dict[str, Any]) -> float | None:
    """The rows a finished dataset node (load, perturb) wrote, from its manifest."""
    data = _read(DataManifest, manifest)
    return None if data is None else float(data.rows)


def _read(model: type[M], manifest: dict[str, Any]) -> M | None:
    """A stored manifest as its kind's model; None for one that does not read (an estimate
    rests on what it can read, and says so, rather than stopping a plan)."""
    try:
        return model.read(manifest, "a stored node")
    except ManifestError:
        return None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


# --- input sizes -----------------------------------------------------------------------------
def load_rows(params: dict[str, Any], base: Path | None = None) -> float | None:
    """Rows a planned load will have, from its params alone (None when only loading tells)."""
    rows = params.get("rows")
    sliced = (rows[1] - rows[0]) if isinstance(rows, (list, tuple)) and len(rows) == 2 else None
    source = params.get("source") or {}
    total: float | None = None
    if source.get("source") == "synthetic" and isinstance(source.get("size"), int):
        total = float(source["size"])
    elif source.get("source") == "local" and isinstance(source.get("path"), str):
        total = _count_records(source["path"], params.get("split"), params.get("task_type"), base)
    elif source.get("source") == "hf":
        from xexp.runtime.engine.estimate.hub_sizes import hub_rows

        known = hub_rows(source, params.get("split"))
        total = float(known) if known is not None else None
    if sliced is not None:
        return float(sliced) if total is None else min(float(sliced), total)
    return total


#: Local files counted, by (path, size, mtime): planning a big grid counts each file once.
_COUNTED: dict[tuple[str, int, float], float | None] = {}


def _count_records(path_text: str, split: Any, task_type: Any, base: Path | None) -> float | None:
    path = Path(path_text.replace("{split}", str(split or "")))
    if not path.is_absolute() and base is not None:
        path = base / path
    try:
        stat = path.stat()
    except OSError:
        return None
    if not path.is_file():
        return None
    ident = (str(path), stat.st_size, stat.st_mtime)
    if ident not in _COUNTED:
        _COUNTED[ident] = _count_file(path)
    return _COUNTED[ident]


def _count_file(path: Path) -> float | None:
    """Records in a line-oriented file: lines (less a header for csv/tsv), or sentences (blank-line
    separated) for CoNLL; other formats (parquet, SQuAD JSON) are not counted."""
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".ndjson", ".csv", ".tsv", ".txt", ".conllu", ".conll"):
        return None
    lines = blank = 0
    with open(path, "rb") as handle:
        for line in handle:
            lines += 1
            blank += not line.strip()
    if suffix in (".conllu", ".conll"):
        return float(max(blank, 1))
    return float(lines - (1 if suffix in (".csv", ".tsv") else 0))
