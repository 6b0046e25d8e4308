"""What a `model` node hands on: its manifest (sources.py makes the model, ops/model_op.py
records it).

None of it decides what a consumer loads or whether the model's code runs: that is the spec's
(runtime/engine/provenance.py). Provenance reads it only to tell an altered node: a `model_dir` other
than the node's own `model/`, a `trust_remote_code` other than the spec's.
"""

from __future__ import annotations

from pydantic import StrictBool

from xexp.runtime.engine.completion import NodeManifest


class ModelManifest(NodeManifest):
    """`source` is the model source's kind; `path_or_id` where the model was made or found;
    `revision` the revision a hub model loads (the resolved commit, else the spec's);
    `resolved_revision` the commit a hub model's revision resolved to (written only when it
    resolved: not offline, nor for a local folder or a model built here); `model_dir` is set when
    the model was built into the node's folder (packaged, tiny)."""

    OMITTED_AT_DEFAULT = ("model_dir", "resolved_revision")

    source: str
    path_or_id: str
    revision: str | None
    resolved_revision: str | None = None
    trust_remote_code: StrictBool
    model_dir: str | None = None
