"""The `model` node's work: turn a model source into a manifest, and load from a manifest.

A manifest is the small dict passed between Ray tasks instead of a model:
``{"source", "path_or_id", "revision", "resolved_revision", "trust_remote_code"}``. A hub id's
revision is resolved to a commit here, once (runtime/data/hub_revision.py), and consumers load that
commit, so one run never mixes two commits of a moving branch. Loading goes through the
Hugging Face Auto classes; remote code is trusted only when the manifest says so explicitly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol


from xexp.errors import ModelError, SpecValueError

class ModelMaterializer(Protocol):
    """What a model source's implementation (its registry entry's `implementation=`) is: the
    `model` node's work for that kind of source, given its checked parameters and the node's
    output folder, returning the manifest. One signature for every kind is what lets
    `materialize_model` call any of them by the entry alone."""

    def __call__(self, source: dict[str, Any], out_dir: Path) -> dict[str, Any]: ...


def _checked_materializer(source: dict[str, Any]) -> ModelMaterializer:
    """The source's implementation, its parameters checked against the registry's schema (the
    one description of each model source, compiler/registry/sources.py)."""
    from pydantic import ValidationError

    from xexp.runtime.implementations import entry_of, resolve

    if not isinstance(source, dict) or "source" not in source:
        raise ValueError(f"model source must be a dict with a 'source' key, got {source!r}")
    kind = source["source"]
    entry = entry_of("model_source", kind)
    try:
        entry.params.model_validate({k: v for k, v in source.items() if k != "source"})
    except ValidationError as err:
        raise SpecValueError(f"model source {kind!r}: {_problems(err, entry.params.model_fields)}") from None
    return resolve(entry)


def _problems(err, fields) -> str:
    """A schema's validation errors in a sentence: missing and unknown parameters by name."""
    missing = [str(e["loc"][0]) for e in err.errors() if e["type"] == "missing"]
    unknown = [str(e["loc"][0]) for e in err.errors() if e["type"] == "extra_forbidden"]
    parts = [f"missing {', '.join(missing)}"] if missing else []
    if unknown:
        parts.append(f"unknown parameter(s) {', '.join(unknown)}; allowed: {', '.join(fields)}")
    parts += [f"{'.'.join(map(str, e['loc'])) or 'parameters'} {e['msg'].replace('Input should be', 'must be')}"
              for e in err.errors() if e["type"] not in ("missing", "extra_forbidden")]
    return "; ".join(parts)


def materialize_model(source: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """Produce the model a spec names (a conversion or a tiny build into `out_dir`; no download)."""
    return _checked_materializer(source)(source, Path(out_dir))


def materialize_hf(source: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """A hub id or a local folder, used where it is: nothing is written to `out_dir`; a hub
    revision is resolved to its commit now, so every consumer loads the same one."""
    model_id = source["id"]
    trust = source.get("trust_remote_code", False)
    if not isinstance(model_id, str) or not model_id:
        raise SpecValueError(f"model source 'hf': id must be a non-empty string, got {model_id!r}")
    if not isinstance(trust, bool):
        raise SpecValueError(f"model source 'hf': trust_remote_code must be true or false, got {trust!r}")
    local = Path(model_id).expanduser()
    if local.is_dir():
        return {"source": "hf", "path_or_id": str(local.resolve()), "revision": source.get("revision"),
                "resolved_revision": None, "trust_remote_code": trust}
    from xexp.runtime.data.hub_revision import hub_commit

    commit = hub_commit(model_id, source.get("revision"))
    return {"source": "hf", "path_or_id": model_id, "revision": commit or source.get("revision"),
            "resolved_revision": commit, "trust_remote_code": trust}


def materialize_packaged(source: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """The packaged encoder, converted into `out_dir` (models/packaged.py)."""
    from xexp.runtime.learning.models.packaged import prepare_packaged

    return _built(source, prepare_packaged(source.get("name", "multilingual-e5-small"), out_dir))


def materialize_tiny(source: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """A tiny random encoder, built into `out_dir` from the source's shape (models/tiny.py)."""
    from xexp.runtime.learning.models.tiny import build_tiny

    return _built(source, build_tiny(out_dir, **{k: v for k, v in source.items() if k != "source"}))


def _built(source: dict[str, Any], path) -> dict[str, Any]:
    """The manifest of a model built into the store: no revision, never remote code."""
    return {"source": source["source"], "path_or_id": str(Path(path).resolve()),
            "revision": None, "trust_remote_code": False}


def _load_kwargs(manifest: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """`manifest` is the load manifest ops/common.py's `model_manifest` builds from the spec
    (runtime/engine/provenance.py); a stored record's flag never reaches here."""
    if "path_or_id" not in manifest:
        raise ValueError(f"model manifest has no 'path_or_id': {manifest!r}")
    kwargs: dict[str, Any] = {}
    if manifest.get("revision") is not None:
        kwargs["revision"] = manifest["revision"]
    # Always said, False too: left unset, transformers asks at the terminal whether to run a
    # model's code, and a "y" there would run code the spec does not trust.
    kwargs["trust_remote_code"] = manifest.get("trust_remote_code", False) is True
    return manifest["path_or_id"], kwargs


def load_tokenizer(manifest: dict[str, Any]):
    """The manifest's tokenizer through `AutoTokenizer`."""
    from transformers import AutoTokenizer

    path_or_id, kwargs = _load_kwargs(manifest)
    return _from_pretrained(AutoTokenizer, path_or_id, **kwargs)


def _from_pretrained(auto_class, path_or_id: str, **kwargs: Any):
    """`auto_class.from_pretrained`, whose refusals become one `ModelError` line: no model
    there, code in it the spec does not trust, a head or weights of another shape. They are
    the model's, not a bug's; the original error stays attached as the cause."""
    try:
        return auto_class.from_pretrained(path_or_id, **kwargs)
    except (OSError, ValueError, RuntimeError) as error:
        import torch

        if isinstance(error, torch.OutOfMemoryError):
            raise  # the machine's, not the model's
        said = " ".join(line.strip() for line in str(error).splitlines() if line.strip()) or type(error).__name__
        raise ModelError(f"model {path_or_id} does not load as {auto_class.__name__}: {said}") from error


def load_model(manifest: dict[str, Any], auto_class, **model_kwargs: Any):
    """The manifest's model through `auto_class` (e.g. AutoModelForSequenceClassification).

    `model_kwargs` go to `from_pretrained` (e.g. num_labels); they may not override the
    manifest's revision or trust_remote_code. A trained checkpoint that shares unchanged tensors
    with its base (models/shared_weights.py) is completed from the verified shared files.
    """
    path_or_id, kwargs = _load_kwargs(manifest)
    if clash := {"revision", "trust_remote_code", "use_safetensors"} & set(model_kwargs):
        raise ValueError(f"load_model: {', '.join(sorted(clash))} come from the manifest only")
    local = Path(path_or_id)
    if not (local.is_dir() and any(local.glob("*.safetensors*"))):
        return _from_pretrained(auto_class, path_or_id, **kwargs, **model_kwargs)
    # Weights in the store (trained checkpoints, converted and tiny models) are safetensors:
    # never let a pickled `pytorch_model.bin` placed beside them be loaded instead.
    from xexp.runtime.learning.models.shared_weights import fill_shared

    loaded = _from_pretrained(auto_class, path_or_id, use_safetensors=True, **kwargs, **model_kwargs)
    model, info = loaded if model_kwargs.get("output_loading_info") else (loaded, None)
    filled = fill_shared(model, local)
    if info is None:
        return model
    # Tensors filled from the store were missing from the file, not from the model.
    return model, {**info, "missing_keys": set(info["missing_keys"]) - filled}
