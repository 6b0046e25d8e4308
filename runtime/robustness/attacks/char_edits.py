"""Grapheme-level typos for one word, in whatever script the text is written.

DeepWordBug (Gao et al. 2018) edits one character of an important word: swap two neighbours,
substitute, delete or insert. Done on code points, that breaks Devanagari, Thai or Arabic text
(a vowel sign torn from its consonant is not a typo anyone can make), so every edit here works on
extended grapheme clusters, and the characters it brings in come from the example's own text:
the alphabet of an example is the set of clusters of its words, which keeps each script's
typos inside that script without any per-language table.
"""

from __future__ import annotations

import random
from typing import Literal, Sequence

from xexp.errors import SpecValueError
from xexp.runtime.robustness.perturbations.text import graphemes, is_word_grapheme

EditKind = Literal["swap", "substitute", "delete", "insert"]
EDIT_KINDS: tuple[EditKind, ...] = ("swap", "substitute", "delete", "insert")

#: Candidates proposed per word: DeepWordBug's "use all transformations" tries one random edit
#: of each of the four kinds; a single kind gets as many random positions.
CANDIDATES_PER_WORD = 4

#: Random draws spent per wanted candidate before giving up (a one-cluster word has no swap).
_TRIES_PER_CANDIDATE = 6


def alphabet_of(texts: Sequence[str]) -> tuple[str, ...]:
    """Lower-cased word clusters of `texts`, sorted so that draws are reproducible."""
    found: set[str] = set()
    for text in texts:
        for cluster in set(graphemes(text)):
            if is_word_grapheme(cluster) and not cluster[0].isdigit():
                lowered = cluster.lower()
                if len(graphemes(lowered)) == 1:
                    found.add(lowered)
    return tuple(sorted(found))


def _match_case(template: str, cluster: str) -> str:
    """`cluster` upper-cased when it replaces an upper-case cluster (and stays one cluster)."""
    if template.isupper():
        upper = cluster.upper()
        if len(graphemes(upper)) == 1:
            return upper
    return cluster


def edit_once(
    clusters: list[str], kind: EditKind, alphabet: Sequence[str], rng: random.Random
) -> list[str] | None:
    """One random edit of `kind` on a word given as clusters; None when none is possible."""
    n = len(clusters)
    if kind == "swap":
        spots = [i for i in range(n - 1) if clusters[i] != clusters[i + 1]]
        if not spots:
            return None
        i = rng.choice(spots)
        return clusters[:i] + [clusters[i + 1], clusters[i]] + clusters[i + 2:]
    if kind == "delete":
        if n < 2:  # deleting the only cluster would delete the word, not misspell it
            return None
        i = rng.randrange(n)
        return clusters[:i] + clusters[i + 1:]
    if kind == "substitute":
        if n == 0:
            return None
        i = rng.randrange(n)
        choices = [c for c in alphabet if c != clusters[i].lower()]
        if not choices:
            return None
        return clusters[:i] + [_match_case(clusters[i], rng.choice(choices))] + clusters[i + 1:]
    if kind == "insert":
        if not alphabet:
            return None
        i = rng.randrange(n + 1)
        return clusters[:i] + [rng.choice(alphabet)] + clusters[i:]
    raise SpecValueError(f"unknown edit kind {kind!r}; expected one of {', '.join(EDIT_KINDS)}")


def candidate_edits(
    word: str,
    mode: EditKind | Literal["mixed"],
    alphabet: Sequence[str],
    rng: random.Random,
) -> list[list[str]]:
    """Distinct misspellings of `word`, each as its intended cluster list.

    "mixed" proposes one edit of each kind (in a fixed order); a single kind proposes up to
    `CANDIDATES_PER_WORD` edits of that kind at random positions. The caller checks that each
    candidate still segments into the intended clusters inside its sentence.
    """
    clusters = graphemes(word)
    kinds: list[EditKind] = list(EDIT_KINDS) if mode == "mixed" else [mode] * CANDIDATES_PER_WORD
    if mode != "mixed" and mode not in EDIT_KINDS:
        raise SpecValueError(f"unknown edit mode {mode!r}; expected mixed or one of {', '.join(EDIT_KINDS)}")
    seen = {word}
    out: list[list[str]] = []
    for kind in kinds:
        for _ in range(_TRIES_PER_CANDIDATE):
            edited = edit_once(clusters, kind, alphabet, rng)
            if edited is None:
                break
            text = "".join(edited)
            if text not in seen:
                seen.add(text)
                out.append(edited)
                break
    return out
