"""Keyboard typos from each language's usual layout (layouts.json).

A typo replaces one code point of a grapheme with a neighbouring key *of the same kind*: on
InScript or Kedmanee a consonant key sits beside a vowel-sign key, and putting a vowel sign
where a consonant was would leave a mark with no base. Kinds: combining mark, Thai consonant,
Thai leading vowel, other letter. Accented Latin/Greek letters typed with dead keys or an input
method (é, ά, ệ) are typed on their base key, so the base is replaced and the accents kept.
"""

from __future__ import annotations

import json
import random
import unicodedata
from functools import lru_cache
from importlib import resources

from xexp.compiler.registry.perturbations import KeyboardTypoParams
from xexp.errors import SpecValueError
from xexp.runtime.robustness.perturbations.base import Outcome, Perturbation, substitute_clusters
from xexp.runtime.robustness.perturbations.casing import lower, match_case
from xexp.runtime.robustness.perturbations.text import has_base


def key_kind(char: str) -> str | None:
    """The kind of key a character is typed with; None for keys that never make a typo."""
    category = unicodedata.category(char)
    if category[0] == "M":
        return "mark"
    if category[0] != "L":
        return None
    if "\u0e01" <= char <= "\u0e2e":
        return "thai-consonant"
    if "\u0e40" <= char <= "\u0e44":
        return "thai-leading-vowel"
    return "letter"


@lru_cache(maxsize=None)
def layouts() -> dict:
    text = resources.files("xexp.runtime.robustness.perturbations").joinpath("layouts.json").read_text("utf-8")
    return {lang: spec for lang, spec in json.loads(text).items() if not lang.startswith("_")}


@lru_cache(maxsize=None)
def neighbours(lang: str) -> dict[str, tuple[str, ...]]:
    """Key character -> the characters of the same kind on adjacent keys."""
    spec = layouts().get(lang)
    if spec is None:
        raise SpecValueError(f"keyboard_typo: no keyboard layout for language {lang!r}")
    keys = [
        (char, row, offset + col)
        for row, (string, offset) in enumerate(zip(spec["rows"], spec["offsets"]))
        for col, char in enumerate(string)
    ]
    result: dict[str, list[str]] = {}
    for char, row, x in keys:
        kind = key_kind(char)
        if kind is None:
            continue
        near = result.setdefault(char, [])
        for other, other_row, other_x in keys:
            adjacent = (row == other_row and abs(x - other_x) == 1) or (
                abs(row - other_row) == 1 and abs(x - other_x) < 1
            )
            if adjacent and other != char and key_kind(other) == kind and other not in near:
                near.append(other)
    return {char: tuple(near) for char, near in result.items() if near}


@lru_cache(maxsize=65536)
def typo_options(cluster: str, lang: str) -> tuple[str, ...]:
    """Every cluster one typo away from `cluster` (empty when no key of it has a neighbour)."""
    near = neighbours(lang)
    options: list[str] = []
    if not has_base(cluster):
        return ()
    for index, char in enumerate(cluster):
        key = lower(char, lang)
        rest = ""
        if key not in near:  # typed on a base key plus accents: replace the base
            decomposed = unicodedata.normalize("NFD", key)
            key, rest = decomposed[0], decomposed[1:]
            if key not in near:
                continue
        for replacement in near[key]:
            typed = unicodedata.normalize("NFC", match_case(char, replacement, lang) + rest)
            option = cluster[:index] + typed + cluster[index + 1:]
            if option != cluster and option not in options:
                options.append(option)
    return tuple(options)


class KeyboardTypo(Perturbation[KeyboardTypoParams]):
    name = "keyboard_typo"

    def _apply(self, text: str, lang: str, rng: random.Random) -> Outcome:
        return substitute_clusters(text, lang, rng, self.params.p, lambda cluster: typo_options(cluster, lang))
