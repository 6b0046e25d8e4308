"""Each node kind is one class (compiler/graph/kinds.py), and an unknown kind is an error
wherever a kind is looked up: the graph, the scheduler's priorities, the estimates."""

from __future__ import annotations

import pytest

from xexp.compiler.graph.kinds import KIND_VERSIONS, KINDS, NODE_KINDS, kind_of
from xexp.compiler.graph.node import Graph, Node
from xexp.runtime.engine.estimate.work import planned_work, recorded_work
from xexp.runtime.engine.scheduler import critical_path_priority


def test_the_tables_of_kinds_derive_from_the_classes():
    assert NODE_KINDS == ("model", "load", "perturb", "train", "evaluate", "attack", "report")
    # the versions every stored key was made with: changing one redoes every node of its kind
    assert KIND_VERSIONS == {"model": 1, "load": 1, "perturb": 1, "train": 2, "evaluate": 1, "attack": 3, "report": 3}
    # the kinds whose time the estimates fit per model: the ones that make or run one
    assert {name for name, kind in KINDS.items() if kind.MODEL_BOUND} == {"model", "train", "evaluate", "attack"}
    for name, kind in KINDS.items():
        assert kind.NAME == name and kind.COST > 0 and kind.WORK_UNIT
        assert kind.PARAMS.__name__.lower().startswith(name)


def _stray(kind: str) -> Node:
    """A node of `kind` as a store or a hand-built graph might hold it, past Node's own checks."""
    return Node.model_construct(key="f" * 64, kind=kind, version=1, name=f"{kind}:x", params={}, inputs={})


def test_an_unknown_kind_is_an_error_not_a_default():
    with pytest.raises(ValueError, match="unknown node kind 'sample'.*model, load"):
        kind_of("sample")
    with pytest.raises(ValueError, match="unknown node kind 'sample'"):
        Node.make("sample", "sample:x", {})  # type: ignore[arg-type]
    graph = Graph.model_construct(experiment="t", nodes=[_stray("sample")])
    with pytest.raises(ValueError, match="unknown node kind 'sample'"):
        critical_path_priority(graph)
    with pytest.raises(ValueError, match="unknown node kind 'sample'"):
        planned_work(_stray("sample"), lambda key: None)
    with pytest.raises(ValueError, match="unknown node kind 'sample'"):
        recorded_work("sample", {}, {})


def test_the_scheduler_orders_by_the_kinds_costs_when_nothing_was_measured():
    model = Node.make("model", "model:m", {"source": {"source": "tiny"}})
    train = Node.make("train", "train:t", {"x": 1}, {"base": model.key})
    evaluate = Node.make("evaluate", "evaluate:e", {"x": 2}, {"model": model.key})
    rank = critical_path_priority(Graph(experiment="t", nodes=[model, train, evaluate]))
    assert rank[train.key] == kind_of("train").COST and rank[evaluate.key] == kind_of("evaluate").COST
    assert rank[model.key] == kind_of("model").COST + kind_of("train").COST
