"""Small helpers shared by the kind modules: parquet I/O and model manifests of inputs."""

from __future__ import annotations

from pathlib import Path

from xexp.runtime.context import InputArtifact
from xexp.runtime.formats import DATA_FILE, PREDICTIONS_FILE


def write_table(table, path: Path) -> None:
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def read_table(path: Path):
    import pyarrow.parquet as pq

    return pq.read_table(path)


def input_data(artifact: InputArtifact):
    return read_table(artifact.dir / artifact.manifest.get("file", DATA_FILE))


def model_manifest(artifact: InputArtifact) -> dict:
    """The loadable model of a `model` or `train` input, as a manifest for models.sources.

    Paths are stored relative to the artifact dir so a store can move (or be mounted
    elsewhere on a cluster node) without breaking its consumers.
    """
    m = artifact.manifest
    if artifact.kind == "model":
        path = m.get("model_dir")
        path_or_id = str(artifact.dir / path) if path else m["path_or_id"]
    elif artifact.kind == "train":
        path_or_id = str(artifact.dir / m["checkpoint"])
    else:
        raise ValueError(f"a {artifact.kind} node does not provide a model")
    return {"path_or_id": path_or_id, "revision": m.get("revision"),
            "trust_remote_code": bool(m.get("trust_remote_code", False)),
            # Which store node the model is: a training may share its unchanged tensors.
            "origin": {"kind": artifact.kind, "key": artifact.key, "dir": str(artifact.dir)}}


__all__ = ["DATA_FILE", "PREDICTIONS_FILE", "input_data", "model_manifest", "read_table", "write_table"]
