"""Homoglyphs: swap a letter for one that looks (nearly) the same.

Latin, Cyrillic and Greek share many identical-looking letters (the classic spoofing set);
Arabic-script languages have letter variants that render alike (Arabic ي/ك/ه vs Persian/Urdu
ی/ک/ہ); Devanagari and Thai have letter pairs that differ only by a small stroke or tail. The
tables below are ours, chosen from those well-known lookalikes. The base letter of a grapheme
is replaced and its marks kept, so "é" becomes Cyrillic "е" + combining acute, still one
well-formed cluster.
"""

from __future__ import annotations

import random
import unicodedata
from functools import lru_cache

from xexp.compiler.registry.perturbations import HomoglyphParams
from xexp.runtime.robustness.perturbations.base import Outcome, Perturbation, substitute_clusters


def _pairs(*groups: str) -> dict[str, tuple[str, ...]]:
    """Each group is a set of mutually confusable characters."""
    table: dict[str, list[str]] = {}
    for group in groups:
        for char in group:
            table.setdefault(char, []).extend(c for c in group if c != char)
    return {char: tuple(dict.fromkeys(others)) for char, others in table.items()}


# Latin / Cyrillic / Greek, lower then upper case (each string: lookalikes across scripts)
_EUROPEAN = _pairs(
    "aаα", "cс", "eе", "oоο", "pрρ", "xхχ", "yу", "sѕ", "iіι", "jј", "hһ", "dԁ", "wԝ",
    "qԛ", "vν", "kκ", "uυ", "lӏ",
    "AАΑ", "BВΒ", "CС", "EЕΕ", "HНΗ", "IІΙ", "JЈ", "KКΚ", "MМΜ", "NΝ", "OОΟ", "PРΡ",
    "SЅ", "TТΤ", "XХΧ", "YУΥ", "ZΖ",
)
_ARABIC = _pairs("يی", "كک", "هہە", "ىی")
_DEVANAGARI = _pairs("बव", "मभ", "घध", "पष")
_THAI = _pairs("บป", "ผฝ", "พฟ", "ดต", "ขช", "ถภ", "ฎฏ")

CONFUSABLES: dict[str, tuple[str, ...]] = {**_EUROPEAN, **_ARABIC, **_DEVANAGARI, **_THAI}


@lru_cache(maxsize=65536)
def homoglyph_options(cluster: str) -> tuple[str, ...]:
    """Clusters that look like `cluster`: its base letter swapped, its marks kept."""
    base, rest = cluster[0], cluster[1:]
    if base not in CONFUSABLES:
        decomposed = unicodedata.normalize("NFD", base)
        base, rest = decomposed[0], decomposed[1:] + rest
        if base not in CONFUSABLES:
            return ()
    return tuple(unicodedata.normalize("NFC", other + rest) for other in CONFUSABLES[base])


class Homoglyph(Perturbation[HomoglyphParams]):
    name = "homoglyph"

    def _apply(self, text: str, lang: str, rng: random.Random) -> Outcome:
        return substitute_clusters(text, lang, rng, self.params.p, homoglyph_options)
