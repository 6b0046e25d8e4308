"""Graph nodes and their content-addressed keys.

A node's key is the sha256 of the canonical JSON of (kind, kind version, params, input keys),
so equal keys are the same work wherever they come from: two variants, two specs, two runs.
A local file enters by content: a parameter dict that carries the `sha256` of the file(s) it
names (compiler/inputs.py adds it) is keyed by that digest and the file's name, not its folder.
Everything that only *describes* a node (its readable name, its resources, the report labels)
stays out of the key, so renaming a task or giving training more GPUs never redoes work.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# NODE_KINDS and KIND_VERSIONS are read by the graph's users from here too; kinds.py declares them
from xexp.compiler.graph.kinds import KIND_VERSIONS, NODE_KINDS, Kind, kind_of

__all__ = ["KIND_VERSIONS", "NODE_KINDS", "Graph", "Kind", "Node", "Resources", "canonical_json", "keyed",
           "node_key"]


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: the one byte string a value hashes to."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def keyed(value: Any) -> Any:
    """What of a parameter value enters a key: a file known by its `sha256` keeps only its
    name (which picks the reader and, for a lexicon, the language), not the folder it lies in."""
    if isinstance(value, dict):
        if "sha256" in value and isinstance(value.get("path"), str):
            value = {**value, "path": value["path"].replace("\\", "/").rsplit("/", 1)[-1]}
        return {k: keyed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [keyed(v) for v in value]
    return value


def node_key(kind: str, params: dict, inputs: dict[str, str], version: int | None = None,
             params_json: str | None = None) -> str:
    """The key; `params_json` (the `canonical_json(keyed(params))` of params that many nodes
    share, computed once by the caller) gives the same bytes as the payload's own encoding."""
    version = kind_of(kind).VERSION if version is None else version
    if params_json is None:
        params_json = canonical_json(keyed(params))
    # canonical_json of {"kind", "version", "params", "inputs"}, keys in sorted order, written
    # out: inputs map role names to keys (strings), kind is a plain name, version an int
    text = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) writes a str as
    inputs_json = "{" + ",".join(f"{text(role)}:{text(key)}" for role, key in sorted(inputs.items())) + "}"
    payload = f'{{"inputs":{inputs_json},"kind":{text(kind)},"params":{params_json},"version":{int(version)}}}'

    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class Resources(BaseModel):
    """What one node asks of Ray. Fractional GPUs are allowed (evaluation shares a card)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    num_cpus: float = 1.0
    num_gpus: float = 0.0
    memory: int | None = None  # bytes
    custom: dict[str, float] = Field(default_factory=dict)


class Node(BaseModel):
    """One unit of work.

    `params` and `inputs` (role -> upstream key) define the key; `name`, `resources`,
    `trial_resources` and `labels` (variant, language, condition, seed … used by plan and
    report) do not. `params` follow the kind's contract in graph/contracts.py.
    `trial_resources` is set on a train node with a sweep: the node itself only coordinates
    the Ray Tune search, and each trial asks for these.
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
    trial_resources: Resources | None = None

    @property
    def short_key(self) -> str:
        return self.key[:10]

    @classmethod
    def make(cls, kind: Kind, name: str, params: dict, inputs: dict[str, str] | None = None,
             resources: Resources | None = None, labels: dict | None = None,
             trial_resources: Resources | None = None, params_json: str | None = None) -> "Node":
        """A node with its key. Its parts are typed already (params come from a contract's
        `to_params()`, resources are `Resources`), so it is assembled without a second
        validation: a paper-sized grid has thousands of nodes, and `xexp check` is interactive."""
        inputs = dict(inputs or {})
        version = kind_of(kind).VERSION
        return cls.model_construct(
            key=node_key(kind, params, inputs, version, params_json), kind=kind, version=version, name=name,
            params=params, inputs=inputs, resources=resources or Resources(), labels=labels or {},
            trial_resources=trial_resources,
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
