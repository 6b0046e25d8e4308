"""`run_attack`: the entry point the runtime's `attack` node calls.

It validates the parameters against the attack's registry declaration (the same schema the
compiler checked), builds the attack once, derives each example's randomness from the seed and
the example's *content* (so reordering or sharing data never changes an example's result), runs
all examples through `driver.run_batched`, and writes records with `ATTACK_COLUMNS`.
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any, Generator, Protocol, Sequence

import numpy as np

from xexp.compiler.registry.base import FAMILY_FIELDS
from xexp.errors import SpecValueError
from xexp.runtime.robustness.attacks.driver import DEFAULT_MAX_BATCH, PredictProba, run_batched
from xexp.runtime.robustness.attacks.search import Outcome, Pair
from xexp.runtime.robustness.attacks.targets import PairTarget
from xexp.runtime.data.formats import ATTACK_COLUMNS
from xexp.runtime.implementations import entry_of, resolve


class ExampleAttack(Protocol):
    """What an attack's implementation (its registry entry's `implementation=`: a factory called
    with the validated parameters, `lang=` and, where the entry declares model parameters,
    `models=`) returns, whichever attack it is: the search of one example, which yields batches
    of queries, is sent their probabilities and returns its `Outcome` (search.greedy_attack)."""

    def __call__(self, clean: dict[str, str], gold: Any, fields: Sequence[str], rng: random.Random,
                 fixed_tokens: bool = False, protected: Any = None) -> Generator[list[Pair], np.ndarray, Outcome]: ...


def example_rng(seed: int, name: str, field: str, *texts: str) -> random.Random:
    """Randomness of one example's attack: a function of the seed and the example's content."""
    digest = hashlib.sha256("\x1f".join((str(seed), name, field, *texts)).encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _adapted(search, target, example: dict, gold: int):
    """One example's search, its queries turned into (example, texts) for the target and the
    target's answers into verdicts for the search. Returns (outcome, clean answer, answer on
    the adversarial text): every text the search settles on was asked, so both are at hand."""
    seen: dict[tuple, Any] = {}
    clean = None
    request = next(search)
    while True:
        answers = yield [(example, texts) for texts in request]
        seen.update(zip(request, answers))
        if clean is None:
            clean = answers[0]
        verdicts = np.array([target.verdict(example, clean, a) for a in answers])
        try:
            request = search.send(verdicts)
        except StopIteration as stop:
            outcome: Outcome = stop.value
            return outcome, clean, seen[tuple(outcome.adv_texts.values())]


def _record(example: dict, target, outcome: Outcome, clean, adv) -> dict[str, Any]:
    own = target.record(example, clean, adv)
    record = {
        "id": str(example["id"]), "gold": own.pop("gold"), "predicted": own.pop("predicted"),
        "correct": own.pop("correct"), "probs": own.pop("probs"), "status": outcome.status,
        "adv_predicted": own.pop("adv_predicted"), "adv_correct": own.pop("adv_correct"),
        "words_changed": outcome.words_changed, "words_total": outcome.words_total,
        "queries": outcome.queries,
        "adv_premise": outcome.adv_premise, "adv_hypothesis": outcome.adv_hypothesis,
    }
    assert tuple(record) == ATTACK_COLUMNS
    if target.family != "pair":  # the changed texts by field, and the task's own figures
        record["adv_text"] = json.dumps(outcome.adv_texts, ensure_ascii=False)
        record.update(own)
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
    models: dict[str, str] | None = None,
) -> list[dict]:
    """Attack every sentence pair; one ATTACK_COLUMNS record per example, in input order.

    `predict_proba(pairs)` must return an (n, len(label_names)) array; it is called with the
    queries of many examples at once, at most `max_batch` pairs per call.
    """
    if field not in FAMILY_FIELDS["pair"]:
        raise SpecValueError(f"attack {name}: field must be premise, hypothesis or both, got {field!r}")
    if len(set(label_names)) != len(label_names) or not label_names:
        raise ValueError(f"attack {name}: label_names must be distinct and non-empty, got {list(label_names)}")
    return run_task_attack(name, params, examples, lang=lang, field=field,
                           target=PairTarget(predict_proba, label_names), seed=seed, max_batch=max_batch,
                           models=models)


def run_task_attack(name: str, params: dict, examples: list[dict], *, lang: str, field: str, target,
                    seed: int, max_batch: int = DEFAULT_MAX_BATCH, models: dict[str, str] | None = None) -> list[dict]:
    """Attack every example of `target`'s task type (runtime/robustness/attacks/targets.py); one record
    per example: ATTACK_COLUMNS, plus `adv_text` and the task's own figures off pair tasks.
    `models`: loadable paths of the models the attack names as tools (word_attack's mlm)."""
    entry = entry_of("attack", name)
    if target.family != "tagging" and field not in entry.fields:
        raise SpecValueError(f"attack {name} cannot touch field {field!r}; it supports {list(entry.fields)}")
    if entry.languages is not None and lang not in entry.languages:
        raise SpecValueError(f"attack {name} does not support language {lang!r}")
    validated = entry.params(**params).model_dump()
    tools = {"models": dict(models or {})} if entry.model_params else {}
    attack_one: ExampleAttack = resolve(entry)(validated, lang=lang, **tools)

    for index, example in enumerate(examples):
        target.check(index, example)
    generators = []
    for ex in examples:
        texts = target.texts(ex)
        search = attack_one(texts, target.gold(ex), target.attacked(field, ex),
                            example_rng(seed, name, field, *texts.values()),
                            fixed_tokens=target.fixed_tokens, protected=target.protected(ex))
        generators.append(_adapted(search, target, ex, target.gold(ex)))
    results = run_batched(generators, target.ask, max_batch)
    return [_record(ex, target, *result) for ex, result in zip(examples, results)]
