"""`char_attack`: DeepWordBug-style greedy misspelling of the most important words."""

from __future__ import annotations

import random
from typing import Any, Sequence

from xexp.runtime.robustness.attacks.char_edits import alphabet_of, candidate_edits
from xexp.runtime.robustness.attacks.search import SearchBudget, greedy_attack


def char_attack(params: dict[str, Any], *, lang: str):
    """Factory: the per-example attack for validated `params` (see the registry declaration).

    Each word gets at most one grapheme edit (DeepWordBug's "one edit per token"), so
    `max_edits` bounds both the words changed and the edits made.
    """
    budget = SearchBudget(params["max_edits"], params["max_queries"], params["score"])
    mode = params["edit"]

    def attack_one(clean: dict[str, str], gold: int, fields: Sequence[str], rng: random.Random,
                   fixed_tokens: bool = False, protected=None):
        alphabet = alphabet_of(tuple(clean.values()))
        return greedy_attack(
            clean, gold, fields=fields, lang=lang, budget=budget, rng=rng, fixed_tokens=fixed_tokens, protected=protected,
            propose=lambda word, _context, r: candidate_edits(word, mode, alphabet, r),
        )

    return attack_one
