"""What the estimate knows about a model without loading it: its parameter count, and the
profiles `xexp profile` measured (kept as JSON in the user cache, never pickled).

Parameter counts (of the layers, which is what a token costs): a tiny model's from its shape;
the packaged encoder's and the hub's usual multilingual encoders' from their configs' shapes;
any other hub model from a config.json already in the local Hugging Face cache, else unknown.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

#: Shapes (layers, hidden, intermediate, vocabulary) of the checkpoints a spec most often names,
#: from their config.json files.
KNOWN_SHAPES = {
    "FacebookAI/xlm-roberta-large": (24, 1024, 4096, 250002), "xlm-roberta-large": (24, 1024, 4096, 250002),
    "FacebookAI/xlm-roberta-base": (12, 768, 3072, 250002), "xlm-roberta-base": (12, 768, 3072, 250002),
    "google-bert/bert-base-multilingual-cased": (12, 768, 3072, 119547),
    "bert-base-multilingual-cased": (12, 768, 3072, 119547),
    "microsoft/mdeberta-v3-base": (12, 768, 3072, 251000),
    "intfloat/multilingual-e5-small": (12, 384, 1536, 250037), "intfloat/multilingual-e5-base": (12, 768, 3072, 250002),
    "intfloat/multilingual-e5-large": (24, 1024, 4096, 250002),
    "packaged:multilingual-e5-small": (12, 384, 1536, 250037),
}


def compute_parameters(layers: int, hidden: int, intermediate: int) -> float:
    """The parameters a token's forward pass multiplies by: a BERT-style encoder's layers, per
    layer attention (4 h² + 4 h), feed-forward (2 h i + h + i) and two layer norms (4 h). The
    embeddings are looked up, not multiplied (a 250k-word vocabulary is most of a small
    multilingual model's weights and costs almost nothing per token), so they are left out."""
    per_layer = 4 * hidden * hidden + 4 * hidden + 2 * hidden * intermediate + hidden + intermediate + 4 * hidden
    return float(layers * per_layer)


def parameter_count(source: dict[str, Any]) -> float | None:
    """The compute parameters (`compute_parameters`) of a model source, None when unknown."""
    kind = source.get("source")
    if kind == "tiny":  # its shape with the declared defaults (compiler/registry/sources.py)
        from xexp.compiler.registry.sources import TinyModel

        try:
            tiny = TinyModel.model_validate({k: v for k, v in source.items() if k != "source"})
        except ValueError:
            return None
        return compute_parameters(tiny.layers, tiny.hidden, tiny.intermediate)
    shape = None
    if kind == "packaged":
        shape = KNOWN_SHAPES.get(f"packaged:{source.get('name')}")
    elif kind == "hf":
        ident = str(source.get("id"))
        shape = KNOWN_SHAPES.get(ident) or _cached_config_shape(ident)
    return compute_parameters(*shape[:3]) if shape else None


def _cached_config_shape(ident: str) -> tuple[int, int, int, int] | None:
    """From a config.json of `ident` already in the Hugging Face cache (no network)."""
    home = Path(os.environ.get("HF_HUB_CACHE") or Path(os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface") / "hub")
    folder = home / ("models--" + ident.replace("/", "--")) / "snapshots"
    for config in sorted(folder.glob("*/config.json")) if folder.is_dir() else []:
        try:
            data = json.loads(config.read_text(encoding="utf-8"))
            return (int(data["num_hidden_layers"]), int(data["hidden_size"]), int(data["intermediate_size"]),
                    int(data["vocab_size"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return None


# --- profiles ---------------------------------------------------------------------------------
def profiles_dir() -> Path:
    return Path(os.environ.get("XEXP_CACHE") or Path.home() / ".cache" / "xexp") / "profiles"


def profile_path(model: str, device: str) -> Path:
    import hashlib

    digest = hashlib.sha256(f"{model}\0{device}".encode()).hexdigest()[:16]
    return profiles_dir() / f"{device}-{digest}.json"


def read_profiles() -> dict[tuple[str, str], dict]:
    """(model label, device class) -> the profile `xexp profile` stored (bad files are skipped)."""
    found: dict[tuple[str, str], dict] = {}
    folder = profiles_dir()
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            key = (str(data["model"]), str(data["device"]))
            float(data["train_s_per_token"]), float(data["eval_s_per_token"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        found[key] = data
    return found


def write_profile(profile: dict) -> Path:
    path = profile_path(profile["model"], profile["device"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(profile, indent=2, sort_keys=True), encoding="utf-8")
    tmp.replace(path)
    return path
