"""The NLI template families: how one underlying item becomes a (premise, hypothesis) pair.

Each family has a set of *cores* (the content an item is about: a subject and an object or
adjective); the split a core belongs to is fixed by a hash, so train and test items never
share a core. Given a core, a label and a random source, a family builds the two clauses.
"""

from __future__ import annotations

import random
from typing import Callable

from .realise import GENERAL, Act, Clause, Relation, State
from .vocabulary import (
    ADJECTIVE_PAIRS, ADJECTIVES, CATEGORIES, PERSON_VERBS, PLACES, SOMEONE, SUBJECTS, antonym,
    category_of,
)

Core = tuple[str, ...]
Pair = tuple[Clause, Clause]

_OBJECTS = tuple(o for objects in CATEGORIES.values() for o in objects)
_ACTION_CORES: tuple[Core, ...] = tuple((s, o) for s in SUBJECTS for o in _OBJECTS)


def _generalisation(core: Core, label: str, rng: random.Random) -> Pair:
    """Hyponym -> hypernym: "plays the guitar" => "plays an instrument"; the reverse is neutral."""
    subject, obj = core
    category = category_of(obj)
    specific, general = Act(subject, category, obj), Act(subject, category, GENERAL)
    if label == "neutral":
        return general, specific
    premise = _maybe_placed(specific, rng)
    if label == "entailment":
        return premise, general
    return premise, general._replace(positive=False)


def _maybe_placed(action: Act, rng: random.Random) -> Act:
    """Half the time the premise says where: more distinct items, and a distractor for models."""
    return action._replace(place=rng.choice(PLACES)) if rng.random() < 0.5 else action


def _negation(core: Core, label: str, rng: random.Random) -> Pair:
    """Negating the premise's action contradicts it; "no instrument" entails "not the guitar"."""
    subject, obj = core
    category = category_of(obj)
    specific = Act(subject, category, obj)
    if label == "contradiction":
        return _maybe_placed(specific, rng), specific._replace(positive=False)
    if label == "entailment":
        return Act(subject, category, GENERAL, positive=False), specific._replace(positive=False)
    other_category = rng.choice([c for c in CATEGORIES if c != category])
    other = Act(subject, other_category, rng.choice(CATEGORIES[other_category]))
    return specific._replace(positive=False), other


def _location(core: Core, label: str, rng: random.Random) -> Pair:
    """Added place information is neutral, dropping it is entailed, changing it contradicts."""
    subject, obj = core
    action = Act(subject, category_of(obj), obj)
    place, other_place = rng.sample(PLACES, 2)
    if label == "neutral":
        return action, action._replace(place=place)
    if label == "entailment":
        return action._replace(place=place), action
    return action._replace(place=place), action._replace(place=other_place)


_ADJECTIVE_CORES: tuple[Core, ...] = tuple((s, a) for s in SUBJECTS for a in ADJECTIVES)


def _antonym(core: Core, label: str, rng: random.Random) -> Pair:
    """"tall" contradicts "short" and entails "not short"; an unrelated adjective is neutral."""
    subject, adjective = core
    premise = State(subject, adjective)
    if label == "contradiction":
        return premise, State(subject, antonym(adjective))
    if label == "entailment":
        return premise, State(subject, antonym(adjective), positive=False)
    unrelated = [a for pair in ADJECTIVE_PAIRS if adjective not in pair for a in pair]
    return premise, State(subject, rng.choice(unrelated))


_RELATION_CORES: tuple[Core, ...] = tuple(
    (s, o, v) for s in SUBJECTS for o in SUBJECTS if o != s for v in PERSON_VERBS
)


def _overlap(core: Core, label: str, rng: random.Random) -> Pair:
    """Word-overlap traps: the hypothesis reuses the premise's words; swapped roles are neutral."""
    subject, obj, verb = core
    premise = Relation(subject, verb, obj)
    if label == "neutral":
        return premise, Relation(obj, verb, subject)
    if label == "contradiction":
        return premise, premise._replace(positive=False)
    return premise, premise._replace(subject=SOMEONE)


Builder = Callable[[Core, str, random.Random], Pair]

# name -> (cores, builder). The names are the values `families=[...]` accepts.
FAMILIES: dict[str, tuple[tuple[Core, ...], Builder]] = {
    "generalisation": (_ACTION_CORES, _generalisation),
    "negation": (_ACTION_CORES, _negation),
    "location": (_ACTION_CORES, _location),
    "antonym": (_ADJECTIVE_CORES, _antonym),
    "overlap": (_RELATION_CORES, _overlap),
}
