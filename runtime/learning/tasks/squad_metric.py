"""SQuAD exact match and F1, with the official answer normalisation.

The official script lowercases, drops punctuation and the English articles a/an/the, and
collapses whitespace. Punctuation here is every Unicode punctuation character (category P*),
not only ASCII, so answers in other scripts (。、「」) are normalised too — as MLQA's script does.
For an unanswerable question (no gold answers) the only right prediction is the empty string.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)


def normalize_answer(text: str) -> str:
    text = text.lower()
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("P"))
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, golds: list[str]) -> bool:
    if not golds:
        return prediction.strip() == ""
    normalized = normalize_answer(prediction)
    return any(normalized == normalize_answer(gold) for gold in golds)


def f1_score(prediction: str, golds: list[str]) -> float:
    if not golds:
        return float(prediction.strip() == "")
    return max(_f1(prediction, gold) for gold in golds)


def _f1(prediction: str, gold: str) -> float:
    predicted_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    if not predicted_tokens or not gold_tokens:
        return float(predicted_tokens == gold_tokens)
    common = Counter(predicted_tokens) & Counter(gold_tokens)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision = overlap / len(predicted_tokens)
    recall = overlap / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)
