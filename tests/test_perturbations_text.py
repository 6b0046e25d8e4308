"""Script-aware tokenization on real XNLI sentences of all 15 languages, plus property tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import needs
from xexp.compiler.languages import SCRIPTS, XNLI_LANGUAGES
from xexp.runtime.robustness.perturbations.text import Piece, graphemes, script_of_text, tokenize, words



def _sentences(lang: str, n: int = 50) -> list[str]:
    path = needs.data("xnli", f"dev.{lang}.jsonl")
    with path.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for _, line in zip(range(n), handle)]
    return [text for row in rows for text in (row["premise"], row["hypothesis"])]


def _boundaries(text: str) -> set[int]:
    cuts, position = {0}, 0
    for cluster in graphemes(text):
        position += len(cluster)
        cuts.add(position)
    return cuts


def _check_cover(text: str, pieces: list[Piece]) -> None:
    assert "".join(p.text for p in pieces) == text
    cuts = _boundaries(text)
    position = 0
    for piece in pieces:
        assert piece.start == position and piece.end == piece.start + len(piece.text)
        assert text[piece.start:piece.end] == piece.text and piece.text
        assert piece.start in cuts and piece.end in cuts, f"piece {piece} splits a grapheme cluster"
        position = piece.end


@pytest.mark.parametrize("lang", XNLI_LANGUAGES)
def test_tokenize_covers_real_sentences_on_grapheme_boundaries(lang):
    sentences = _sentences(lang)
    total_words = 0
    for text in sentences:
        pieces = tokenize(text, lang)
        _check_cover(text, pieces)
        for piece in pieces:
            if piece.is_word:
                assert unicodedata.category(piece.text[0])[0] != "M", f"word starts with a mark: {piece}"
        total_words += len(words(text, lang))
    # every language yields words, and words are not single code points on average
    mean_chars = sum(len(p.text) for t in sentences for p in words(t, lang)) / total_words
    assert total_words > 5 * len(sentences)
    assert mean_chars >= 1.5


@pytest.mark.parametrize("lang", XNLI_LANGUAGES)
def test_script_of_text_matches_the_language(lang):
    scripts = [script_of_text(text) for text in _sentences(lang, 20)]
    assert scripts.count(SCRIPTS[lang]) >= 0.9 * len(scripts)


def test_han_runs_are_two_character_chunks_and_thai_uses_a_dictionary():
    assert [p.text for p in words("我们今天去北京。GDP增长", "zh")] == ["我们", "今天", "去北", "京", "GDP", "增长"]
    thai = "ผมอยู่บ้านและเขาพูดว่า"
    found = [p.text for p in words(thai, "th")]
    assert "".join(found) == thai
    assert {"ผม", "อยู่", "บ้าน"} <= set(found)


def test_thai_segmentation_keeps_dictionary_words_whole():
    # From the Thai XNLI dev set: "เมือง" (city) and a transliterated name. The unmaintained
    # newmm-tokenizer package cut this as "เมือ|งอ|อร|์กัสต้า"; pythainlp's newmm does not.
    found = [p.text for p in words("เมืองออร์กัสต้า", "th")]
    assert found[0] == "เมือง" and "".join(found) == "เมืองออร์กัสต้า"


def test_thai_segmentation_writes_nothing_to_the_home_directory(tmp_path):
    # A Ray worker's home may be read-only or shared: segmenting Thai must not create files there.
    code = "from xexp.runtime.robustness.perturbations.text import words; print(len(words('ผมอยู่บ้าน', 'th')))"
    env = {**os.environ, "HOME": str(tmp_path)}
    env.pop("PYTHAINLP_READ_ONLY", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "3"
    assert list(tmp_path.iterdir()) == []


def test_devanagari_and_thai_signs_stay_with_their_base():
    # "किताब" (book): क + ि must stay together; a [\w]+ tokenizer on code points would not care
    for text, lang in (("किताबें पढ़ो", "hi"), ("น้ำแข็ง", "th"), ("Việt Nam", "vi")):
        for piece in tokenize(text, lang):
            assert unicodedata.category(piece.text[0])[0] != "M"
        _check_cover(text, tokenize(text, lang))


def test_apostrophes_and_hyphens_inside_words():
    assert [p.text for p in words("don't l'homme bien-être -x- 'quoted'", "fr")] == [
        "don't", "l'homme", "bien-être", "x", "quoted"]


_MIXED = st.text(
    alphabet=st.sampled_from(
        list("abcé ,.-'") + ["\u0301", "\u0308"]  # Latin + combining accents
        + list("कखगमि्ा ") + list("กขคเ่้ัา ") + list("我们北京。") + list("اب ً") + ["\u200d"]
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(_MIXED, st.sampled_from(XNLI_LANGUAGES))
def test_tokenize_property_exact_cover(text, lang):
    _check_cover(text, tokenize(text, lang))
