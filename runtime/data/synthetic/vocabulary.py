"""The language-independent content of the generator: the keys every language module realises.

Items are built from these keys only; a language module supplies the written form of each key.
Keeping the inventory here (and checking every language module against it) is what makes the
data parallel: the same item is the same meaning in every language.
"""

from __future__ import annotations

# Every subject is grammatically masculine singular in all supported languages, so verb and
# adjective agreement (Hindi, Arabic, Russian, Romance) never has to be composed.
SUBJECTS: tuple[str, ...] = ("man", "boy", "teacher", "doctor", "farmer", "student", "driver", "cook")
SOMEONE = "someone"

# category -> hyponyms; the category name is the hypernym ("a guitar" => "an instrument").
CATEGORIES: dict[str, tuple[str, ...]] = {
    "instrument": ("guitar", "piano", "violin", "drums"),
    "fruit": ("apple", "banana", "orange", "pear"),
    "beverage": ("coffee", "tea", "milk", "juice"),
    "animal": ("dog", "cat", "horse", "rabbit"),
    "vehicle": ("car", "truck", "bus", "tractor"),
}

# Pairs of contrary predicate adjectives (one excludes the other).
ADJECTIVE_PAIRS: tuple[tuple[str, str], ...] = (
    ("tall", "short"), ("rich", "poor"), ("young", "old"),
    ("happy", "sad"), ("sick", "healthy"), ("angry", "calm"),
)
ADJECTIVES: tuple[str, ...] = tuple(a for pair in ADJECTIVE_PAIRS for a in pair)

PLACES: tuple[str, ...] = ("park", "garden", "village", "city", "market", "square")

# Verbs relating two people (for role-swap word-overlap traps).
PERSON_VERBS: tuple[str, ...] = ("watch", "wait")

# The English content words a bilingual lexicon must cover (used by code-switching).
CONTENT_WORDS: tuple[str, ...] = (
    SUBJECTS
    + tuple(CATEGORIES)
    + tuple(o for objs in CATEGORIES.values() for o in objs)
    + ADJECTIVES
    + PLACES
    + ("play", "eat", "drink", "feed", "drive", "watch", "wait")
)


def antonym(adjective: str) -> str:
    for a, b in ADJECTIVE_PAIRS:
        if adjective == a:
            return b
        if adjective == b:
            return a
    raise KeyError(adjective)


def category_of(obj: str) -> str:
    for category, objects in CATEGORIES.items():
        if obj in objects:
            return category
    raise KeyError(obj)
