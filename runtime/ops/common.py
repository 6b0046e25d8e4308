"""Small helpers shared by the kind modules: parquet I/O, the tables and models of inputs."""

from __future__ import annotations

from pathlib import Path

from xexp.errors import ModelError
from xexp.runtime.engine.context import InputArtifact
from xexp.runtime.data.formats import DATA_FILE, PREDICTIONS_FILE
from xexp.runtime.manifests.tables import DataManifest


def write_table(table, path: Path) -> None:
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def read_table(path: Path):
    import pyarrow.parquet as pq

    return pq.read_table(path)


def input_data(artifact: InputArtifact):
    """The table of a dataset input (a `load` or `perturb` node), found through its manifest."""
    manifest = DataManifest.read(artifact.manifest, f"{artifact.kind}/{artifact.key[:10]}")
    return read_table(artifact.dir / manifest.file)


def model_manifest(artifact: InputArtifact) -> dict:
    """The loadable model of a `model` or `train` input, as a manifest for models.sources.

    Where it is loaded from and whether its code may run come from the spec (the input's
    ``model``, runtime/engine/provenance.py), never from the stored manifest.
    """
    origin = artifact.model
    if origin is None:
        raise ModelError(f"a {artifact.kind} node does not provide a model")
    return {"path_or_id": origin.path_or_id, "revision": origin.revision,
            "trust_remote_code": origin.trust_remote_code,
            # Which store node the model is: a training may share its unchanged tensors.
            "origin": {"kind": artifact.kind, "key": artifact.key, "dir": str(artifact.dir)}}


__all__ = ["DATA_FILE", "PREDICTIONS_FILE", "input_data", "model_manifest", "read_table", "write_table"]
