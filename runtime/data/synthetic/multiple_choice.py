"""Multiple choice (the demo's intermediate task): pick the one sentence that follows.

The context is an action (sometimes with a place); the right ending is entailed by it (a
hypernym, "someone" for the subject, or the action without its place); the three wrong ones are
negations, other categories, other objects or other people, built from the same vocabulary.
"""

from __future__ import annotations

import random

from .realise import GENERAL, Act, sentence
from .families import _ACTION_CORES, Core, _maybe_placed
from .sampling import CyclingPool, split_cores, split_rng
from .vocabulary import CATEGORIES, SOMEONE, SUBJECTS, category_of

ENDINGS = 4


def _item(core: Core, rng: random.Random) -> tuple[Act, list[Act], int]:
    subject, obj = core
    category = category_of(obj)
    context = _maybe_placed(Act(subject, category, obj), rng)
    right = [Act(subject, category, GENERAL), Act(SOMEONE, category, obj)]
    if context.place is not None:
        right.append(Act(subject, category, obj))
    other_category = rng.choice([c for c in CATEGORIES if c != category])
    wrong = [
        Act(subject, category, GENERAL, positive=False),
        Act(subject, category, obj, positive=False),
        Act(subject, other_category, GENERAL),
        Act(subject, category, rng.choice([o for o in CATEGORIES[category] if o != obj])),
        Act(rng.choice([s for s in SUBJECTS if s != subject]), category, obj),
    ]
    endings = rng.sample(wrong, ENDINGS - 1)
    label = rng.randrange(ENDINGS)
    endings.insert(label, rng.choice(right))
    return context, endings, label


def multiple_choice_rows(size: int, seed: int, split: str, language: str) -> list[dict]:
    rng = split_rng(seed, split, "multiple_choice")
    pool = CyclingPool(split_cores(_ACTION_CORES, seed, split), rng)
    rows = []
    for index in range(size):
        context, endings, label = _item(pool.draw(), rng)
        rows.append({
            "id": f"mc-{split}-{seed}-{index:06d}",
            "context": sentence(context, language),
            "endings": [sentence(e, language) for e in endings],
            "label": label,
        })
    return rows
