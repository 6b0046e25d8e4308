"""The paper's metrics (issue 24, item 3), each checked on a hand-made case worked out by hand
from its published definition (runtime/report/paper_metrics.py states them)."""

from __future__ import annotations

import pytest

from xexp.runtime.report.paper_metrics import chunks, entity_f1, mlqa_tokens, qa_scores, squad_tokens


def test_entity_f1_follows_seqevals_chunking():
    """seqeval (default mode): a chunk starts at B-, at I- after O, at a type change; it ends
    before B-, O or a type change; micro F1 = 2 tp / (predicted + gold chunks).
    Gold PER(0-1) LOC(3); predicted PER(0-1) ORG(3): tp 1, P = R = 1/2, F1 = 0.5, although 3 of
    4 tags are right (token accuracy 0.75)."""
    gold = ["B-PER", "I-PER", "O", "B-LOC"]
    predicted = ["B-PER", "I-PER", "O", "B-ORG"]
    assert chunks(gold) == [("PER", 0, 1), ("LOC", 3, 3)]
    assert entity_f1([(gold, predicted)]) == pytest.approx(0.5)
    # an I- after O opens a chunk (seqeval's lenient reading), a B- inside a run splits it
    assert chunks(["O", "I-PER", "I-PER", "B-PER", "I-LOC"]) == [("PER", 1, 2), ("PER", 3, 3), ("LOC", 4, 4)]
    # micro over sentences: 2 gold chunks right of 3, 2 predicted of 2: P 1, R 2/3, F1 0.8
    two = [(["B-LOC", "O"], ["B-LOC", "O"]), (["B-ORG", "B-PER"], ["B-ORG", "O"])]
    assert entity_f1(two) == pytest.approx(0.8)
    assert entity_f1([(["O"], ["O"])]) == 0.0  # no chunk either side: seqeval's 0


def test_pos_f1_as_xtreme_computes_it():
    """XTREME runs the same seqeval F1 on plain UPOS tags: a tag's first letter is read as its
    prefix, so equal neighbours merge into one chunk, S-initial tags (SCONJ, SYM) are single-word
    chunks. Gold NOUN NOUN VERB = NOUN(0-1) VERB(2); predicted NOUN VERB VERB = NOUN(0) VERB(1-2):
    no chunk matches, F1 0, where token accuracy is 2/3."""
    assert chunks(["NOUN", "NOUN", "VERB"]) == [("NOUN", 0, 1), ("VERB", 2, 2)]
    assert entity_f1([(["NOUN", "NOUN", "VERB"], ["NOUN", "VERB", "VERB"])]) == 0.0
    assert chunks(["SCONJ", "SCONJ", "DET"]) == [("SCONJ", 0, 0), ("SCONJ", 1, 1), ("DET", 2, 2)]
    # all words different tags: every tag its own chunk, F1 = token accuracy
    gold, predicted = ["DET", "NOUN", "VERB", "ADV"], ["DET", "NOUN", "ADJ", "ADV"]
    assert entity_f1([(gold, predicted)]) == pytest.approx(0.75)


def test_qa_f1_and_exact_match_with_squads_normalisation():
    """SQuAD v1.1: lower case, ASCII punctuation and a/an/the removed, whitespace tokens; the
    best over the gold answers. 'The Eiffel Tower!' vs 'Eiffel Tower' is exact; 'tower' vs
    'Eiffel Tower': P 1, R 1/2, F1 2/3."""
    assert qa_scores("The Eiffel Tower!", ["Eiffel Tower"], "en") == (1.0, 1.0)
    f1, em = qa_scores("tower", ["Eiffel Tower", "the Paris tower block"], "en")
    assert (f1, em) == (pytest.approx(2 / 3), 0.0)
    assert squad_tokens("Der Hund", "de") == ["der", "hund"]  # SQuAD keeps German articles


def test_mlqa_normalises_per_language():
    """MLQA's evaluation script: Unicode punctuation removed, the language's articles removed,
    zh segmented mixed (each Han character a token). '北京大学' vs gold '北京': whitespace
    splitting gives F1 0; MLQA's segmentation gives P 2/4, R 2/2, F1 2/3. German 'Der Hund' vs
    'Hund' is exact once `der` goes; Arabic drops the prefix ال; Spanish '¿el perro?' = 'perro'."""
    assert qa_scores("北京大学", ["北京"], "zh", "squad")[0] == 0.0
    assert qa_scores("北京大学", ["北京"], "zh", "mlqa")[0] == pytest.approx(2 / 3)
    assert mlqa_tokens("2008年，北京", "zh") == ["2008", "年", "北", "京"]
    assert qa_scores("Der Hund", ["Hund"], "de", "mlqa") == (1.0, 1.0)
    assert qa_scores("Der Hund", ["Hund"], "de", "squad")[1] == 0.0
    assert mlqa_tokens("الكتاب", "ar") == ["كتاب"]
    assert qa_scores("¿el perro?", ["perro"], "es", "mlqa") == (1.0, 1.0)
    assert mlqa_tokens("Một cái bàn", "vi") == ["một", "bàn"]
