"""`word_attack`: greedy word substitution with candidates from a masked language model.

BAE (Garg & Ramakrishnan 2020, its "R" replace mode) and BERT-Attack (Li et al. 2020) mask an
important word and let a masked LM propose what else could stand there; the proposals are
fluent in context, which character noise is not. With a multilingual MLM (XLM-R) this works in
every language it was trained on. The search is the shared greedy one (`search`); this module
proposes the candidates and keeps the ones that respect the constraints:

* whole words only: a filler that is a subword piece (WordPiece `##…`, or a SentencePiece piece
  without the word-start mark where the text has a space before the word) would glue a stray
  fragment onto the sentence;
* the original word's script, letters only: no Latin filler inside Hindi, no digits or
  punctuation;
* numbers and name-like words (capitalised inside a sentence, or all capitals) are never
  replaced: a changed number or name changes the meaning, and both are cheap to spot;
* with an encoder, a candidate is kept only if the text with it keeps a cosine similarity of at
  least `similarity` (mean-pooled sentence vectors) with the text before the swap.

All fillers of one text state are proposed by one MLM batch (every word masked in turn), so the
MLM costs one forward pass per field per accepted swap, not one per word. Nothing is random:
candidates are taken in the MLM's order, and the attack is deterministic given its inputs.
"""

from __future__ import annotations

import random
import unicodedata
from functools import lru_cache
from typing import Any, Sequence

from xexp.errors import ModelError
from xexp.runtime.robustness.attacks.search import SearchBudget, greedy_attack, word_pieces
from xexp.runtime.robustness.perturbations.casing import match_case
from xexp.runtime.robustness.perturbations.text import graphemes

#: MLM fillers looked at per wanted candidate: many of the top ones are pieces, punctuation or
#: the word itself, which the constraints drop.
_OVERDRAW = 4


def scripts(text: str) -> frozenset[str]:
    """The scripts of the letters of `text`, by the first word of their Unicode names
    (LATIN, CYRILLIC, DEVANAGARI, CJK, ARABIC, …)."""
    found = set()
    for ch in text:
        if unicodedata.category(ch)[0] == "L":
            found.add(unicodedata.name(ch, "UNKNOWN").split()[0])
    return frozenset(found)


def replaceable(word: str, before: str) -> bool:
    """False for numbers and name-like words, which the attack leaves alone."""
    if any(ch.isdigit() for ch in word) or not scripts(word):
        return False
    letters = [ch for ch in word if ch.isalpha()]
    if len(letters) > 1 and all(ch.isupper() for ch in letters):
        return False  # an acronym
    starts_sentence = not before.strip() or before.rstrip()[-1] in ".!?。！？؟।"
    return not (word[:1].isupper() and not starts_sentence)


def acceptable(candidate: str, word: str) -> bool:
    """A whole word of letters (and combining marks) in the original's scripts, not the word."""
    if not candidate or candidate.lower() == word.lower():
        return False
    if any(unicodedata.category(ch)[0] not in "LM" for ch in candidate):
        return False
    return scripts(candidate) <= scripts(word) and bool(scripts(candidate))


def _tool_model(path: str, auto_class):
    """(tokenizer, model in eval mode on its device, device) of a model an attack uses as a tool
    (word_attack's masked LM and sentence encoder): its own code is never run."""
    from xexp.runtime.learning.models.sources import load_model, load_tokenizer
    from xexp.runtime.learning.tasks.runner import pick_device, quiet_loading

    manifest = {"path_or_id": path, "revision": None, "trust_remote_code": False}
    with quiet_loading():
        tokenizer = load_tokenizer(manifest)
        model = load_model(manifest, auto_class)
    device = pick_device()
    model.to(device).eval()
    return tokenizer, model, device


class MaskedLM:
    """A masked LM behind one call: the fillers of every word of a text, by word position."""

    def __init__(self, path: str):
        import transformers

        self.tokenizer, self.model, self.device = _tool_model(path, transformers.AutoModelForMaskedLM)
        if self.tokenizer.mask_token is None:
            raise ModelError(f"word_attack: the model at {path} has no mask token: it is not a masked LM")
        vocab = self.tokenizer.convert_ids_to_tokens(list(range(len(self.tokenizer))))
        self.pieces = vocab
        self.sentencepiece = any(str(p).startswith("▁") for p in vocab[:5000])

    def fillers(self, texts: list[str], wanted: int) -> list[list[tuple[str, bool]]]:
        """Per masked text, the top fillers as (text, starts a word), best first."""
        import torch

        encoded = self.tokenizer(texts, return_tensors="pt", padding=True, truncation=True, max_length=256)
        with torch.inference_mode():
            logits = self.model(**{k: v.to(self.device) for k, v in encoded.items()}).logits
        out: list[list[tuple[str, bool]]] = []
        for row, ids in enumerate(encoded["input_ids"]):
            where = (ids == self.tokenizer.mask_token_id).nonzero()
            if len(where) == 0:  # the mask was truncated away
                out.append([])
                continue
            top = torch.topk(logits[row, int(where[0])].float(), min(wanted, logits.shape[-1])).indices.tolist()
            found = []
            for token_id in top:
                if token_id in self.tokenizer.all_special_ids:
                    continue
                piece = str(self.pieces[token_id])
                if self.sentencepiece:
                    found.append((piece.lstrip("▁"), piece.startswith("▁")))
                else:
                    found.append((piece[2:] if piece.startswith("##") else piece.lstrip("Ġ"),
                                  not piece.startswith("##")))
            out.append(found)
        return out


class SentenceEncoder:
    """Mean-pooled sentence vectors of an encoder, for the similarity constraint."""

    def __init__(self, path: str):
        import transformers

        self.tokenizer, self.model, self.device = _tool_model(path, transformers.AutoModel)

    def similarities(self, reference: str, texts: list[str]) -> list[float]:
        import torch

        encoded = self.tokenizer([reference, *texts], return_tensors="pt", padding=True, truncation=True,
                                 max_length=256)
        with torch.inference_mode():
            hidden = self.model(**{k: v.to(self.device) for k, v in encoded.items()}).last_hidden_state.float()
        mask = encoded["attention_mask"].to(self.device).unsqueeze(-1).float()
        vectors = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
        return (vectors[1:] @ vectors[0]).tolist()


@lru_cache(maxsize=4)
def _mlm(path: str) -> MaskedLM:
    return MaskedLM(path)


@lru_cache(maxsize=4)
def _encoder(path: str) -> SentenceEncoder:
    return SentenceEncoder(path)


class Proposer:
    """The search's `propose` for one attack: MLM fillers of a word in its context, filtered."""

    def __init__(self, mlm: MaskedLM, encoder: SentenceEncoder | None, lang: str, candidates: int,
                 similarity: float):
        self.mlm, self.encoder, self.lang = mlm, encoder, lang
        self.candidates, self.similarity = candidates, similarity
        self.cache: dict[tuple[str, str, str], list[str]] = {}

    def _fill_text(self, before: str, word: str, after: str) -> None:
        """Fillers for every word of this text state, one MLM batch."""
        text = before + word + after
        pieces = word_pieces(text, self.lang)
        slots, masked = [], []
        start = 0
        for piece, is_word in pieces:
            if is_word:
                head, tail = text[:start], text[start + len(piece):]
                slots.append((head, piece, tail))
                masked.append(head + self.mlm.tokenizer.mask_token + tail)
            start += len(piece)
        answers = self.mlm.fillers(masked, self.candidates * _OVERDRAW) if masked else []
        for (head, piece, tail), fillers in zip(slots, answers):
            spaced = not head or head[-1].isspace()
            kept: list[str] = []
            if replaceable(piece, head):
                for filler, starts_word in fillers:
                    if spaced and not starts_word:
                        continue  # a piece of a longer word
                    candidate = match_case(piece, filler, self.lang)
                    if acceptable(candidate, piece) and candidate not in kept:
                        kept.append(candidate)
                    if len(kept) == self.candidates:
                        break
            self.cache[head, piece, tail] = kept

    def __call__(self, word: str, context: tuple[str, str], _rng: random.Random) -> list[list[str]]:
        before, after = context
        if (before, word, after) not in self.cache:
            self._fill_text(before, word, after)
        kept = self.cache.get((before, word, after), [])
        if kept and self.encoder is not None:
            scores = self.encoder.similarities(before + word + after, [before + c + after for c in kept])
            kept = [c for c, s in zip(kept, scores) if s >= self.similarity]
        return [graphemes(c) for c in kept]


def word_attack(params: dict[str, Any], *, lang: str, models: dict[str, str]):
    """Factory: the per-example attack for validated `params`; `models` holds the loadable paths
    of the models `mlm` and `encoder` name (the attack node's inputs)."""
    budget = SearchBudget(params["max_words"], params["max_queries"], params["score"])
    if "mlm" not in models:
        raise ValueError("word_attack: no masked LM was given (the `mlm` model)")
    encoder = _encoder(models["encoder"]) if params.get("encoder") else None
    propose = Proposer(_mlm(models["mlm"]), encoder, lang, params["candidates"], params["similarity"])

    def attack_one(clean: dict[str, str], gold: int, fields: Sequence[str], rng: random.Random,
                   fixed_tokens: bool = False, protected=None):
        return greedy_attack(clean, gold, fields=fields, lang=lang, budget=budget, rng=rng, propose=propose,
                             fixed_tokens=fixed_tokens, protected=protected)

    return attack_one
