"""Which model a consumer loads, and whether it may run the model's own code: from the spec only.

The store is writable by whoever shares it (a cluster folder), and its sha256 records guard
against corruption, not against a writer, who can recompute them. So nothing a consumer reads
back from a completion record's *manifest* decides what code runs. What does:

- a record is *authentic* when its (kind, version, params, input keys) hash to the key of the
  folder it is in: the key is what the driver computed from the spec, so the params of an
  authentic record are the spec's own (a writer cannot find other params with the same key);
- ``trust_remote_code`` is the spec's: the ``hf`` source of the ``model`` node a model descends
  from (a ``train`` node's ``base`` input, authentic at every step); never the manifest's flag;
- the model is loaded from a fixed place inside its producer's folder (``model/`` of a model
  node, ``checkpoint/`` of a training), or from the spec's own hub id or path;
- a model folder in the store that carries code (``auto_map`` in config.json, a ``.py`` file)
  while the spec does not trust remote code was altered: the consumer refuses it as an input
  that failed verification, and the driver runs its producer again.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from xexp.compiler.graph.node import node_key
from xexp.runtime.engine.completion import CompletionRecord, ManifestError
from xexp.runtime.manifests.model import ModelManifest
from xexp.runtime.engine.store import Store
from xexp.runtime.manifests.train import TrainManifest

#: Where a node kind keeps its loadable model, relative to its folder (the ops write these).
MODEL_FOLDERS = {"model": "model", "train": "checkpoint"}
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class ModelOrigin:
    """A model as the spec decides it: where to load it from, its revision, whether its code runs."""

    path_or_id: str
    revision: str | None
    trust_remote_code: bool


def authenticity_problem(record: CompletionRecord, kind: str, key: str) -> str | None:
    """Why `record` is not the record of node (kind, key), or None when it is."""
    if record.kind != kind or record.key != key:
        return f"completion record names {record.kind}/{record.key[:10]}, not its folder"
    inputs = {role: ref.key for role, ref in record.inputs.items()}
    try:
        recomputed = node_key(kind, record.params, inputs, record.version)
    except (TypeError, ValueError) as error:
        return f"completion record params cannot be keyed ({error})"
    if recomputed != key:
        return "completion record's params or inputs do not hash to its key: the record was altered"
    return None


def model_origin(store: Store, kind: str, key: str, record: CompletionRecord) -> ModelOrigin | str:
    """The model node (kind, key) provides, decided by the spec; or why its folder was altered.

    ``record`` must be authentic; the ``base`` chain of a training is read and authenticated here.
    """
    source = _spec_source(store, kind, key, record)
    if isinstance(source, str):
        return source
    manifest: ModelManifest | TrainManifest
    try:
        if kind == "model":
            manifest = ModelManifest.read(record.manifest, f"{kind}/{key[:10]}")
        else:
            manifest = TrainManifest.read(record.manifest, f"{kind}/{key[:10]}")
    except ManifestError as error:
        return f"{error}: the node was altered"
    trust = source.get("source") == "hf" and source.get("trust_remote_code") is True
    if manifest.trust_remote_code is not trust:
        return (f"its manifest says trust_remote_code={manifest.trust_remote_code!r} but the spec says {trust}: "
                "the model node was altered")
    if isinstance(manifest, ModelManifest) and source.get("source") == "hf":
        return _hub_origin(source, manifest, trust)
    folder = MODEL_FOLDERS[kind]
    declared = manifest.model_dir if isinstance(manifest, ModelManifest) else manifest.checkpoint
    if declared != folder:
        return f"its manifest points the model at {declared!r}, not {folder!r}: the node was altered"
    base = store.artifact_dir(kind, key)
    path = base / folder  # as the store names it (shared_weights.py finds the node from it)
    if (path.is_symlink() or not path.resolve().is_relative_to(base.resolve())
            or not path.is_dir()):
        return f"its model folder {folder}/ is missing or leaves the node's folder"
    if not trust and (code := _code_in(path)):
        return f"{folder}/ carries code ({code}) the spec does not trust: the model node was altered"
    return ModelOrigin(str(path), None, trust)


def _spec_source(store: Store, kind: str, key: str, record: CompletionRecord) -> dict | str:
    """The `source` params of the model node at the root of a training's base chain."""
    seen: set[str] = set()
    while kind == "train":
        if key in seen or len(seen) > 64:
            return "its base chain loops"
        seen.add(key)
        ref = record.inputs.get("base")
        if ref is None:
            return "a training without a base input"
        found = store.read_record(ref.kind, ref.key)
        if found is None:
            return f"its base {ref.kind}/{ref.key[:10]} has no completion record"
        if problem := authenticity_problem(found, ref.kind, ref.key):
            return f"its base {ref.kind}/{ref.key[:10]}: {problem}"
        kind, key, record = ref.kind, ref.key, found
    if kind != "model":
        return f"a {kind} node does not provide a model"
    source = record.params.get("source")
    return (source if isinstance(source, dict) else "a model node without a source")


def _hub_origin(source: dict, manifest: ModelManifest, trust: bool) -> ModelOrigin:
    """A hub id or local path named by the spec. The revision is the spec's, else the commit
    the model node resolved (a commit of the spec's own repository, nothing else)."""
    model_id = str(source["id"])
    local = Path(model_id).expanduser()
    if local.is_dir():
        return ModelOrigin(str(local.resolve()), source.get("revision"), trust)
    resolved = manifest.resolved_revision
    revision = resolved if resolved is not None and _COMMIT.match(resolved) else source.get("revision")
    return ModelOrigin(model_id, revision, trust)


def _code_in(folder: Path) -> str | None:
    """What in a stored model folder would make transformers import code: auto_map, .py files."""
    python = sorted(p.name for p in folder.rglob("*.py"))
    if python:
        return ", ".join(python[:3])
    for name in ("config.json", "tokenizer_config.json"):
        try:
            config = json.loads((folder / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(config, dict) and "auto_map" in config:
            return f"auto_map in {name}"
    return None
