"""Diacritic stripping, per script, always leaving well-formed text.

What is removed (after NFD, then recomposed with NFC):

* Latin, Greek, Cyrillic (incl. Vietnamese): every combining mark, so é→e, ά→α, ệ→e, ş→s.
  Cyrillic й and ё are letters of their own in Russian and Bulgarian, but they are spelt with a
  breve/diaeresis and writers routinely drop them (е for ё is standard print practice; и for й
  is the common "no-diacritics" corruption), so they are stripped too: й→и, ё→е. Letters
  without a decomposition (ß, ı, ø, đ) stay.
* Arabic script (ar, ur): harakat, tanwin, shadda, sukun, superscript alef and the hamza/madda
  marks, so أ/إ/آ→ا and ؤ→و; informal Arabic drops exactly these.
* Devanagari (hi): vowel signs, virama, nukta, anusvara/candrabindu/visarga: क्षि → कष.
* Thai: above/below vowels and tone marks (the non-spacing marks); spacing vowels stay.

Only marks are removed and every grapheme keeps its base character, so no mark can be left
orphaned. A grapheme that loses its marks counts as one changed unit.
"""

from __future__ import annotations

import random
import unicodedata
from functools import lru_cache

from xexp.compiler.registry.perturbations import StripDiacriticsParams
from xexp.runtime.robustness.perturbations.base import Outcome, Perturbation, substitute_clusters


def _is_strippable(mark: str) -> bool:
    if unicodedata.category(mark)[0] != "M":
        return False
    code = ord(mark)
    return (
        0x0300 <= code <= 0x036F  # combining diacritical marks (Latin, Greek, Cyrillic)
        or 0x1AB0 <= code <= 0x1AFF or 0x1DC0 <= code <= 0x1DFF  # extended / supplement
        or 0x0483 <= code <= 0x0489  # Cyrillic combining marks
        or 0x064B <= code <= 0x065F or code == 0x0670 or 0x06D6 <= code <= 0x06ED  # Arabic
        or 0x0900 <= code <= 0x0903 or 0x093A <= code <= 0x094F  # Devanagari signs
        or 0x0951 <= code <= 0x0957 or 0x0962 <= code <= 0x0963
        or 0x0E31 <= code <= 0x0E3A or 0x0E47 <= code <= 0x0E4E  # Thai non-spacing marks
    )


@lru_cache(maxsize=65536)
def stripped(cluster: str) -> str | None:
    """`cluster` without its strippable marks, or None when it has none."""
    decomposed = unicodedata.normalize("NFD", cluster)
    kept = decomposed[0] + "".join(c for c in decomposed[1:] if not _is_strippable(c))
    if _is_strippable(decomposed[0]):  # a stray mark with no base: leave it as it came
        return None
    result = unicodedata.normalize("NFC", kept)
    return None if result == unicodedata.normalize("NFC", cluster) else result


class StripDiacritics(Perturbation[StripDiacriticsParams]):
    name = "strip_diacritics"

    def _apply(self, text: str, lang: str, rng: random.Random) -> Outcome:
        return substitute_clusters(text, lang, rng, self.params.p, stripped)
