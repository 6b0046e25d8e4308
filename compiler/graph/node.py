"""Graph nodes and their content-addressed keys.

A node's key is the sha256 of the canonical JSON of (kind, kind version, params, input keys),
so equal keys are the same work wherever they come from: two variants, two specs, two runs.
Everything that only *describes* a node (its readable name, its resources, the report labels)
stays out of the key, so renaming a task or giving training more GPUs never redoes work.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal["model", "load", "perturb", "train", "evaluate", "attack", "report"]

#: Bump a kind's version when its implementation changes what it writes: every key of that
#: kind (and everything downstream) changes, so stale artifacts are never reused.
KIND_VERSIONS: dict[str, int] = {
    "model": 1, "load": 1, "perturb": 1, "train": 1, "evaluate": 1, "attack": 3, "report": 2,
}


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: the one byte string a value hashes to."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def node_key(kind: str, params: dict, inputs: dict[str, str], version: int | None = None) -> str:
    payload = {
        "kind": kind,
        "version": KIND_VERSIONS[kind] if version is None else version,
        "params": params,
        "inputs": inputs,
    }
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


class Resources(BaseModel):
    """What one node asks of Ray. Fractional GPUs are allowed (evaluation shares a card)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    num_cpus: float = 1.0
    num_gpus: float = 0.0
    memory: int | None = None  # bytes
    custom: dict[str, float] = Field(default_factory=dict)


class Node(BaseModel):
    """One unit of work.

    `params` and `inputs` (role -> upstream key) define the key; `name`, `resources` and
    `labels` (variant, language, condition, seed … used by plan and report) do not.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    kind: Kind
    version: int
    name: str
    params: dict[str, Any]
    inputs: dict[str, str] = Field(default_factory=dict)
    resources: Resources = Field(default_factory=Resources)
    labels: dict[str, Any] = Field(default_factory=dict)

    @property
    def short_key(self) -> str:
        return self.key[:10]

    @classmethod
    def make(cls, kind: Kind, name: str, params: dict, inputs: dict[str, str] | None = None,
             resources: Resources | None = None, labels: dict | None = None) -> "Node":
        inputs = dict(inputs or {})
        version = KIND_VERSIONS[kind]
        return cls(
            key=node_key(kind, params, inputs, version), kind=kind, version=version, name=name,
            params=params, inputs=inputs, resources=resources or Resources(), labels=labels or {},
        )


class Graph(BaseModel):
    """A DAG of nodes in topological order (every input precedes its consumers)."""

    model_config = ConfigDict(extra="forbid")

    experiment: str
    nodes: list[Node]

    def by_key(self) -> dict[str, Node]:
        return {n.key: n for n in self.nodes}

    def consumers(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {n.key: [] for n in self.nodes}
        for n in self.nodes:
            for k in n.inputs.values():
                out[k].append(n.key)
        return out

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for n in self.nodes:
            counts[n.kind] = counts.get(n.kind, 0) + 1
        return counts
