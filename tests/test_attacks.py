"""Model-aware attacks against a small real model trained here on real NLI data.

The model is a bag of character n-grams (an EmbeddingBag over premise and hypothesis n-grams):
it trains in seconds on a few hundred pairs, beats chance, and — like any real model — can be
fooled by misspellings and translations. Transformers are covered by the end-to-end tests.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pydantic
import pytest
import torch

import needs
from xexp.compiler.registry.base import REGISTRY
from xexp.runtime.robustness.attacks import run_attack, summarize
from xexp.runtime.robustness.attacks.codeswitch import Translator
from xexp.runtime.data.formats import ATTACK_COLUMNS, NLI_LABELS
from xexp.runtime.robustness.perturbations.text import graphemes, words

LABELS = NLI_LABELS


def _data(relative: str) -> Path:
    return needs.data(relative)


def _rows(relative: str, start: int, count: int) -> list[dict]:
    rows = []
    with open(_data(relative), encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            if number >= start + count:
                break
            if number >= start:
                row = json.loads(line)
                rows.append({"id": f"{relative}:{number}", "premise": row["premise"],
                             "hypothesis": row["hypothesis"], "label": row["label"]})
    return rows


def _ngrams(text: str, prefix: str) -> list[str]:
    padded = f" {text.lower()} "
    return [prefix + padded[i:i + n] for n in (1, 2, 3) for i in range(len(padded) - n + 1)]


class CharNgramNLI(torch.nn.Module):
    """Premise and hypothesis as mean-pooled character n-gram embeddings; unseen n-grams vanish."""

    def __init__(self, vocab: dict[str, int], dim: int = 32):
        super().__init__()
        self.vocab = vocab
        self.bag = torch.nn.EmbeddingBag(len(vocab) + 1, dim, mode="mean", padding_idx=0)
        self.out = torch.nn.Linear(2 * dim, len(LABELS))

    def ids(self, text: str, prefix: str) -> torch.Tensor:
        return torch.tensor([self.vocab.get(g, 0) for g in _ngrams(text, prefix)] or [0])

    def forward(self, premises: list[torch.Tensor], hypotheses: list[torch.Tensor]) -> torch.Tensor:
        def pooled(bags):
            offsets = torch.tensor([0] + [len(b) for b in bags[:-1]]).cumsum(0)
            return self.bag(torch.cat(bags), offsets)
        p, h = pooled(premises), pooled(hypotheses)
        return self.out(torch.cat([p * h, h], dim=1))

    @torch.inference_mode()
    def predict_proba(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        logits = self([self.ids(a, "p") for a, _ in pairs], [self.ids(b, "h") for _, b in pairs])
        return torch.softmax(logits, dim=1).numpy()


def train_model(rows: list[dict], epochs: int = 8) -> CharNgramNLI:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny ops: threads only add contention on a shared 2-core machine
    try:
        return _train(rows, epochs)
    finally:
        torch.set_num_threads(threads)


def _train(rows: list[dict], epochs: int) -> CharNgramNLI:
    torch.manual_seed(0)
    vocab: dict[str, int] = {}
    for row in rows:
        for gram in _ngrams(row["premise"], "p") + _ngrams(row["hypothesis"], "h"):
            vocab.setdefault(gram, len(vocab) + 1)
    model = CharNgramNLI(vocab)
    premises = [model.ids(r["premise"], "p") for r in rows]
    hypotheses = [model.ids(r["hypothesis"], "h") for r in rows]
    gold = torch.tensor([LABELS.index(r["label"]) for r in rows])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(epochs):
        for batch in torch.randperm(len(rows)).split(64):
            index = batch.tolist()
            logits = model([premises[i] for i in index], [hypotheses[i] for i in index])
            loss = torch.nn.functional.cross_entropy(logits, gold[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.eval()


class CountingModel:
    """predict_proba that records every batch it is asked, to check the attacks' own counts."""

    def __init__(self, model: CharNgramNLI):
        self.model = model
        self.batches: list[int] = []

    def __call__(self, pairs):
        self.batches.append(len(pairs))
        return self.model.predict_proba(pairs)


@pytest.fixture(scope="module")
def english_model() -> CharNgramNLI:
    return train_model(_rows("mnli/dev_matched.jsonl", 0, 400))


@pytest.fixture(scope="module")
def english_examples() -> list[dict]:
    return _rows("xnli/dev.en.jsonl", 0, 60)


MULTILINGUAL = ("hi", "th", "zh", "ar")


@pytest.fixture(scope="module")
def multilingual_model() -> CharNgramNLI:
    rows = [row for lang in MULTILINGUAL for row in _rows(f"xnli/dev.{lang}.jsonl", 600, 120)]
    return train_model(rows)


def attack(name, params, examples, model, *, lang="en", field="hypothesis", seed=1, **kw):
    return run_attack(name, params, examples, lang=lang, field=field, predict_proba=model,
                      label_names=LABELS, seed=seed, **kw)


def check_records(records, examples, model, *, max_words, max_queries, field="hypothesis"):
    """Every invariant an attack record must satisfy, checked against the model itself."""
    assert len(records) == len(examples)
    for record, example in zip(records, examples):
        assert tuple(record) == ATTACK_COLUMNS
        assert record["id"] == example["id"]
        assert record["gold"] == example["label"]  # the label is never touched
        assert record["correct"] == (record["predicted"] == record["gold"])
        assert record["status"] == ("skipped" if not record["correct"] else record["status"])
        assert 1 <= record["queries"] <= max_queries
        assert 0 <= record["words_changed"] <= min(max_words, record["words_total"])
        assert record["adv_correct"] == (record["adv_predicted"] == record["gold"])
        untouched = {"premise", "hypothesis"} - ({"premise", "hypothesis"} if field == "both" else {field})
        for name in untouched:
            assert record[f"adv_{name}"] == example[name]
        unchanged = (record["adv_premise"], record["adv_hypothesis"]) == (example["premise"], example["hypothesis"])
        assert unchanged == (record["words_changed"] == 0)
        if record["status"] == "skipped":
            assert record["queries"] == 1 and unchanged
        elif record["status"] == "succeeded":
            assert not record["adv_correct"] and not unchanged
        else:
            assert record["adv_correct"]
        # the reported adversarial prediction is what the model really says on the adversarial text
        adv_probs = model.model.predict_proba([(record["adv_premise"], record["adv_hypothesis"])])[0]
        assert LABELS[int(np.argmax(adv_probs))] == record["adv_predicted"]
    assert sum(model.batches) == sum(r["queries"] for r in records)  # every query is counted


def test_char_attack_flips_predictions_within_budget(english_model, english_examples):
    model = CountingModel(english_model)
    records = attack("char_attack", {"max_edits": 3, "max_queries": 60}, english_examples, model)
    check_records(records, english_examples, model, max_words=3, max_queries=60)
    summary = summarize(records)
    assert summary["original_accuracy"] > 1 / 3  # the model is real: better than chance
    assert summary["attack_success_rate"] > 0.3
    assert summary["accuracy_under_attack"] < summary["original_accuracy"]
    # queries are batched across examples: far fewer model calls than examples
    assert len(model.batches) < len(english_examples) / 3
    for record, example in zip(records, english_examples):
        # the edits misspell words in place: no word appears or disappears
        assert len(words(record["adv_hypothesis"], "en")) == len(words(example["hypothesis"], "en"))


@pytest.mark.parametrize("params", [
    {"max_edits": 1, "max_queries": 200, "edit": "swap"},
    {"max_edits": 4, "max_queries": 4, "edit": "mixed"},
    {"max_edits": 2, "max_queries": 30, "edit": "insert", "score": "mask"},
    {"max_edits": 2, "max_queries": 30, "edit": "delete"},
])
def test_char_attack_never_exceeds_its_budget(english_model, english_examples, params):
    model = CountingModel(english_model)
    records = attack("char_attack", params, english_examples[:30], model, field="both")
    check_records(records, english_examples[:30], model, max_words=params["max_edits"],
                  max_queries=params["max_queries"], field="both")


def test_char_attack_is_deterministic_and_independent_of_batching_and_order(english_model, english_examples):
    examples = english_examples[:30]
    first = attack("char_attack", {}, examples, CountingModel(english_model))
    again = attack("char_attack", {}, examples, CountingModel(english_model), max_batch=7)
    reordered = attack("char_attack", {}, examples[::-1], CountingModel(english_model))
    # float32 sums may differ in their last bits with the batch's composition: probabilities
    # are compared to 1e-6, everything else exactly
    def exact(records):
        return [{k: v for k, v in r.items() if k != "probs"} for r in records]

    assert exact(first) == exact(again) == exact(reordered[::-1])
    for a, b, c in zip(first, again, reordered[::-1]):
        assert np.allclose(a["probs"], b["probs"], atol=1e-6) and np.allclose(a["probs"], c["probs"], atol=1e-6)
    other_seed = attack("char_attack", {}, examples, CountingModel(english_model), seed=2)
    assert [r["adv_hypothesis"] for r in other_seed] != [r["adv_hypothesis"] for r in first]


def _drive(attack_one, example, model, rng, fields=("premise", "hypothesis")):
    """Run one example's attack generator against the model: (its query batches, its outcome)."""
    run = attack_one({"premise": example["premise"], "hypothesis": example["hypothesis"]},
                     LABELS.index(example["label"]), fields, rng)
    batches = []
    try:
        batch = next(run)
        while True:
            batches.append(batch)
            batch = run.send(model.predict_proba(batch))
    except StopIteration as stop:
        return batches, stop.value


def test_both_fields_rank_and_try_the_hypothesis_before_the_premise(english_model, english_examples):
    from xexp.runtime.robustness.attacks.char import char_attack

    # deletions only: fewer candidates per word, so some examples need their premise attacked
    attack_one = char_attack({"max_edits": 30, "max_queries": 100_000, "edit": "delete", "score": "delete"},
                             lang="en")
    reached_premise = 0
    for index, example in enumerate(english_examples):
        batches, outcome = _drive(attack_one, example, english_model, random.Random(index))
        if outcome.status == "skipped":
            continue
        hypothesis_words = len(words(example["hypothesis"], "en"))
        # the second batch ranks the hypothesis's words alone: one deletion each, premise intact
        assert len(batches[1]) == hypothesis_words
        assert all(premise == example["premise"] for premise, _ in batches[1])
        touched = [k for k, batch in enumerate(batches) if any(p != example["premise"] for p, _ in batch)]
        if not touched:
            continue
        reached_premise += 1
        # the premise is ranked (one deletion per premise word) only after every hypothesis word
        # that can lose a character had its batch of misspellings, none of which flipped the prediction
        assert len(batches[touched[0]]) == len(words(example["premise"], "en"))
        editable = sum(len(graphemes(w.text)) > 1 for w in words(example["hypothesis"], "en"))
        assert touched[0] == 2 + editable
    # on this data the hypothesis alone does not always suffice, so the premise stage is tested
    assert reached_premise > 0


def test_edit_scoring_ranks_words_by_their_own_misspelling_and_reuses_the_answer(english_model, english_examples):
    from xexp.runtime.robustness.attacks.char import char_attack
    from xexp.runtime.robustness.attacks.char_edits import CANDIDATES_PER_WORD

    attack_one = char_attack({"max_edits": 4, "max_queries": 200, "edit": "mixed", "score": "edit"}, lang="en")
    won_by_a_probe = 0
    for index, example in enumerate(english_examples):
        batches, outcome = _drive(attack_one, example, english_model, random.Random(index), ("hypothesis",))
        assert outcome.queries == sum(len(batch) for batch in batches)
        if outcome.status == "skipped":
            continue
        clean = [w.text for w in words(example["hypothesis"], "en")]
        # the ranking batch misspells each word once: same words everywhere else, none deleted
        assert len(batches[1]) == len(clean)
        for position, (premise, hypothesis) in enumerate(batches[1]):
            probe = [w.text for w in words(hypothesis, "en")]
            assert premise == example["premise"] and len(probe) == len(clean)
            assert [k for k in range(len(clean)) if probe[k] != clean[k]] == [position]
        if len(batches) == 2:
            # a probe flipped the prediction: that probe is the adversarial example
            assert outcome.status == "succeeded" and outcome.words_changed == 1
            assert (outcome.adv_premise, outcome.adv_hypothesis) in batches[1]
            won_by_a_probe += 1
        else:
            # the most important word's probe is already answered: only its other candidates are asked
            assert len(batches[2]) <= CANDIDATES_PER_WORD - 1
    assert won_by_a_probe > 0


@pytest.mark.parametrize("lang", MULTILINGUAL)
def test_char_attack_keeps_grapheme_clusters_whole(multilingual_model, lang):
    examples = _rows(f"xnli/dev.{lang}.jsonl", 0, 25)
    model = CountingModel(multilingual_model)
    records = attack("char_attack", {"max_edits": 4}, examples, model, lang=lang)
    check_records(records, examples, model, max_words=4, max_queries=200)
    assert any(r["status"] == "succeeded" for r in records)
    for record, example in zip(records, examples):
        known = {g.casefold() for g in graphemes(example["premise"] + example["hypothesis"])}
        adversarial = graphemes(record["adv_hypothesis"])
        # an edit made on code points would leave clusters the text never had (a lone vowel sign)
        assert {g.casefold() for g in adversarial} <= known, record["adv_hypothesis"]
        for piece in words(record["adv_hypothesis"], lang):
            assert unicodedata.category(piece.text[0])[0] != "M"


def test_summary_follows_textattack_definitions():
    def rec(status, changed=0, total=10, queries=1):
        return {"status": status, "words_changed": changed, "words_total": total, "queries": queries}

    records = [rec("skipped"), rec("skipped"),
               rec("succeeded", 1, 10, 12), rec("succeeded", 2, 5, 20), rec("succeeded", 3, 4, 31),
               rec("failed", 4, 8, 40), rec("failed", 4, 9, 41), rec("failed", 4, 9, 42),
               rec("failed", 4, 9, 43), rec("failed", 4, 9, 44)]
    summary = summarize(records)
    assert summary["total"] == 10 and summary["skipped"] == 2
    assert summary["original_accuracy"] == pytest.approx(8 / 10)
    assert summary["accuracy_under_attack"] == pytest.approx(5 / 10)
    assert summary["attack_success_rate"] == pytest.approx(3 / 8)
    # words perturbed: over successful attacks only, as TextAttack reports it
    assert summary["avg_words_perturbed_pct"] == pytest.approx((10 + 40 + 75) / 3)
    assert summary["avg_queries"] == pytest.approx((12 + 20 + 31 + 40 + 41 + 42 + 43 + 44) / 8)
    empty = summarize([])
    assert empty["total"] == 0 and empty["attack_success_rate"] is None
    with pytest.raises(ValueError, match="status"):
        summarize([rec("flipped")])


def test_summary_agrees_with_records_of_a_real_attack(english_model, english_examples):
    records = attack("char_attack", {}, english_examples, CountingModel(english_model))
    summary = summarize(records)
    assert summary["accuracy_under_attack"] == pytest.approx(np.mean([r["adv_correct"] for r in records]))
    assert summary["original_accuracy"] == pytest.approx(np.mean([r["correct"] for r in records]))


def test_codeswitch_attack_replaces_words_by_lexicon_translations(english_model, english_examples):
    path = _data("muse/en-de.txt")
    german = {line.split("\t")[1].strip().casefold() for line in path.read_text(encoding="utf-8").splitlines()}
    model = CountingModel(english_model)
    params = {"max_words": 3, "max_queries": 80, "lexicon": {"kind": "muse", "path": str(path)},
              "languages": ["de"]}
    records = attack("codeswitch_attack", params, english_examples, model)
    check_records(records, english_examples, model, max_words=3, max_queries=80)
    assert summarize(records)["attack_success_rate"] > 0
    for record, example in zip(records, english_examples):
        before = {p.text.casefold() for p in words(example["hypothesis"], "en")}
        new = [p.text.casefold() for p in words(record["adv_hypothesis"], "en")
               if p.text.casefold() not in before]
        assert all(word in german for word in new), new


@pytest.mark.parametrize("lang", ["zh", "hi"])
def test_codeswitch_attack_on_non_english_text_switches_into_english(multilingual_model, lang):
    """Non-English text reads en-L backwards (and Chinese is segmented against the lexicon)."""
    path = _data(f"muse/en-{lang}.txt")
    english = {line.split("\t")[0].strip().casefold() for line in path.read_text(encoding="utf-8").splitlines()}
    examples = _rows(f"xnli/dev.{lang}.jsonl", 0, 25)
    model = CountingModel(multilingual_model)
    params = {"max_words": 3, "max_queries": 60, "lexicon": {"kind": "muse", "path": str(path)},
              "languages": ["en"]}
    records = attack("codeswitch_attack", params, examples, model, lang=lang)
    check_records(records, examples, model, max_words=3, max_queries=60)
    switched = [r for r in records if r["words_changed"]]
    assert switched
    for record in switched:
        # what came in is English from the lexicon (the new Latin-script words of the text)
        example = next(e for e in examples if e["id"] == record["id"])
        before = {w.text.casefold() for w in words(example["hypothesis"], lang)}
        latin = [w.text.casefold() for w in words(record["adv_hypothesis"], lang)
                 if w.text.isascii() and w.text.casefold() not in before]
        assert latin and all(word in english for word in latin), latin


def test_translator_reads_muse_backwards_and_pivots_through_english():
    refs = [{"kind": "muse", "path": str(_data(f"muse/en-{lang}.txt"))} for lang in ("de", "fr")]
    to_english = Translator(refs, "de", ["en"]).translations("Hund")
    assert ("en", "dog") in to_english
    via_english = Translator(refs, "de", ["fr", "de"]).translations("hund")
    assert ("fr", "chien") in via_english
    assert all(language == "fr" for language, _ in via_english)  # the text's own language is skipped
    synthetic = [{"kind": "synthetic"}]  # the demo's own lexicon; German nouns keep capitals
    assert ("en", "man") in Translator(synthetic, "de", ["en"]).translations("Mann")
    assert ("de", "Mann") in Translator(synthetic, "en", ["de"]).translations("man")
    with pytest.raises(ValueError, match="English-sw"):
        Translator([{"kind": "muse", "path": str(_data("muse/en-de.txt"))}], "en", ["sw"])


def test_bad_requests_get_clear_errors(english_model, english_examples):
    model = CountingModel(english_model)
    with pytest.raises(ValueError, match="unknown attack 'typo_attack'"):
        attack("typo_attack", {}, english_examples[:2], model)
    with pytest.raises(pydantic.ValidationError):
        attack("char_attack", {"max_edits": 0}, english_examples[:2], model)
    with pytest.raises(pydantic.ValidationError):
        attack("char_attack", {"edits": 3}, english_examples[:2], model)
    bad_label = [dict(english_examples[0], label="maybe")]
    with pytest.raises(ValueError, match="label 'maybe'"):
        attack("char_attack", {}, bad_label, model)
    with pytest.raises(ValueError, match="field must be"):
        attack("char_attack", {}, english_examples[:2], model, field="context")
    with pytest.raises(ValueError, match="shape"):
        attack("char_attack", {}, english_examples[:2], lambda pairs: np.ones((len(pairs), 2)))


def test_declarations_are_registered_and_the_compiler_stays_pure():
    import xexp.compiler.registry.attacks  # noqa: F401

    for name in ("char_attack", "codeswitch_attack"):
        entry = REGISTRY.get("attack", name)
        assert entry is not None and entry.default_field == "hypothesis"
        module, _, attribute = entry.implementation.partition(":")
        assert callable(getattr(__import__(module, fromlist=[attribute]), attribute))
    probe = ("import sys, xexp.compiler.registry.attacks; "
             "heavy = [m for m in ('torch', 'numpy', 'ray', 'transformers') if m in sys.modules]; "
             "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", probe], check=True)
