"""Declarations of the model-agnostic perturbations a spec may name.

Each `Params` subclass is the parameter schema of one registered perturbation; its docstring is
the user-facing documentation and names every parameter. Language lists are honest: a
perturbation is declared only for languages where it does something meaningful, so the compiler
can reject e.g. `case_noise` on Thai before anything runs. Implementations live in
`xexp.runtime.robustness.perturbations` and are imported by the runtime only. `keeps_tokens=True` marks
the ones that only change characters inside words, so they apply to tagged text word by word
with the tags kept (token_classification targets accept only these).

Fields (`on FIELD`, compiler/registry/base.py FAMILY_FIELDS): every perturbation but `stress`
works on the text fields of any task family. nli and paraphrase: premise, hypothesis, both
(default: both). extractive_qa: question, context, both (default: question); on the context
the answer spans are perturbed consistently with the text around them, so every answer is
still found at its (recomputed) offset and the gold answer is the perturbed span, what the
perturbed context contains (runtime/robustness/perturbations/fields.py). multiple_choice: context,
endings (each ending perturbed; the label kept), both (default: endings).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from xexp.compiler.languages import ALL_XNLI, KNOWN_LANGUAGES
from xexp.compiler.registry.base import FAMILY_FIELDS, Params, register
from xexp.compiler.registry.muse import muse_language
from xexp.compiler.registry.sources import SYNTHETIC_LANGUAGES, TEXT_TASKS

_RUNTIME = "xexp.runtime.robustness.perturbations"
#: Perturbations that only change characters inside words also apply to tagged text.
TOKEN_KEEPING_TASKS = (*TEXT_TASKS, "token_classification")

#: Languages whose script has upper and lower case.
CASEFUL_LANGUAGES = frozenset({"bg", "de", "el", "en", "es", "fr", "ru", "sw", "tr", "vi",
                               "af", "et", "eu", "hu", "jv", "ms", "tl", "yo", "kk"})
#: Languages with a keyboard layout in runtime/robustness/perturbations/layouts.json (zh types through
#: pinyin input methods, where key-neighbour typos do not map onto characters: unsupported).
KEYBOARD_LANGUAGES = ALL_XNLI - {"zh"}
#: Languages with a confusable table (Han is left out: no small honest table exists).
HOMOGLYPH_LANGUAGES = ALL_XNLI - {"zh"}
#: Languages whose ordinary text carries strippable marks (English, Swahili and Chinese do not).
#: Of XTREME's tagging languages beyond XNLI, those whose letters carry marks (af et hu yo).
DIACRITIC_LANGUAGES = (ALL_XNLI - {"en", "sw", "zh"}) | {"af", "et", "hu", "yo"}

#: The fields of a sentence pair: what the NLI-only and pair-only entries may touch.
PAIR_FIELDS = tuple(FAMILY_FIELDS["pair"])

CharOp = Literal["insert", "delete", "substitute", "swap"]
SpaceOp = Literal["insert", "remove"]


def _split_ops(value):
    """Accept "insert|delete" (the spelling used in descriptions) as well as a sequence."""
    if isinstance(value, str):
        value = [part.strip() for part in value.replace(",", "|").split("|") if part.strip()]
    if isinstance(value, (list, tuple)):
        if not value:
            raise ValueError("at least one operation is required")
        return tuple(dict.fromkeys(value))  # dedupe, keep order
    return value


@register("char_noise", "perturbation", task_types=TOKEN_KEEPING_TASKS, implementation=f"{_RUNTIME}.char_noise:CharNoise",
          positional=("p",), keeps_tokens=True)
class CharNoiseParams(Params):
    """Character noise at the grapheme level: each grapheme of a word is, with probability `p`,
    edited by one operation drawn from `ops` (insert, delete, substitute, swap with the next
    grapheme). Inserted and substituted graphemes come from the alphabet of the edited word's
    own script, so Hindi gets Devanagari letters and Thai gets Thai consonants."""

    p: float = Field(0.05, ge=0, le=1)
    ops: Annotated[tuple[CharOp, ...], BeforeValidator(_split_ops)] = (
        "insert", "delete", "substitute", "swap")


@register("keyboard_typo", "perturbation", task_types=TOKEN_KEEPING_TASKS, implementation=f"{_RUNTIME}.keyboard:KeyboardTypo",
          positional=("p",), keeps_tokens=True, languages=KEYBOARD_LANGUAGES)
class KeyboardTypoParams(Params):
    """Keyboard typos: each grapheme that can be typed on the language's usual layout is, with
    probability `p`, replaced by a neighbouring key of the same kind (a letter by a letter, a
    vowel sign by a vowel sign). Not available for zh (typed through pinyin input methods)."""

    p: float = Field(0.05, ge=0, le=1)


@register("homoglyph", "perturbation", task_types=TOKEN_KEEPING_TASKS, implementation=f"{_RUNTIME}.homoglyph:Homoglyph",
          positional=("p",), keeps_tokens=True, languages=HOMOGLYPH_LANGUAGES)
class HomoglyphParams(Params):
    """Homoglyphs: each grapheme that has a visually confusable counterpart (Latin/Cyrillic/
    Greek lookalikes, Arabic/Persian letter variants, look-alike Devanagari and Thai letters)
    is replaced with probability `p`."""

    p: float = Field(0.1, ge=0, le=1)


@register("strip_diacritics", "perturbation", task_types=TOKEN_KEEPING_TASKS,
          implementation=f"{_RUNTIME}.diacritics:StripDiacritics", positional=("p",), keeps_tokens=True,
          languages=DIACRITIC_LANGUAGES)
class StripDiacriticsParams(Params):
    """Diacritic stripping: each grapheme carrying a strippable mark loses its marks with
    probability `p` (default 1: all). Latin/Greek/Cyrillic accents (Cyrillic й→и and ё→е
    included), Arabic harakat and hamza marks, Devanagari vowel signs/virama/nukta/anusvara,
    Thai above/below vowels and tone marks."""

    p: float = Field(1.0, ge=0, le=1)


@register("case_noise", "perturbation", task_types=TOKEN_KEEPING_TASKS, implementation=f"{_RUNTIME}.casing:CaseNoise",
          positional=("p",), keeps_tokens=True, languages=CASEFUL_LANGUAGES)
class CaseNoiseParams(Params):
    """Case noise: each cased grapheme has its case flipped with probability `p` (Turkish
    dotted/dotless i handled). Only for languages whose script has case."""

    p: float = Field(0.1, ge=0, le=1)


@register("space_noise", "perturbation", task_types=TEXT_TASKS, implementation=f"{_RUNTIME}.spacing:SpaceNoise",
          positional=("p",))
class SpaceNoiseParams(Params):
    """Whitespace noise: each word is, with probability `p`, either split by an inserted space
    (inside the word, or for zh/th between it and the next segment) or glued to the next word by
    removing the space between them; `ops` restricts the choice (insert, remove)."""

    p: float = Field(0.1, ge=0, le=1)
    ops: Annotated[tuple[SpaceOp, ...], BeforeValidator(_split_ops)] = ("insert", "remove")


@register("word_shuffle", "perturbation", task_types=TEXT_TASKS, implementation=f"{_RUNTIME}.word_order:WordShuffle",
          positional=("window",))
class WordShuffleParams(Params):
    """Local word shuffle: words are permuted inside consecutive windows of `window` words
    (separators and punctuation stay in place)."""

    window: int = Field(3, ge=2, le=100)


@register("word_drop", "perturbation", task_types=TEXT_TASKS, implementation=f"{_RUNTIME}.word_order:WordDrop",
          positional=("p",))
class WordDropParams(Params):
    """Word dropout: each word is deleted with probability `p` (with one adjacent space); at
    least one word is always kept."""

    p: float = Field(0.1, ge=0, le=1)


@register("word_repeat", "perturbation", task_types=TEXT_TASKS, implementation=f"{_RUNTIME}.word_order:WordRepeat",
          positional=("p",))
class WordRepeatParams(Params):
    """Word repetition: each word is doubled with probability `p`."""

    p: float = Field(0.1, ge=0, le=1)


@register("stress", "perturbation", task_types=("nli",), implementation=f"{_RUNTIME}.stress:StressTest",
          positional=("test",), languages=ALL_XNLI, default_field="hypothesis", fields=PAIR_FIELDS,
          default_field_by_param={"test": {"length_mismatch": "premise"}})
class StressParams(Params):
    """NLI distraction stress tests of Naik et al. (2018), for NLI targets only (a tautology
    appended to a hypothesis tests inference; appended to a QA passage or an answer choice it
    would test something else, and it would land inside answer spans): `test` is "negation" (append "and
    false is not true"), "word_overlap" (append "and true is true") or "length_mismatch"
    (append "and true is true" five times; the paper appends it to the premise); `language`
    is "own" (the tautology translated into the example's language) or "en"."""

    test: Literal["negation", "length_mismatch", "word_overlap"]
    language: Literal["own", "en"] = "own"


class LexiconRef(BaseModel):
    """A bilingual lexicon: `{"kind": "muse", "path": "en-de.txt"}` (MUSE format, one
    `english<TAB>foreign` pair a line) or `{"kind": "synthetic"}` (the demo's generator)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["muse", "synthetic"]
    path: str | None = None
    sha256: str | None = None  # the file's content, filled in by lowering (compiler/inputs.py)

    @model_validator(mode="after")
    def _path_matches_kind(self) -> "LexiconRef":
        if self.kind == "muse" and not self.path:
            raise ValueError("a muse lexicon needs a 'path' (an en-<lang>.txt file)")
        if self.kind == "synthetic" and self.path is not None:
            raise ValueError("a synthetic lexicon takes no 'path'")
        return self

    def holds(self, foreign: str, lang: str, *, by_name_only: bool = False) -> bool:
        """Whether this lexicon (its path's `{lang}` filled with `lang`) has English-`foreign`
        pairs: the synthetic one for its languages, a MUSE file when its name says so (or, with
        `by_name_only` False, when its name says nothing)."""
        if self.kind == "synthetic":
            return foreign in SYNTHETIC_LANGUAGES
        named = muse_language(str(self.path).replace("{lang}", lang))
        return named == foreign or (named is None and not by_name_only)


@register("code_switch", "perturbation", task_types=TEXT_TASKS, implementation=f"{_RUNTIME}.code_switch:CodeSwitch",
          positional=("p",))
class CodeSwitchParams(Params):
    """Code-switching: each word found in the bilingual `lexicon` is replaced, with probability
    `p`, by a translation: into English for non-English text (the en-<lang> lexicon read
    backwards), into language `to` for English text (`to` is required there and ignored for
    other languages, so one entry can cover English and non-English rows)."""

    p: float = Field(0.3, ge=0, le=1)
    lexicon: LexiconRef
    to: str | None = None

    @field_validator("to")
    @classmethod
    def _known_language(cls, value: str | None) -> str | None:
        if value is not None and value not in KNOWN_LANGUAGES:
            raise ValueError(f"unknown language code {value!r} for 'to'")
        return value

    def language_problem(self, lang: str) -> str | None:
        if lang == "en" and self.to in (None, "en"):
            return "on English text it needs to=<language> (the language to switch into)"
        foreign = self.to if lang == "en" else lang
        assert foreign is not None
        if not self.lexicon.holds(foreign, lang):
            return f"its lexicon has no English-{foreign} pairs for {lang} text"
        return None
