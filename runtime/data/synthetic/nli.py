"""NLI examples: exactly balanced labels, families spread evenly, parallel across languages."""

from __future__ import annotations

from xexp.runtime.data.formats import NLI_LABELS
from .families import FAMILIES
from .realise import sentence
from .sampling import CyclingPool, balanced_counts, split_cores, split_rng

_RETRIES = 20  # draws tried before accepting an item already in the split


def nli_items(size: int, seed: int, split: str, families: list[str]) -> list[tuple[str, str, tuple]]:
    """(family, label, (premise clause, hypothesis clause)) for each example, in final order."""
    rng = split_rng(seed, split, "nli")
    pools = {
        (family, label): CyclingPool(split_cores(FAMILIES[family][0], seed, split), rng)
        for family in families for label in NLI_LABELS
    }
    slots: list[tuple[str, str]] = []
    for label_index, (label, count) in enumerate(zip(NLI_LABELS, balanced_counts(size, 3))):
        for j in range(count):
            slots.append((families[(j + label_index) % len(families)], label))
    rng.shuffle(slots)
    seen: set[tuple] = set()
    items = []
    for family, label in slots:
        build = FAMILIES[family][1]
        for _ in range(_RETRIES):
            pair = build(pools[family, label].draw(), label, rng)
            if pair not in seen:
                break
        seen.add(pair)
        items.append((family, label, pair))
    return items


def nli_rows(size: int, seed: int, split: str, families: list[str], language: str) -> list[dict]:
    return [
        {
            "id": f"nli-{split}-{seed}-{index:06d}",
            "premise": sentence(premise, language),
            "hypothesis": sentence(hypothesis, language),
            "label": label,
        }
        for index, (_family, label, (premise, hypothesis)) in enumerate(nli_items(size, seed, split, families))
    ]
