"""XTREME's full PAN-X (40) and UD POS (33) language lists (issue 24, item 4): every code is known
with its script, character noise edits each new script with its own letters, and the
perturbations that declare languages apply exactly where they declared. Sentences are our own."""

from __future__ import annotations

import pytest

from xexp.compiler import compile_text
from xexp.compiler.languages import KNOWN_LANGUAGES, PANX_LANGUAGES, UDPOS_LANGUAGES, script_of
from xexp.runtime.robustness import perturbations as P
from xexp.runtime.robustness.perturbations.text import graphemes, has_base, script_of_text, words

SENTENCES = {
    "ka": ("Georgian", "მე ყოველ დილით ბაზარში დავდივარ"),
    "ta": ("Tamil", "நான் தினமும் காலையில் சந்தைக்குப் போகிறேன்"),
    "ml": ("Malayalam", "ഞാൻ എല്ലാ ദിവസവും രാവിലെ ചന്തയിൽ പോകുന്നു"),
    "my": ("Myanmar", "ကျွန်တော် နေ့တိုင်း ဈေးသွားတယ်"),
    "kk": ("Cyrillic", "мен күнде таңертең базарға барамын"),
    "mr": ("Devanagari", "मी रोज सकाळी बाजारात जातो"),
    "yo": ("Latin", "mo máa ń lọ sí ọjà ní àárọ̀"),
}


def test_xtremes_lists_are_complete_and_known():
    assert len(PANX_LANGUAGES) == len(set(PANX_LANGUAGES)) == 40
    assert len(UDPOS_LANGUAGES) == len(set(UDPOS_LANGUAGES)) == 33
    assert set(UDPOS_LANGUAGES) - set(PANX_LANGUAGES) == set()  # POS's languages are all PAN-X's too
    assert set(PANX_LANGUAGES) <= KNOWN_LANGUAGES and all(script_of(c) != "Unknown" for c in PANX_LANGUAGES)


@pytest.mark.parametrize("lang", sorted(SENTENCES))
def test_char_noise_draws_letters_of_the_words_own_script(lang):
    script, text = SENTENCES[lang]
    assert script_of(lang) == script_of_text(text) == script
    new: set[str] = set()
    for seed in range(4):
        out = P.apply("char_noise", text, lang=lang, seed=seed, p=0.5, ops="insert|substitute")
        assert out != text and len(words(out, lang)) == len(words(text, lang))
        new |= set(graphemes(out)) - set(graphemes(text))
    assert new
    for cluster in new:
        assert has_base(cluster) and script_of_text(cluster) == script, cluster


def test_a_tagging_target_in_all_40_languages_gets_each_perturbation_where_it_applies():
    spec = f"""experiment panx_all
model m = tiny()
task ewt = token_classification(local("train.conll", format="conll"), train="train")
task panx = token_classification(local("panx.{{lang}}.conll", format="conll"), test="test")
target = panx trained_on ewt in [{' '.join(PANX_LANGUAGES)}]
perturbations {{
  typo   = char_noise(p=0.05)
  nodiac = strip_diacritics() in [ar bg de el es fr hi ru th tr ur vi af et hu yo]
  case   = case_noise(p=0.1) in [en de af et eu hu jv ms tl yo kk]
}}
"""
    graph = compile_text(spec, "panx_all.xexp")[1]
    perturbed = {}
    for node in graph.nodes:
        if node.kind == "perturb":
            perturbed.setdefault(node.labels["perturbation"], set()).add(node.params["language"])
    assert perturbed["typo"] == set(PANX_LANGUAGES)
    assert {"af", "et", "hu", "yo"} <= perturbed["nodiac"]
    assert perturbed["case"] == {"en", "de", "af", "et", "eu", "hu", "jv", "ms", "tl", "yo", "kk"}
