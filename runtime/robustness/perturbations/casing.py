"""Case noise, and the case helpers other perturbations use to keep a letter's case.

Only one-to-one case pairs are flipped: German ß (upper "SS") or a final sigma (whose upper
case lowers back to σ) would change the text's length or not survive a round trip, so they are
not units. Turkish and Azeri map i↔İ and ı↔I, which str.upper/lower get wrong.
"""

from __future__ import annotations

import random
from functools import lru_cache

from xexp.compiler.registry.perturbations import CaseNoiseParams
from xexp.runtime.robustness.perturbations.base import Outcome, Perturbation, substitute_clusters

_DOTTED_LANGUAGES = frozenset({"tr", "az"})
_TURKISH_UPPER = {"i": "İ", "ı": "I"}
_TURKISH_LOWER = {"İ": "i", "I": "ı"}


def upper(char: str, lang: str) -> str:
    if lang in _DOTTED_LANGUAGES and char in _TURKISH_UPPER:
        return _TURKISH_UPPER[char]
    return char.upper()


def lower(char: str, lang: str) -> str:
    if lang in _DOTTED_LANGUAGES and char in _TURKISH_LOWER:
        return _TURKISH_LOWER[char]
    return char.lower()


def _flip_char(char: str, lang: str) -> str | None:
    if char == lower(char, lang) == upper(char, lang):
        return None
    flipped = upper(char, lang) if char == lower(char, lang) else lower(char, lang)
    if len(flipped) != 1 or flipped == char:
        return None
    back = upper(flipped, lang) if flipped == lower(flipped, lang) else lower(flipped, lang)
    return flipped if back == char else None


@lru_cache(maxsize=65536)
def flip_case(cluster: str, lang: str) -> str | None:
    """The cluster with its base letter's case flipped, or None when it has no clean pair."""
    flipped = _flip_char(cluster[0], lang)
    return None if flipped is None else flipped + cluster[1:]


def match_case(template: str, replacement: str, lang: str) -> str:
    """`replacement` in upper case when `template`'s base letter is upper case."""
    base = template[0]
    if base != lower(base, lang) and replacement:
        first = upper(replacement[0], lang)
        if len(first) == 1:
            return first + replacement[1:]
    return replacement


class CaseNoise(Perturbation[CaseNoiseParams]):
    name = "case_noise"

    def _apply(self, text: str, lang: str, rng: random.Random) -> Outcome:
        return substitute_clusters(text, lang, rng, self.params.p, lambda cluster: flip_case(cluster, lang))
