"""The metrics of Phang et al. (2020)'s tables, as XTREME and jiant compute them (issue 24, item 3).

Written here from the published definitions; nothing is vendored:

* **Entity F1** (NER, and POS as XTREME scores it): seqeval's default (non-strict, IOB) chunking.
  A chunk starts at `B-`, at `I-` after `O`, or wherever the type changes; it ends before `B-`,
  `O` or a type change. Micro-averaged F1 = 2·tp / (predicted chunks + gold chunks), where a
  true positive is a predicted chunk with exactly the gold chunk's type, start and end.
  XTREME scores UD POS with the same function on plain UPOS tags: the first letter of a tag is
  read as its chunk prefix, so a run of equal tags is one chunk, `SCONJ`/`SYM` (prefix `S`) are
  single-word chunks, and `INTJ` (prefix `I`) continues an equal-typed run. Sentences are
  joined with `O` between them, as seqeval joins a list of sentences.
* **QA F1 and exact match** with SQuAD v1.1's answer normalisation (lower case, drop ASCII
  punctuation and the English articles a/an/the, split on whitespace), the maximum over the gold
  answers; **MLQA's** per-language normalisation (MLQA's evaluation script, Lewis et al. 2020):
  every Unicode punctuation character removed, each language's articles (en a/an/the; es
  un/una/unos/unas/el/la/los/las; de ein/eine/einen/einem/eines/einer/der/die/das/den/dem/des;
  vi của/là/cái/chiếc/những; ar the prefix ال; hi and zh none), then whitespace tokens, except
  zh, which is segmented mixed: each Han character (U+4E00–U+9FA5) is a token and the text
  between them is split on whitespace.

Every metric is returned as per-example sums (numerator, denominator) so that the XTREME table
can resample examples (sentences for tagging) and recompute the corpus-level figure.
"""

from __future__ import annotations

import re
import string
import sys
import unicodedata
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

Chunk = tuple[str, int, int]


def _prefix_and_type(tag: str) -> tuple[str, str]:
    return tag[0] if tag else "O", tag.split("-")[-1]


def _ends(prev_prefix: str, prefix: str, prev_type: str, type_: str) -> bool:
    if prev_prefix in ("E", "S"):
        return True
    if prev_prefix in ("B", "I") and prefix in ("B", "S", "O"):
        return True
    return prev_prefix not in ("O", ".") and prev_type != type_


def _starts(prev_prefix: str, prefix: str, prev_type: str, type_: str) -> bool:
    if prefix in ("B", "S"):
        return True
    if prev_prefix in ("E", "S", "O") and prefix in ("E", "I"):
        return True
    return prefix not in ("O", ".") and prev_type != type_


def chunks(tags: Sequence[str]) -> list[Chunk]:
    """The (type, first, last) chunks of one tag sequence, seqeval's default reading."""
    out: list[Chunk] = []
    prev_prefix, prev_type, begin = "O", "", 0
    for i, tag in enumerate([*tags, "O"]):
        prefix, type_ = _prefix_and_type(tag)
        if _ends(prev_prefix, prefix, prev_type, type_):
            out.append((prev_type, begin, i - 1))
        if _starts(prev_prefix, prefix, prev_type, type_):
            begin = i
        prev_prefix, prev_type = prefix, type_
    return out


def chunk_counts(gold: Sequence[str], predicted: Sequence[str]) -> tuple[int, int, int]:
    """(true positives, predicted chunks, gold chunks) of one sentence."""
    g, p = set(chunks(gold)), set(chunks(predicted))
    return len(g & p), len(p), len(g)


def entity_f1(sentences: Sequence[tuple[Sequence[str], Sequence[str]]]) -> float:
    """Micro F1 over (gold tags, predicted tags) sentences, as seqeval's `f1_score` (0 when
    neither side has a chunk). Sentences are scored apart: joining them with `O` (seqeval)
    gives the same chunks, since `O` ends every chunk."""
    tp = pred = gold = 0
    for g, p in sentences:
        a, b, c = chunk_counts(g, p)
        tp, pred, gold = tp + a, pred + b, gold + c
    return 2 * tp / (pred + gold) if pred + gold else 0.0


# --- QA ---------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def unicode_punctuation() -> frozenset[str]:
    """Every character whose Unicode category starts with P, and ASCII punctuation (MLQA's set)."""
    found = {chr(i) for i in range(sys.maxunicode) if unicodedata.category(chr(i)).startswith("P")}
    return frozenset(found | set(string.punctuation))


ARTICLES = {
    "en": r"\b(a|an|the)\b",
    "es": r"\b(un|una|unos|unas|el|la|los|las)\b",
    "de": r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b",
    "vi": r"\b(của|là|cái|chiếc|những)\b",
    "ar": r"\sال^|ال",
}
MIXED_SEGMENTATION = ("zh",)
ASCII_PUNCTUATION = frozenset(string.punctuation)
HAN = re.compile(r"[\u4e00-\u9fa5]")


def mixed_segmentation(text: str) -> list[str]:
    """Han characters (and punctuation) one token each; the text between split on whitespace."""
    out: list[str] = []
    pending = ""
    for ch in text:
        if HAN.match(ch) or ch in unicode_punctuation():
            out.extend(pending.split())
            pending = ""
            out.append(ch)
        else:
            pending += ch
    out.extend(pending.split())
    return out


def mlqa_tokens(text: str, lang: str) -> list[str]:
    """MLQA's normalisation of an answer in `lang`, as tokens."""
    punct = unicode_punctuation()
    text = "".join(ch for ch in text.lower() if ch not in punct)
    if lang in ARTICLES:
        text = re.sub(ARTICLES[lang], " ", text)
    tokens = mixed_segmentation(text) if lang in MIXED_SEGMENTATION else text.split()
    return [t for t in tokens if t.strip()]


def squad_tokens(text: str, lang: str = "en") -> list[str]:
    """SQuAD v1.1's normalisation (every language alike, as XTREME scores XQuAD and TyDiQA)."""
    text = "".join(ch for ch in text.lower() if ch not in ASCII_PUNCTUATION)
    return re.sub(r"\b(a|an|the)\b", " ", text).split()


NORMALIZERS = {"squad": squad_tokens, "mlqa": mlqa_tokens}


def _f1(predicted: list[str], gold: list[str]) -> float:
    common = sum((Counter(predicted) & Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def qa_scores(predicted: str, golds: Sequence[str], lang: str, normalization: str = "squad") -> tuple[float, float]:
    """(F1, exact match) of one answer: the best over the gold answers. No gold answer
    (SQuAD v2's unanswerable): 1 when the prediction is empty too, else 0."""
    tokens = NORMALIZERS[normalization]
    if not golds:
        return (1.0, 1.0) if not predicted.strip() else (0.0, 0.0)
    p = tokens(predicted, lang)
    pairs = [(_f1(p, tokens(g, lang)), float(p == tokens(g, lang))) for g in golds]
    return max(f for f, _ in pairs), max(e for _, e in pairs)
