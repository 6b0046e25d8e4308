"""A tiny randomly initialised BERT with a byte-level tokenizer, for fast tests.

Why byte-level: it needs no training and covers every script (any text is UTF-8 bytes), so the
same tiny model serves English, Hindi, Chinese and Arabic test data. The `tokenizers` ByteLevel
pre-tokenizer keeps an alignment from every byte symbol back to the character it came from, so
`return_offsets_mapping=True` reports *character* offsets into the original Python string: all
byte tokens of one multi-byte character carry that character's (start, end). That is exactly
what extractive QA needs to map token spans back to answer text.
"""

from __future__ import annotations

import json
from pathlib import Path

from xexp.errors import SpecValueError

SPECIAL_TOKENS: tuple[str, ...] = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
PAD, UNK, CLS, SEP, MASK = SPECIAL_TOKENS


def byte_level_tokenizer():
    """The untrained byte-level `tokenizers.Tokenizer`: 5 specials + 256 byte symbols."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

    byte_symbols = pre_tokenizers.ByteLevel.alphabet()  # the 256 printable stand-ins for bytes
    vocab = {token: i for i, token in enumerate(SPECIAL_TOKENS)}
    for symbol in sorted(byte_symbols):
        vocab[symbol] = len(vocab)
    # A BPE with no merges splits every pre-token into its single byte symbols.
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token=UNK))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    cls_id, sep_id = vocab[CLS], vocab[SEP]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{CLS}:0 $A:0 {SEP}:0",
        pair=f"{CLS}:0 $A:0 {SEP}:0 $B:1 {SEP}:1",
        special_tokens=[(CLS, cls_id), (SEP, sep_id)],
    )
    tokenizer.add_special_tokens(list(SPECIAL_TOKENS))
    return tokenizer


def _save_tokenizer(out_dir: Path, max_positions: int) -> int:
    from transformers import PreTrainedTokenizerFast

    raw = byte_level_tokenizer()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        pad_token=PAD, unk_token=UNK, cls_token=CLS, sep_token=SEP, mask_token=MASK,
        model_max_length=max_positions,
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],
    )
    fast.save_pretrained(str(out_dir))
    return raw.get_vocab_size(with_added_tokens=True)


def build_tiny(
    out_dir: Path,
    *,
    layers: int = 2,
    hidden: int = 64,
    heads: int = 2,
    intermediate: int = 128,
    max_positions: int = 512,
    seed: int = 0,
    vocab_size: int | None = None,
) -> Path:
    """Write a Hugging Face directory (config, safetensors weights, tokenizer) of a tiny BERT.

    The weights are a pure function of the arguments: initialisation runs under a forked,
    seeded torch RNG, so the caller's global random state is neither used nor disturbed.
    ``vocab_size`` pads the embedding matrix past the tokenizer's 261 symbols (bench/
    device_check.py: a real encoder's memory, e.g. XLM-R's 250,002 rows; the rows past the
    tokenizer's are never looked up). Not a spec parameter.
    """
    import torch
    from transformers import BertConfig, BertModel

    for name, value in (("layers", layers), ("hidden", hidden), ("heads", heads),
                        ("intermediate", intermediate), ("max_positions", max_positions)):
        if not isinstance(value, int) or value < 1:
            raise SpecValueError(f"build_tiny: {name} must be a positive integer, got {value!r}")
    if hidden % heads:
        raise SpecValueError(f"build_tiny: hidden ({hidden}) must be divisible by heads ({heads})")

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokens = _save_tokenizer(out_dir, max_positions)
    if vocab_size is not None and vocab_size < tokens:
        raise SpecValueError(f"build_tiny: vocab_size ({vocab_size}) is below the tokenizer's {tokens} symbols")
    config = BertConfig(
        vocab_size=vocab_size or tokens,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate,
        max_position_embeddings=max_positions,
        type_vocab_size=2,
        pad_token_id=SPECIAL_TOKENS.index(PAD),
        architectures=["BertModel"],
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = BertModel(config, add_pooling_layer=True)
    model.save_pretrained(str(out_dir))
    (out_dir / "xexp_tiny.json").write_text(json.dumps({
        "layers": layers, "hidden": hidden, "heads": heads, "intermediate": intermediate,
        "max_positions": max_positions, "seed": seed,
    }, indent=2))
    return out_dir
