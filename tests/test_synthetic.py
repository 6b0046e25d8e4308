"""The synthetic data source: deterministic, parallel across languages, balanced, learnable."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest

from xexp.runtime.data.synthetic import FAMILIES, bilingual_lexicon, generate, languages
from xexp.runtime.data.synthetic.families import FAMILIES as FAMILY_BUILDERS
from xexp.runtime.data.synthetic.nli import nli_items
from xexp.runtime.data.synthetic.realise import GENERAL, Relation, State
from xexp.runtime.data.synthetic.vocabulary import CONTENT_WORDS

NLI = {"source": "synthetic", "task": "nli", "size": 600, "seed": 0, "families": None}
MC = {"source": "synthetic", "task": "multiple_choice", "size": 200, "seed": 0}
LABELS = {"entailment", "neutral", "contradiction"}
FINAL = {"zh": ("。",), "hi": ("।",), "ar": (".", "؟")}


def nli(split="train", language=None, **overrides):
    return generate({**NLI, **overrides}, split=split, language=language)


def test_at_least_eight_languages_with_two_non_latin_scripts():
    langs = languages()
    assert {"en", "de", "es", "fr", "ru", "hi", "zh", "ar"} <= set(langs)


def test_same_parameters_give_identical_data():
    assert nli() == nli()
    assert generate(MC, split="dev", language="en") == generate(MC, split="dev", language="en")


def test_different_seeds_and_splits_give_different_data():
    base = [(r["premise"], r["hypothesis"]) for r in nli()]
    assert base != [(r["premise"], r["hypothesis"]) for r in nli(seed=1)]
    assert base != [(r["premise"], r["hypothesis"]) for r in nli(split="test")]


@pytest.mark.parametrize("language", languages())
def test_rows_are_complete_balanced_and_well_punctuated(language):
    rows = nli(language=language)
    assert len(rows) == 600
    assert Counter(r["label"] for r in rows) == {"entailment": 200, "neutral": 200, "contradiction": 200}
    assert len({r["id"] for r in rows}) == 600
    endings = FINAL.get(language, (".",))
    for row in rows:
        assert set(row) == {"id", "premise", "hypothesis", "label"}
        for field in ("premise", "hypothesis"):
            text = row[field]
            assert text.strip() == text and text, (language, row)
            assert "{" not in text and "}" not in text and "  " not in text, (language, row)
            assert text.endswith(endings), (language, row)
            assert text[:-1].rstrip("".join(endings)) == text[:-1], (language, row)  # one stop only
        assert row["premise"] != row["hypothesis"]


def test_labels_balanced_for_other_sizes_and_family_subsets():
    rows = nli(size=9, families=["antonym"])
    assert Counter(r["label"] for r in rows) == {label: 3 for label in LABELS}
    assert Counter(r["label"] for r in nli(size=10)).most_common()[-1][1] == 3  # 4/3/3


def test_languages_are_parallel_translations_of_the_same_items():
    english = nli(split="dev")
    for language in languages():
        other = nli(split="dev", language=language)
        assert [r["id"] for r in other] == [r["id"] for r in english]
        assert [r["label"] for r in other] == [r["label"] for r in english]
        if language != "en":
            assert all(o["premise"] != e["premise"] for o, e in zip(other, english))


def test_non_latin_languages_are_written_in_their_script():
    scripts = {"ru": r"[\u0400-\u04FF]", "hi": r"[\u0900-\u097F]", "zh": r"[\u4E00-\u9FFF]",
               "ar": r"[\u0600-\u06FF]"}
    for language, pattern in scripts.items():
        for row in nli(size=60, language=language):
            assert not re.search(r"[A-Za-z]", row["premise"] + row["hypothesis"]), row
            assert re.search(pattern, row["premise"]), row


def _premise_cores(split):
    """The cores (subject + specific content) the premises of one split are about."""
    cores = set()
    for _family, _label, (premise, _hypothesis) in nli_items(600, 0, split, list(FAMILIES)):
        if isinstance(premise, Relation):
            cores.add((premise.subject, premise.obj, premise.verb))
        elif isinstance(premise, State):
            cores.add((premise.subject, premise.adjective))
        elif premise.obj != GENERAL:  # "plays an instrument" is shared by every core of a category
            cores.add((premise.subject, premise.obj))
    return cores


def test_train_and_test_items_are_disjoint():
    train = {(r["premise"], r["hypothesis"]) for r in nli("train")}
    test = {(r["premise"], r["hypothesis"]) for r in nli("test")}
    assert not train & test
    train_cores, test_cores = _premise_cores("train"), _premise_cores("test")
    assert len(test_cores) > 50
    assert not train_cores & test_cores


def test_every_family_is_present_and_families_select_a_subset():
    rows = nli(size=300, families=["overlap"])
    assert all(" watching " in r["premise"] or " waiting " in r["premise"] for r in rows)
    assert set(FAMILIES) == {"generalisation", "negation", "location", "antonym", "overlap"}
    families_seen = Counter(family for family, _, _ in nli_items(600, 0, "train", list(FAMILIES)))
    assert families_seen == {family: 120 for family in FAMILIES}
    for family in FAMILY_BUILDERS:
        labels = Counter(r["label"] for r in nli(size=30, families=[family]))
        assert labels == {label: 10 for label in LABELS}, family


def test_unknown_family_language_task_and_params_are_clear_errors():
    with pytest.raises(ValueError, match="unsupported language 'xx'.*en, de, es, fr, ru, hi, zh, ar"):
        nli(language="xx")
    with pytest.raises(ValueError, match="unknown family.*'rhyme'.*generalisation"):
        nli(families=["rhyme"])
    with pytest.raises(ValueError, match="unsupported task 'qa'"):
        generate({"task": "qa"}, split="train", language=None)
    with pytest.raises(ValueError, match="unknown parameter"):
        generate({"task": "nli", "sise": 3}, split="train", language=None)
    with pytest.raises(ValueError, match="size"):
        nli(size=0)
    with pytest.raises(ValueError, match="unsupported language 'xx'"):
        bilingual_lexicon("xx")


@pytest.mark.parametrize("language", [lang for lang in languages() if lang != "en"])
def test_lexicon_covers_the_content_vocabulary_and_matches_the_text(language):
    lexicon = bilingual_lexicon(language)
    assert set(lexicon) == set(CONTENT_WORDS)
    assert all(lexicon[w] and all(t.strip() for t in lexicon[w]) for w in lexicon)
    text = " ".join(r["premise"] + " " + r["hypothesis"] for r in nli(size=900, language=language))
    text += " ".join(e for r in generate(MC, split="train", language=language) for e in r["endings"])
    present = [w for w, forms in lexicon.items() if any(f in text for f in forms)]
    assert len(present) >= 0.85 * len(lexicon), sorted(set(lexicon) - set(present))


@pytest.mark.parametrize("language", ["en", "hi", "zh"])
def test_multiple_choice_rows(language):
    rows = generate(MC, split="train", language=language)
    assert len(rows) == 200
    counts = Counter(r["label"] for r in rows)
    assert set(counts) == {0, 1, 2, 3} and min(counts.values()) > 25
    for row in rows:
        assert set(row) == {"id", "context", "endings", "label"}
        assert len(row["endings"]) == 4 and len(set(row["endings"])) == 4
        assert all(e and "{" not in e for e in row["endings"] + [row["context"]])
    assert [r["id"] for r in rows] == [r["id"] for r in generate(MC, split="train", language="en")]


def _bag_of_words(rows, vocabulary=None):
    tokens = [[f"p:{w}" for w in r["premise"].lower().rstrip(".").split()]
              + [f"h:{w}" for w in r["hypothesis"].lower().rstrip(".").split()]
              + [f"x:{w}" for w in set(r["hypothesis"].lower().rstrip(".").split())
                 - set(r["premise"].lower().rstrip(".").split())]
              for r in rows]
    if vocabulary is None:
        vocabulary = {t: i for i, t in enumerate(sorted({t for ts in tokens for t in ts}))}
    features = np.zeros((len(rows), len(vocabulary) + 1))
    features[:, -1] = 1.0
    for i, ts in enumerate(tokens):
        for t in ts:
            if t in vocabulary:
                features[i, vocabulary[t]] = 1.0
    return features, vocabulary


def test_english_nli_is_learnable_by_a_bag_of_words_model():
    order = ["entailment", "neutral", "contradiction"]
    train, test = nli("train"), nli("test")
    x_train, vocabulary = _bag_of_words(train)
    x_test, _ = _bag_of_words(test, vocabulary)
    y_train = np.array([order.index(r["label"]) for r in train])
    y_test = np.array([order.index(r["label"]) for r in test])
    weights = np.zeros((x_train.shape[1], 3))
    onehot = np.eye(3)[y_train]
    for _ in range(300):
        logits = x_train @ weights
        probs = np.exp(logits - logits.max(1, keepdims=True))
        probs /= probs.sum(1, keepdims=True)
        weights -= 0.5 * (x_train.T @ (probs - onehot) / len(train) + 1e-3 * weights)
    accuracy = float(((x_test @ weights).argmax(1) == y_test).mean())
    print(f"bag-of-words test accuracy: {accuracy:.3f}")
    assert accuracy > 0.5
