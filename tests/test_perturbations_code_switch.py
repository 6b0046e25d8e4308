"""Code-switching with the real MUSE dictionaries (and the demo's synthetic lexicon)."""

from __future__ import annotations

import json
import math
import unicodedata
from pathlib import Path

import pytest

import needs
from xexp.runtime.robustness import perturbations as P
from xexp.runtime.robustness.perturbations import lexicon as lexicons
from xexp.runtime.robustness.perturbations.text import graphemes, script_of_text, words

MUSE_LANGUAGES = ("ar", "bg", "de", "el", "es", "fr", "hi", "ru", "th", "tr", "vi", "zh")


def _data(*parts: str) -> Path:
    return needs.data(*parts)


def _sentences(lang: str, n: int = 50) -> list[str]:
    unique: dict[str, None] = {}
    with _data("xnli", f"dev.{lang}.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            unique.setdefault(row["premise"], None)
            unique.setdefault(row["hypothesis"], None)
            if len(unique) >= n:
                break
    return list(unique)[:n]


def _muse(lang: str) -> dict:
    return {"kind": "muse", "path": str(_data("muse", f"en-{lang}.txt"))}


@pytest.mark.parametrize("lang", MUSE_LANGUAGES)
def test_foreign_text_switches_into_english_at_rate_p(lang):
    texts = _sentences(lang)
    params = {"p": 0.5, "lexicon": _muse(lang)}
    changed = units = 0
    english_words = 0
    for text in texts:
        result = P.outcome("code_switch", text, lang=lang, seed=2, **params)
        assert result == P.outcome("code_switch", text, lang=lang, seed=2, **params)
        assert result.changed <= result.units
        changed += result.changed
        units += result.units
        english_words += sum(script_of_text(w.text) == "Latin" for w in words(result.text, lang)) - sum(
            script_of_text(w.text) == "Latin" for w in words(text, lang))
        for cluster in graphemes(result.text):
            assert unicodedata.category(cluster[0])[0] != "M" or cluster in text
    assert units >= 30, f"the en-{lang} lexicon knows almost no word of {lang} text ({units})"
    assert abs(changed / units - 0.5) <= 4 * math.sqrt(0.25 / units) + 0.01
    if lang not in ("de", "es", "fr", "tr", "vi"):  # Latin-script languages add no new script
        assert english_words >= changed * 0.9, "switched words should be English (Latin script)"


@pytest.mark.parametrize("lang", ["de", "hi", "th", "zh", "ru"])
def test_english_text_switches_into_the_target_language(lang):
    texts = _sentences("en", 30)
    seen_target = 0
    for text in texts:
        out = P.apply("code_switch", text, lang="en", seed=0, p=0.5, to=lang, lexicon=_muse(lang))
        seen_target += out != text
        if lang != "de":
            assert out == text or any(script_of_text(w.text) not in ("Latin", "Unknown") for w in words(out, "en"))
    assert seen_target >= 0.8 * len(texts)


def test_a_switched_word_is_a_lexicon_translation():
    text = "the house is big"
    out = P.apply("code_switch", text, lang="en", p=1.0, to="de", lexicon=_muse("de"))
    table = lexicons.english_to(_muse("de"), "de")
    for before, after in zip(text.split(), out.split()):
        assert after == before or after in table[before]
    assert out != text


def test_wrong_direction_or_file_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="English text needs to=<language>"):
        P.apply("code_switch", "the house", lang="en", lexicon=_muse("de"))
    with pytest.raises(ValueError, match="is English-de, but the text needs English-fr"):
        P.apply("code_switch", "la maison", lang="fr", lexicon=_muse("de"))
    # `to` is for English rows; French rows still switch into English
    assert P.apply("code_switch", "la maison", lang="fr", to="de", p=1.0, lexicon=_muse("fr")) == \
        P.apply("code_switch", "la maison", lang="fr", p=1.0, lexicon=_muse("fr")) != "la maison"
    with pytest.raises(ValueError, match="cannot read MUSE lexicon"):
        P.apply("code_switch", "habari yako", lang="sw", lexicon={"kind": "muse", "path": str(tmp_path / "en-sw.txt")})
    bad = tmp_path / "en-xx.txt"
    bad.write_text("house\tHaus\nbroken\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"en-xx.txt:2: expected 'english<TAB>foreign'"):
        P.apply("code_switch", "Haus", lang="xx", lexicon={"kind": "muse", "path": str(bad)})
    with pytest.raises(ValueError, match="needs a 'path'"):
        P.apply("code_switch", "Haus", lang="de", lexicon={"kind": "muse"})


def test_lexicons_are_loaded_once_per_process():
    ref = _muse("es")
    P.apply("code_switch", "la casa es grande", lang="es", lexicon=ref)
    loads = lexicons.load_muse.cache_info().misses
    for _ in range(3):
        P.apply("code_switch", "el perro es pequeño", lang="es", seed=_, lexicon=ref)
    assert lexicons.load_muse.cache_info().misses == loads


def test_synthetic_lexicon_from_the_demo_generator():
    from xexp.runtime.data.synthetic import bilingual_lexicon

    german = bilingual_lexicon("de")
    pairs = [(en, de[0]) for en, de in german.items() if de and " " not in de[0]][:5]
    assert pairs, "the synthetic generator returned an empty lexicon"
    text = " ".join(de for _, de in pairs)
    out = P.apply("code_switch", text, lang="de", p=1.0, lexicon={"kind": "synthetic"})
    for (english, foreign), word in zip(pairs, out.split(" ")):
        # the word becomes an English word whose translations include it
        assert word == foreign or foreign in german.get(word.lower(), ()) or word.lower() == english


def test_capitalised_lexicon_entries_are_found():
    """German nouns are capitalised in lexicons ("Mann"): a lower-cased lookup alone misses them."""
    from xexp.runtime.robustness.perturbations import apply

    out = apply("code_switch", "Der Mann spielt Gitarre.", lang="de", seed=1, p=1.0,
                lexicon={"kind": "synthetic"})
    assert "Mann" not in out and "Gitarre" not in out, out
