"""Trained checkpoints that keep only what training changed.

A fine-tuned encoder with frozen embeddings leaves most of its bytes untouched (multilingual-e5
-small: 96M of its 118M parameters are the word embeddings). Writing them again for every
training made each checkpoint ~465 MiB. Instead, a tensor that is bit-identical to one in the
weights file of the store node the training started from (the `model` node, or, for a
training on top of an intermediate one, the file that one shares in turn) is not written: the
checkpoint's `shared_weights.json` names that node (kind, key, file), the file's sha256 and
which tensors come from it.

Loading reads the checkpoint's own `model.safetensors` as usual (the shared tensors are
reported missing), then `fill_shared` checks every shared file's sha256 before reading it and
copies the shared tensors in. Shared files are found through the store layout
(`<root>/<kind>/<key>/...`, the checkpoint being `<root>/train/<key>/checkpoint`), so a store
can be moved or mounted elsewhere as a whole. `xexp gc` keeps the shared nodes alive through
the `shared_from` entry of the training's manifest. Everything is safetensors: no pickle.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from xexp.errors import ModelError

SHARED_FILE = "shared_weights.json"
WEIGHTS_FILE = "model.safetensors"
FORMAT = "xexp-shared-weights/1"


class SharedWeightsError(ModelError):
    """A shared weights file is missing or no longer the one the checkpoint was made with.
    What to do: run the training again (`xexp run SPEC --force train`)."""


def store_root_of_checkpoint(checkpoint_dir: Path) -> Path:
    """`<root>` of `<root>/train/<key>/checkpoint`."""
    return Path(checkpoint_dir).resolve().parents[2]


def sources_of(base: dict[str, Any]) -> list[dict[str, Any]]:
    """Weight files in the store that a training from `base` may share tensors with.

    `base["origin"]` (kind, key, dir of the store node the base model is) comes from
    ops/common.model_manifest; a base from outside the store (a hub id, a path) shares nothing.
    Each source: kind, key, path (inside that node's dir), file (absolute), sha256, and `names`,
    the base model's tensor name -> name in the file.
    """
    from safetensors import safe_open

    from xexp.runtime.engine.store import sha256_file

    origin = base.get("origin")
    if not origin:
        return []
    model_dir = Path(base["path_or_id"])
    sources = []
    own = model_dir / WEIGHTS_FILE
    if own.is_file():
        with safe_open(str(own), framework="pt") as handle:
            names = {name: name for name in handle.keys()}
        sources.append({"kind": origin["kind"], "key": origin["key"],
                        "path": own.relative_to(origin["dir"]).as_posix(), "file": own,
                        "sha256": sha256_file(own), "names": names})
    for shared in _read_sidecar(model_dir):
        file = _resolve(model_dir, shared)
        sources.append({**shared, "file": file, "names": dict(shared["tensors"])})
    return sources


def save_trained(model, target: Path, base: dict[str, Any]) -> list[dict[str, str]]:
    """Write `target/model.safetensors` with the tensors not found unchanged in `base`'s store
    files, and `target/shared_weights.json` for the others. Returns the store nodes shared
    from, as [{"kind", "key"}] (for the training's manifest)."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file

    state = model.state_dict()
    aliases = tied_aliases(state)
    state = {name: tensor for name, tensor in state.items() if name not in aliases}
    prefix = f"{model.base_model_prefix}."
    shared: list[dict[str, Any]] = []
    taken: set[str] = set()
    for source in sources_of(base):
        tensors = {}
        with safe_open(str(source["file"]), framework="pt") as handle:
            available = set(handle.keys())
            for name, tensor in state.items():
                if name in taken:
                    continue
                for candidate in (name, name.removeprefix(prefix)):
                    in_file = source["names"].get(candidate)
                    if in_file is None or in_file not in available:
                        continue
                    stored = handle.get_tensor(in_file)
                    if stored.dtype == tensor.dtype and torch.equal(stored, tensor.detach().cpu()):
                        tensors[name] = in_file
                        taken.add(name)
                    break
        if tensors:
            shared.append({"kind": source["kind"], "key": source["key"], "path": source["path"],
                           "sha256": source["sha256"], "tensors": dict(sorted(tensors.items()))})
    target.mkdir(parents=True, exist_ok=True)
    kept = {name: tensor.detach().to("cpu", copy=True).contiguous()
            for name, tensor in state.items() if name not in taken}
    save_file(kept, str(target / WEIGHTS_FILE), metadata={"format": "pt"})
    model.config.save_pretrained(str(target))
    if shared:
        (target / SHARED_FILE).write_text(json.dumps({"format": FORMAT, "sources": shared}, indent=1))
    return [{"kind": s["kind"], "key": s["key"]} for s in shared]


def tied_aliases(state: dict) -> set[str]:
    """Names under which a state dict holds a tensor it already holds under an earlier name: a
    tied weight (an MLM decoder *is* the input embeddings). Written once, under the first name;
    loading ties the other again (transformers' tie_weights), so the checkpoint is the same model
    at half the size for e5-small (its embeddings are 96M of its 118M parameters)."""
    seen: set[tuple] = set()
    aliases: set[str] = set()
    for name, tensor in state.items():
        if tensor.numel() == 0:
            continue
        key = (tensor.data_ptr(), tensor.dtype, tuple(tensor.shape), tuple(tensor.stride()))
        if key in seen:
            aliases.add(name)
        seen.add(key)
    return aliases


def fill_shared(model, checkpoint_dir: Path) -> set[str]:
    """Put the shared tensors of `checkpoint_dir` into `model` (loaded from that checkpoint
    with those tensors missing); nothing to do for a checkpoint that shares nothing. Returns
    the names (in `model`) of the tensors filled."""
    import torch
    from safetensors import safe_open

    checkpoint_dir = Path(checkpoint_dir)
    own = model.state_dict()
    prefix = f"{model.base_model_prefix}."
    filled: set[str] = set()
    with torch.no_grad():
        for source in _read_sidecar(checkpoint_dir):
            file = _resolve(checkpoint_dir, source)
            with safe_open(str(file), framework="pt") as handle:
                for name, in_file in source["tensors"].items():
                    target = name if name in own else name.removeprefix(prefix)
                    if target not in own:
                        raise SharedWeightsError(f"{checkpoint_dir / SHARED_FILE}: the model has no "
                                                 f"tensor {name!r}")
                    own[target].copy_(handle.get_tensor(in_file))
                    filled.add(target)
    return filled


def _read_sidecar(model_dir: Path) -> list[dict[str, Any]]:
    path = model_dir / SHARED_FILE
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        sources = data["sources"]
        if data.get("format") != FORMAT or not all(
                isinstance(s, dict) and {"kind", "key", "path", "sha256", "tensors"} <= set(s) for s in sources):
            raise ValueError("unexpected content")
    except (ValueError, KeyError, TypeError) as error:
        raise SharedWeightsError(f"{path} is not a valid shared weights list ({error})") from None
    return sources


def _resolve(checkpoint_dir: Path, source: dict[str, Any]) -> Path:
    """The shared file in the store, checked against its sha256 before anyone reads it."""
    from xexp.runtime.engine.store import sha256_file

    for part in (source["kind"], source["key"], *Path(source["path"]).parts):
        if part in ("", ".", "..") or "/" in part or "\\" in part:
            raise SharedWeightsError(f"{checkpoint_dir / SHARED_FILE}: bad path {source['path']!r}")
    file = store_root_of_checkpoint(checkpoint_dir) / source["kind"] / source["key"] / source["path"]
    if not file.is_file():
        raise SharedWeightsError(
            f"{checkpoint_dir} shares tensors with {source['kind']}/{source['key'][:12]}, whose "
            f"{source['path']} is missing from the store (removed by hand?); redo the training")
    if sha256_file(file) != source["sha256"]:
        raise SharedWeightsError(
            f"{checkpoint_dir} shares tensors with {file}, which changed since (sha256 mismatch); "
            "redo the training")
    return file
