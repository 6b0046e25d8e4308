"""word_attack against a real small victim, with a real small masked LM trained here.

The MLM is a one-layer BERT with a word-level vocabulary, trained for a few seconds on XNLI
English dev sentences (held apart from the attacked ones): small, but its fillers depend on the
context, which is what the attack needs from it. The victim is test_attacks' n-gram NLI model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from test_attacks import CountingModel, LABELS, _rows, check_records, train_model
from word_mlm import train_word_mlm
from xexp.runtime.robustness.attacks import run_attack, summarize
from xexp.runtime.robustness.attacks.word import acceptable, replaceable, scripts
from xexp.runtime.robustness.perturbations.text import words


def test_constraints_keep_numbers_names_and_scripts():
    assert not replaceable("1999", "In ")
    assert not replaceable("NASA", "The ")
    assert not replaceable("Paris", "He went to ")
    assert replaceable("Paris", "")  # first word: capitalised by position, not a name
    assert replaceable("house", "The ")
    assert replaceable("घर", "यह ")
    assert scripts("घर") == {"DEVANAGARI"} and scripts("dom") == {"LATIN"}
    assert acceptable("home", "house")
    assert not acceptable("House", "house")  # the word itself
    assert not acceptable("घर", "house")  # another script
    assert not acceptable("ho-me", "house") and not acceptable("h0me", "house")
    assert not acceptable("", "house")


@pytest.fixture(scope="module")
def mlm(tmp_path_factory) -> Path:
    rows = _rows("xnli/dev.en.jsonl", 300, 1200)  # held apart from the attacked rows (0-60)
    sentences = [r[k] for r in rows for k in ("premise", "hypothesis")]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return train_word_mlm(sentences, tmp_path_factory.mktemp("mlm"))
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def victim():
    return train_model(_rows("mnli/dev_matched.jsonl", 0, 400))


@pytest.fixture(scope="module")
def examples() -> list[dict]:
    return _rows("xnli/dev.en.jsonl", 0, 40)


def word_attack(params, examples, model, mlm, *, seed=1, **kw):
    return run_attack("word_attack", {"mlm": "mlm", **params}, examples, lang="en", field="hypothesis",
                      predict_proba=model, label_names=LABELS, seed=seed, models={"mlm": str(mlm)}, **kw)


def test_word_attack_swaps_whole_words_the_mlm_knows(victim, examples, mlm):
    from transformers import AutoTokenizer

    vocab = set(AutoTokenizer.from_pretrained(mlm).get_vocab())
    model = CountingModel(victim)
    records = word_attack({"max_words": 3, "max_queries": 60}, examples, model, mlm)
    check_records(records, examples, model, max_words=3, max_queries=60)
    summary = summarize(records)
    assert summary["attack_success_rate"] and summary["attack_success_rate"] > 0.2, summary
    swapped = 0
    for record, example in zip(records, examples):
        clean, adv = words(example["hypothesis"], "en"), words(record["adv_hypothesis"], "en")
        assert len(clean) == len(adv)  # a word for a word, no stray pieces
        for old, new in zip(clean, adv):
            if old.text == new.text:
                continue
            swapped += 1
            assert new.text.lower() in vocab and new.text.isalpha()  # a whole word from the MLM
            assert replaceable(old.text, "") or old.text[:1].islower()
            assert not any(ch.isdigit() for ch in old.text)
    assert swapped > 0


def test_word_attack_is_deterministic_and_independent_of_batching(victim, examples, mlm):
    first = word_attack({"max_queries": 40}, examples[:20], CountingModel(victim), mlm)
    again = word_attack({"max_queries": 40}, examples[:20], CountingModel(victim), mlm, max_batch=5)
    assert [r["adv_hypothesis"] for r in first] == [r["adv_hypothesis"] for r in again]
    assert [r["status"] for r in first] == [r["status"] for r in again]


def test_encoder_similarity_threshold_filters_candidates(victim, examples, mlm):
    # the MLM's own encoder, mean-pooled, stands in for a sentence encoder
    tools = {"mlm": str(mlm), "encoder": str(mlm)}
    run = lambda similarity: run_attack(  # noqa: E731
        "word_attack", {"mlm": "mlm", "encoder": "e", "similarity": similarity, "max_queries": 40},
        examples[:20], lang="en", field="hypothesis", predict_proba=CountingModel(victim),
        label_names=LABELS, seed=1, models=tools)
    without = word_attack({"max_queries": 40}, examples[:20], CountingModel(victim), mlm)
    anything = run(-1.0)
    strict = run(1.0)
    # a threshold no candidate can fail changes nothing; one no swap can meet leaves the text as is
    assert [r["adv_hypothesis"] for r in anything] == [r["adv_hypothesis"] for r in without]
    assert all(r["words_changed"] == 0 for r in strict)
    assert any(r["words_changed"] > 0 for r in anything)
    assert np.mean([r["queries"] for r in strict]) < np.mean([r["queries"] for r in anything])
