"""`run_attack`: the entry point the runtime's `attack` node calls.

It validates the parameters against the attack's registry declaration (the same schema the
compiler checked), builds the attack once, derives each example's randomness from the seed and
the example's *content* (so reordering or sharing data never changes an example's result), runs
all examples through `driver.run_batched`, and writes records with `ATTACK_COLUMNS`.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any, Sequence

import numpy as np

from xexp.compiler.registry.base import FAMILY_FIELDS
from xexp.runtime.attacks.driver import DEFAULT_MAX_BATCH, PredictProba, run_batched
from xexp.runtime.attacks.search import Outcome
from xexp.runtime.formats import ATTACK_COLUMNS
from xexp.runtime.implementations import resolve

#: Attacks work on sentence pairs (compiler/registry/attacks.py): the columns each field names.
FIELD_COLUMNS = FAMILY_FIELDS["pair"]



def _entry(name: str):
    # importing the declarations registers them; the compiler package stays free of runtime code
    import xexp.compiler.registry.attacks  # noqa: F401
    from xexp.compiler.registry.base import REGISTRY

    entry = REGISTRY.get("attack", name)
    if entry is None:
        known = ", ".join(REGISTRY.names("attack"))
        raise ValueError(f"unknown attack {name!r}; known attacks: {known}")
    return entry


def example_rng(seed: int, name: str, field: str, premise: str, hypothesis: str) -> random.Random:
    """Randomness of one example's attack: a function of the seed and the example's content."""
    digest = hashlib.sha256(
        "\x1f".join((str(seed), name, field, premise, hypothesis)).encode("utf-8")
    ).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _check_example(index: int, example: dict, label_names: Sequence[str]) -> None:
    for column in ("id", "premise", "hypothesis", "label"):
        if column not in example:
            raise ValueError(f"attack: example #{index} has no {column!r} field")
    for column in FIELD_COLUMNS["both"]:
        if not isinstance(example[column], str):
            raise ValueError(f"attack: example {example['id']!r} field {column!r} is not a string")
    if example["label"] not in label_names:
        raise ValueError(
            f"attack: example {example['id']!r} has label {example['label']!r}, "
            f"not one of {list(label_names)}"
        )


def _record(example: dict, outcome: Outcome, label_names: Sequence[str]) -> dict[str, Any]:
    gold = example["label"]
    predicted = label_names[int(np.argmax(outcome.clean_probs))]
    adv_predicted = label_names[int(np.argmax(outcome.adv_probs))]
    record = {
        "id": str(example["id"]),
        "gold": gold,
        "predicted": predicted,
        "correct": predicted == gold,
        "probs": [float(p) for p in outcome.clean_probs],
        "status": outcome.status,
        "adv_predicted": adv_predicted,
        "adv_correct": adv_predicted == gold,
        "words_changed": outcome.words_changed,
        "words_total": outcome.words_total,
        "queries": outcome.queries,
        "adv_premise": outcome.adv_premise,
        "adv_hypothesis": outcome.adv_hypothesis,
    }
    assert tuple(record) == ATTACK_COLUMNS
    return record


def run_attack(
    name: str,
    params: dict,
    examples: list[dict],
    *,
    lang: str,
    field: str,
    predict_proba: PredictProba,
    label_names: Sequence[str],
    seed: int,
    max_batch: int = DEFAULT_MAX_BATCH,
) -> list[dict]:
    """Attack every example; one ATTACK_COLUMNS record per example, in input order.

    `predict_proba(pairs)` must return an (n, len(label_names)) array; it is called with the
    queries of many examples at once, at most `max_batch` pairs per call.
    """
    entry = _entry(name)
    if field not in FIELD_COLUMNS:
        raise ValueError(f"attack {name}: field must be premise, hypothesis or both, got {field!r}")
    if field not in entry.fields:
        raise ValueError(f"attack {name} cannot touch field {field!r}; it supports {list(entry.fields)}")
    if entry.languages is not None and lang not in entry.languages:
        raise ValueError(f"attack {name} does not support language {lang!r}")
    if len(set(label_names)) != len(label_names) or not label_names:
        raise ValueError(f"attack {name}: label_names must be distinct and non-empty, got {list(label_names)}")
    validated = entry.params(**params).model_dump()
    attack_one = resolve(entry)(validated, lang=lang)

    for index, example in enumerate(examples):
        _check_example(index, example, label_names)
    gold_index = {label: i for i, label in enumerate(label_names)}
    generators = [
        attack_one(
            ex["premise"], ex["hypothesis"], gold_index[ex["label"]], FIELD_COLUMNS[field],
            example_rng(seed, name, field, ex["premise"], ex["hypothesis"]),
        )
        for ex in examples
    ]
    outcomes = run_batched(generators, predict_proba, len(label_names), max_batch)
    return [_record(ex, outcome, label_names) for ex, outcome in zip(examples, outcomes)]
