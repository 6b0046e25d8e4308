"""The node kinds: one class per kind, holding every fact about the kind that is not its work.

A kind's facts used to be spread over the graph (its version), the scheduler and the estimates
(its relative cost, its unit of work) and the contracts (its params model); each list could miss
a kind and be filled in by a silent default. Here each kind is declared once, as Tango declares
a `Step` with its `VERSION`, and every table of kinds is derived from these classes:

- `VERSION` enters every key of the kind: bump it when the kind's work changes what it writes,
  and every node of the kind (and everything downstream) is redone rather than reused.
- `COST` is the kind's relative duration, the one guess when the store has measured nothing:
  it orders a graph by critical path (a training is ten evaluations, an attack two).
- `WORK_UNIT` is what a node's time grows with (runtime/engine/estimate/work.py measures it), and
  `MODEL_BOUND` whether that time also depends on the model the node makes or runs (the
  estimates fit those kinds' rates per model).
- `PARAMS` is the contract of the kind's params (contracts.py, report_contract.py).
- `IMPLEMENTATION` is the kind's op as `"module:attribute"`, as a registry entry names its
  implementation: the runtime resolves it through its one resolver (runtime/implementations.py,
  from `execute` in runtime/ops/__init__.py) and the op returns the kind's typed manifest (a
  `NodeManifest`, runtime/engine/completion.py).

The compiler reads these without importing the runtime. An unknown kind is an error wherever it
is looked up (`kind_of`).
"""

from __future__ import annotations

from typing import ClassVar, Literal, get_args

from xexp.compiler.graph.contracts import (
    AttackParams, EvaluateParams, LoadParams, ModelParams, NodeParams, PerturbParams, TrainParams,
)
from xexp.compiler.graph.report_contract import ReportParams

#: The node kinds as a type (Node.kind); `KINDS` below must name the same, in the same order.
Kind = Literal["model", "load", "perturb", "train", "evaluate", "attack", "report"]


class NodeKind:
    """Base of the kind classes; they are declarations, never instantiated."""

    NAME: ClassVar[str]
    VERSION: ClassVar[int]
    COST: ClassVar[float]
    WORK_UNIT: ClassVar[str]
    MODEL_BOUND: ClassVar[bool]
    PARAMS: ClassVar[type[NodeParams]]
    IMPLEMENTATION: ClassVar[str]


class ModelKind(NodeKind):
    """Makes a base encoder loadable: a packaged or tiny model built into the store, a hub id."""

    NAME = "model"
    VERSION = 1
    COST = 0.1
    WORK_UNIT = "nodes"
    MODEL_BOUND = True
    PARAMS = ModelParams
    IMPLEMENTATION = "xexp.runtime.ops.model_op:run"


class LoadKind(NodeKind):
    """One split of one data source, normalized into `data.parquet`."""

    NAME = "load"
    VERSION = 1
    COST = 0.2
    WORK_UNIT = "rows"
    MODEL_BOUND = False
    PARAMS = LoadParams
    IMPLEMENTATION = "xexp.runtime.ops.load_op:run"


class PerturbKind(NodeKind):
    """A loaded set with one model-agnostic perturbation applied."""

    NAME = "perturb"
    VERSION = 1
    COST = 0.3
    WORK_UNIT = "rows"
    MODEL_BOUND = False
    PARAMS = PerturbParams
    IMPLEMENTATION = "xexp.runtime.ops.perturb_op:run"


class TrainKind(NodeKind):
    """A fine-tuning (one task or a mix), or a sweep of them."""

    NAME = "train"
    VERSION = 2
    COST = 10.0
    WORK_UNIT = "tokens"
    MODEL_BOUND = True
    PARAMS = TrainParams
    IMPLEMENTATION = "xexp.runtime.ops.train_op:run"


class EvaluateKind(NodeKind):
    """Per-example predictions of a model on one clean or perturbed set."""

    NAME = "evaluate"
    VERSION = 1
    COST = 1.0
    WORK_UNIT = "tokens"
    MODEL_BOUND = True
    PARAMS = EvaluateParams
    IMPLEMENTATION = "xexp.runtime.ops.evaluate_op:run"


class AttackKind(NodeKind):
    """A model-aware adversarial attack on a clean set."""

    NAME = "attack"
    VERSION = 3
    COST = 2.0
    WORK_UNIT = "queries"
    MODEL_BOUND = True
    PARAMS = AttackParams
    IMPLEMENTATION = "xexp.runtime.ops.attack_op:run"


class ReportKind(NodeKind):
    """Metrics, robustness deltas and the report files, from stored predictions."""

    NAME = "report"
    # 3 (2026-12-07): Δ flip is the tested robustness figure, declared primary rows, figures as
    # files, the XTREME table: a stored report of version 2 is rebuilt, not served
    VERSION = 3
    COST = 0.2
    WORK_UNIT = "cells"
    MODEL_BOUND = False
    PARAMS = ReportParams
    IMPLEMENTATION = "xexp.runtime.ops.report_op:run"


#: Every kind by name, in the order a graph runs them.
KINDS: dict[str, type[NodeKind]] = {k.NAME: k for k in (
    ModelKind, LoadKind, PerturbKind, TrainKind, EvaluateKind, AttackKind, ReportKind)}
#: The kinds' names, in that order; every other list of kinds derives from `KINDS`.
NODE_KINDS: tuple[str, ...] = tuple(KINDS)
assert NODE_KINDS == get_args(Kind), "Kind and KINDS must name the same kinds in the same order"
#: Each kind's version, as node keys read it.
KIND_VERSIONS: dict[str, int] = {name: kind.VERSION for name, kind in KINDS.items()}


def kind_of(name: str) -> type[NodeKind]:
    """The class of kind `name`; a name no class declares is an error, never a default."""
    try:
        return KINDS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown node kind {name!r} (kinds: {', '.join(NODE_KINDS)})") from None
