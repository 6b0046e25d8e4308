"""`model`: make the base encoder loadable — convert a packaged model, build a tiny one, or
record a hub id (downloads happen where training runs, into the usual Hugging Face cache)."""

from __future__ import annotations

from xexp.compiler.graph.contracts import ModelParams
from xexp.compiler.graph.node import Node
from xexp.runtime.engine.context import NodeContext
from xexp.runtime.manifests.model import ModelManifest

MODEL_DIR = "model"


def run(node: Node, ctx: NodeContext) -> ModelManifest:
    from xexp.runtime.learning.models.sources import materialize_model

    source = ModelParams.model_validate(node.params).source
    ctx.logger.info("preparing model %s", source)
    manifest = ModelManifest.model_validate(materialize_model(source, ctx.out_dir / MODEL_DIR))
    if source["source"] != "hf":  # built into the store: consumers find it relative to the artifact
        manifest = manifest.model_copy(update={"model_dir": MODEL_DIR})
    return manifest
