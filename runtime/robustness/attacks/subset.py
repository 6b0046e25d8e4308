"""Which examples an attack with `examples=N` attacks: a seeded random subset.

The first N ids would be whatever the source file put first (often one genre or one label),
so a random sample is what estimates the attack's effect on the evaluation set. The sample
depends only on N and the ids, never on the model, variant, training seed or language: every
attacked model sees the same examples (its deltas stay paired), and on parallel data (XNLI:
the same ids in every language) so does every language.
"""

from __future__ import annotations

import random

#: Fixed seed of the subset: changing it changes which examples every attack sees.
SUBSET_SEED = 20_180_912


def _id_order(example_id: str):
    """Row-number ids sort numerically, others as text: the same order on every machine."""
    return (0, int(example_id), "") if example_id.isdigit() else (1, 0, example_id)


def attack_subset(examples: list[dict], n: int | None) -> list[dict]:
    """`n` examples drawn without replacement (all of them when n is None, 0 or ≥ their
    number), returned in id order."""
    ordered = sorted(examples, key=lambda e: _id_order(str(e["id"])))
    if not n or n >= len(ordered):
        return ordered
    chosen = sorted(random.Random(SUBSET_SEED).sample(range(len(ordered)), n))
    return [ordered[i] for i in chosen]
