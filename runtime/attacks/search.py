"""Greedy search by word importance: the search both model-aware attacks share.

The scheme is DeepWordBug's (Gao et al. 2018) and TextAttack's `GreedyWordSwapWIR`: score every
word by how much the gold label's probability drops when the word is removed (or masked), then
walk the words from most to least important, try a few replacements for each (the attack decides
which: misspellings, translations), keep the replacement that lowers the gold probability most
(only if it lowers it), and stop as soon as the prediction leaves the gold label or the budget
(words changed, model queries) is spent.

An attack on one example is a generator: it yields the batch of (premise, hypothesis) pairs it
needs scored and receives their probabilities. `driver.run_batched` answers many such generators
with one model call per round, which is what makes attacks cheap on a GPU.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field as dataclass_field
from typing import Callable, Generator, Literal, Sequence

import numpy as np

from xexp.runtime.perturbations.text import graphemes, tokenize, words

AttackField = Literal["premise", "hypothesis", "both"]
ScoreMode = Literal["delete", "mask"]

#: What a masked word becomes when scoring by masking: the unknown token of the XLM-R family
#: (XLM-R, multilingual-e5), which their tokenizers map to the real unknown id. For other
#: models it is simply an uninformative string; "delete" scoring needs no such token.
MASK_TOKEN = "<unk>"

Pair = tuple[str, str]
#: proposes replacements for one word: (word, (text just before, text just after), rng) ->
#: candidate words, each as the list of grapheme clusters it must segment into in the sentence.
Proposer = Callable[[str, tuple[str, str], random.Random], list[list[str]]]
#: cuts a text into (piece, is_unit) pairs that cover it exactly; the units are the words the
#: attack may replace (all words for char_attack, translatable ones for codeswitch_attack).
Segmenter = Callable[[str, str], list[tuple[str, bool]]]


def word_pieces(text: str, lang: str) -> list[tuple[str, bool]]:
    """The default segmentation: the words of `perturbations.text.tokenize`."""
    return [(p.text, p.is_word) for p in tokenize(text, lang)]


@dataclass(frozen=True)
class SearchBudget:
    max_words: int
    max_queries: int
    score: ScoreMode = "delete"

    def __post_init__(self) -> None:
        if self.max_words < 1:
            raise ValueError(f"attack budget: max words must be >= 1, got {self.max_words}")
        if self.max_queries < 2:
            raise ValueError(
                f"attack budget: max_queries must be >= 2 (one clean query and one attempt), "
                f"got {self.max_queries}"
            )


@dataclass
class Outcome:
    """What one example's attack found; `runner` turns it into an ATTACK_COLUMNS record."""

    clean_probs: np.ndarray
    status: Literal["skipped", "succeeded", "failed"]
    adv_probs: np.ndarray
    adv_premise: str
    adv_hypothesis: str
    words_changed: int
    words_total: int
    queries: int
    changed_words: list[tuple[str, str, str]] = dataclass_field(default_factory=list)


class _Texts:
    """The attacked example as editable pieces; fields not attacked stay verbatim."""

    def __init__(self, premise: str, hypothesis: str, fields: Sequence[str], lang: str,
                 segment: Segmenter):
        self.clean = {"premise": premise, "hypothesis": hypothesis}
        self.fields = tuple(fields)
        self.pieces: dict[str, list[str]] = {}
        self.clusters: dict[str, list[list[str]]] = {}
        self.slots: list[tuple[str, int]] = []
        # the share of words changed is reported against all words (TextAttack's measure), even
        # when the attack can only replace some of them
        self.words_total = sum(len(words(self.clean[name], lang)) for name in self.fields)
        for name in self.fields:
            tokens = segment(self.clean[name], lang)
            if "".join(text for text, _ in tokens) != self.clean[name]:
                raise RuntimeError(f"attack segmentation lost text of the {name}: {self.clean[name]!r}")
            self.pieces[name] = [text for text, _ in tokens]
            self.clusters[name] = [graphemes(text) for text, _ in tokens]
            self.slots.extend((name, i) for i, (_, is_word) in enumerate(tokens) if is_word)

    def pair(self, overrides: dict[str, list[str]] | None = None) -> Pair:
        overrides = overrides or {}
        def text(name: str) -> str:
            if name in overrides:
                return "".join(overrides[name])
            if name in self.pieces:
                return "".join(self.pieces[name])
            return self.clean[name]
        return text("premise"), text("hypothesis")

    def without(self, slot: tuple[str, int], mode: ScoreMode) -> Pair:
        name, i = slot
        pieces = list(self.pieces[name])
        if mode == "mask":
            pieces[i] = MASK_TOKEN
        else:
            pieces[i] = ""
            # drop one neighbouring space so that deleting a word leaves no double gap
            if i + 1 < len(pieces) and pieces[i + 1].isspace():
                pieces[i + 1] = ""
            elif i > 0 and pieces[i - 1].isspace():
                pieces[i - 1] = ""
        return self.pair({name: pieces})

    def with_word(self, slot: tuple[str, int], clusters: list[str]) -> Pair | None:
        """The pair with the slot's word replaced, or None if the new word would fuse with its
        neighbours into different grapheme clusters (then it is not the edit we meant)."""
        name, i = slot
        pieces = list(self.pieces[name])
        pieces[i] = "".join(clusters)
        expected = [c for k, cs in enumerate(self.clusters[name]) for c in (clusters if k == i else cs)]
        if graphemes("".join(pieces)) != expected:
            return None
        return self.pair({name: pieces})

    def context(self, slot: tuple[str, int]) -> tuple[str, str]:
        name, i = slot
        pieces = self.pieces[name]
        return "".join(pieces[:i]), "".join(pieces[i + 1:])

    def apply(self, slot: tuple[str, int], clusters: list[str]) -> None:
        name, i = slot
        self.pieces[name][i] = "".join(clusters)
        self.clusters[name][i] = list(clusters)


def greedy_attack(
    premise: str,
    hypothesis: str,
    gold: int,
    *,
    fields: Sequence[str],
    lang: str,
    budget: SearchBudget,
    propose: Proposer,
    rng: random.Random,
    segment: Segmenter = word_pieces,
) -> Generator[list[Pair], np.ndarray, Outcome]:
    """Attack one example; yields query batches, returns its `Outcome`."""
    texts = _Texts(premise, hypothesis, fields, lang, segment)
    clean_probs = (yield [(premise, hypothesis)])[0]
    queries = 1
    words_total = texts.words_total

    def outcome(status, probs, changed) -> Outcome:
        adv_premise, adv_hypothesis = texts.pair()
        return Outcome(clean_probs, status, probs, adv_premise, adv_hypothesis,
                       len(changed), words_total, queries, changed)

    if int(np.argmax(clean_probs)) != gold:
        return outcome("skipped", clean_probs, [])

    # word importance: gold-probability drop when the word is removed; words beyond the query
    # budget are not scored and keep their text order behind the scored ones
    scored = texts.slots[: max(0, budget.max_queries - queries - 1)]
    importance: dict[tuple[str, int], float] = {}
    if scored:
        probs = yield [texts.without(slot, budget.score) for slot in scored]
        queries += len(scored)
        for slot, p in zip(scored, probs):
            importance[slot] = float(clean_probs[gold] - p[gold])
    order = sorted(range(len(texts.slots)),
                   key=lambda k: (-importance.get(texts.slots[k], -np.inf), k))

    current_probs = clean_probs
    changed: list[tuple[str, str, str]] = []
    for k in order:
        if len(changed) >= budget.max_words or queries >= budget.max_queries:
            break
        slot = texts.slots[k]
        name, i = slot
        word = texts.pieces[name][i]
        candidates = []
        for clusters in propose(word, texts.context(slot), rng):
            pair = texts.with_word(slot, clusters)
            if pair is not None:
                candidates.append((clusters, pair))
        candidates = candidates[: budget.max_queries - queries]
        if not candidates:
            continue
        probs = yield [pair for _, pair in candidates]
        queries += len(candidates)
        flipped = [j for j in range(len(candidates)) if int(np.argmax(probs[j])) != gold]
        pool = flipped or range(len(candidates))
        best = min(pool, key=lambda j: (probs[j][gold], j))
        if flipped or probs[best][gold] < current_probs[gold]:
            texts.apply(slot, candidates[best][0])
            changed.append((name, word, "".join(candidates[best][0])))
            current_probs = probs[best]
            if flipped:
                return outcome("succeeded", current_probs, changed)
    return outcome("failed", current_probs, changed)
