"""The distraction stress tests of Naik et al. (2018), in every XNLI language.

Naik et al. append tautologies that leave the label unchanged: "and true is true" to the
hypothesis (word overlap), "and false is not true" to the hypothesis (negation: adds a negation
word without changing meaning) and "and true is true" five times to the premise (length
mismatch). A model that keys on overlap, on negation words or on length changes its answer.
The translations below are ours; they keep the tautologies literal ("true"/"false" as truth
values) rather than idiomatic.
"""

from __future__ import annotations

import random

from xexp.compiler.registry.perturbations import StressParams
from xexp.errors import SpecValueError
from xexp.runtime.robustness.perturbations.base import Outcome, Perturbation

#: language -> (tautology "and true is true", negated tautology "and false is not true")
TAUTOLOGIES: dict[str, tuple[str, str]] = {
    "en": ("and true is true", "and false is not true"),
    "ar": ("والصحيح صحيح", "والخطأ ليس صحيحا"),
    "bg": ("и истината е истина", "и лъжата не е истина"),
    "de": ("und wahr ist wahr", "und falsch ist nicht wahr"),
    "el": ("και το αληθές είναι αληθές", "και το ψευδές δεν είναι αληθές"),
    "es": ("y verdadero es verdadero", "y falso no es verdadero"),
    "fr": ("et vrai est vrai", "et faux n'est pas vrai"),
    "hi": ("और सच सच है", "और झूठ सच नहीं है"),
    "ru": ("и истина есть истина", "и ложь не есть истина"),
    "sw": ("na kweli ni kweli", "na uongo si kweli"),
    "th": ("และจริงคือจริง", "และเท็จไม่ใช่จริง"),
    "tr": ("ve doğru doğrudur", "ve yanlış doğru değildir"),
    "ur": ("اور سچ سچ ہے", "اور جھوٹ سچ نہیں ہے"),
    "vi": ("và đúng là đúng", "và sai không phải là đúng"),
    "zh": ("而且真就是真", "而且假不是真"),
}

#: Languages written without spaces between words or clauses.
_UNSPACED = frozenset({"zh", "ja"})
LENGTH_MISMATCH_REPEATS = 5


def suffix_for(test: str, lang: str) -> str:
    """What the stress test appends to a text of language `lang` (already translated)."""
    if lang not in TAUTOLOGIES:
        raise SpecValueError(
            f"stress: no translation of the tautologies for language {lang!r} "
            f"(have: {', '.join(sorted(TAUTOLOGIES))}); use language=en"
        )
    true_is_true, false_is_not_true = TAUTOLOGIES[lang]
    joiner = "" if lang in _UNSPACED else " "
    if test == "negation":
        return joiner + false_is_not_true
    if test == "word_overlap":
        return joiner + true_is_true
    return "".join(joiner + true_is_true for _ in range(LENGTH_MISMATCH_REPEATS))


class StressTest(Perturbation[StressParams]):
    name = "stress"

    def _apply(self, text: str, lang: str, rng: random.Random) -> Outcome:
        phrase_lang = "en" if self.params.language == "en" else lang
        suffix = suffix_for(self.params.test, phrase_lang)
        return Outcome(text.rstrip() + suffix, 1, 1)
