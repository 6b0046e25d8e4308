"""Character noise: insert, delete, substitute or swap graphemes inside words.

Every grapheme of every word draws once: with probability p it is edited by one of the allowed
operations that is possible there, so the realised share of edited graphemes tracks p. Edits
move whole grapheme clusters, and new graphemes come from the edited word's script (see
`alphabets`), so a Devanagari vowel sign or a Thai tone mark is never separated from its base.
A swap exchanges the grapheme with the next one of the same word; the moved partner still
draws for itself, which keeps every draw independent.
"""

from __future__ import annotations

import random

from xexp.compiler.registry.perturbations import CharNoiseParams
from xexp.runtime.robustness.perturbations.alphabets import alphabet_for
from xexp.runtime.robustness.perturbations.base import Outcome, Perturbation, map_words
from xexp.runtime.robustness.perturbations.casing import match_case
from xexp.runtime.robustness.perturbations.text import graphemes, has_base


class CharNoise(Perturbation[CharNoiseParams]):
    name = "char_noise"

    def _apply(self, text: str, lang: str, rng: random.Random) -> Outcome:
        p = self.params.p
        allowed = self.params.ops

        def change(text_of_word: str) -> tuple[str, int, int]:
            alphabet = alphabet_for(text_of_word, lang)
            word = graphemes(text_of_word)
            result: list[str] = []
            units = changed = 0
            i = 0
            while i < len(word):
                cluster = word[i]
                ops = [op for op in allowed if _possible(op, word, i, alphabet)] if has_base(cluster) else []
                if not ops:
                    result.append(cluster)
                    i += 1
                    continue
                units += 1
                if rng.random() >= p:
                    result.append(cluster)
                    i += 1
                    continue
                changed += 1
                op = ops[rng.randrange(len(ops))]
                if op == "delete":
                    pass
                elif op == "insert":
                    result.append(cluster)
                    result.append(match_case(cluster, alphabet[rng.randrange(len(alphabet))], lang))
                elif op == "substitute":
                    result.append(match_case(cluster, _other_letter(cluster, alphabet, rng), lang))
                else:  # swap: the partner moves here, this cluster goes on to draw at i + 1
                    result.append(word[i + 1])
                    word[i + 1] = cluster
                i += 1
            return "".join(result), units, changed

        return map_words(text, lang, change)


def _possible(op: str, word: list[str], i: int, alphabet: tuple[str, ...]) -> bool:
    if op == "delete":  # deleting a one-grapheme word would be word dropout, not a typo
        return len(word) > 1
    if op == "insert":
        return bool(alphabet)
    if op == "substitute":
        return len(alphabet) > 1
    return i + 1 < len(word) and word[i + 1] != word[i] and has_base(word[i + 1])  # swap


def _other_letter(cluster: str, alphabet: tuple[str, ...], rng: random.Random) -> str:
    """A letter of `alphabet` different from `cluster` (case-insensitively)."""
    current = cluster.lower()
    while True:
        letter = alphabet[rng.randrange(len(alphabet))]
        if letter != current:
            return letter
