"""The scores of a tagger's per-word predictions: token accuracy, macro and micro F1 over tags,
and, when the tags are BIO (NER), entity-level micro F1 with conlleval's chunking.

Apart from the task (tagging.py) because the scores read a predictions table only: the dev
metric that picks checkpoints and the evaluate manifest's F1s both come from here, and neither
needs a model or a tokenizer.
"""

from __future__ import annotations

import numpy as np


def is_bio(labels) -> bool:
    labels = list(labels)
    return bool(labels) and any(l.startswith("B-") for l in labels) and all(
        l == "O" or l[:2] in ("B-", "I-") for l in labels)


def tagging_scores(predictions) -> dict[str, float]:
    """accuracy, macro_f1 and micro_f1 over tags (per token), entity_f1 when the gold tags are BIO.

    Micro F1 over tags counts every token once on each side, so for single-label tagging it
    equals accuracy; it is reported for completeness, entity F1 is the NER headline.
    """
    gold = predictions.column("gold").to_pylist()
    predicted = predictions.column("predicted").to_pylist()
    if not gold:
        return {"accuracy": 0.0, "macro_f1": 0.0, "micro_f1": 0.0}
    scores = {"accuracy": float(np.mean([g == p for g, p in zip(gold, predicted)]))}
    g, p = np.array(gold, dtype=object), np.array(predicted, dtype=object)
    f1s, tp_all, fp_all, fn_all = [], 0, 0, 0
    for label in sorted(set(gold)):  # macro: the mean over the gold tag set
        tp = int(np.sum((g == label) & (p == label)))
        fp = int(np.sum((g != label) & (p == label)))
        fn = int(np.sum((g == label) & (p != label)))
        f1s.append(_f1(tp, fp, fn))
        tp_all, fp_all, fn_all = tp_all + tp, fp_all + fp, fn_all + fn
    fp_all += int(np.sum(~np.isin(p, list(set(gold)))))  # predictions of tags absent from gold
    scores["macro_f1"] = float(np.mean(f1s))
    scores["micro_f1"] = _f1(tp_all, fp_all, fn_all)
    if is_bio(set(gold)):
        sentences = predictions.column("sentence").to_pylist()
        found = correct = expected = 0
        for g_spans, p_spans in _spans_by_sentence(sentences, gold, predicted):
            found, expected, correct = found + len(p_spans), expected + len(g_spans), correct + len(g_spans & p_spans)
        scores["entity_f1"] = _f1(correct, found - correct, expected - correct)
    return scores


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def _spans_by_sentence(sentences, gold, predicted):
    start = 0
    for end in range(1, len(sentences) + 1):
        if end == len(sentences) or sentences[end] != sentences[start]:
            yield entity_spans(gold[start:end]), entity_spans(predicted[start:end])
            start = end


def entity_spans(tags) -> set[tuple[int, int, str]]:
    """(start, end, type) chunks of a BIO sequence, conlleval style: an I- tag whose type differs
    from the previous tag's starts a new chunk, like a B- tag does."""
    spans: set[tuple[int, int, str]] = set()
    start = 0
    kind: str | None = None  # the type of the chunk that is open, if any
    for k, tag in enumerate(list(tags) + ["O"]):
        prefix, _, label = tag.partition("-") if tag[:2] in ("B-", "I-") else ("O", "", "")
        if kind is not None and (prefix != "I" or label != kind):
            spans.add((start, k, kind))
            kind = None
        if prefix == "B" or (prefix == "I" and kind is None):
            start, kind = k, label
    return spans
