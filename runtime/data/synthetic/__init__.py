"""`synthetic(...)`: small, deterministic, parallel multilingual NLI data for the offline demo.

Why it exists: the demo must run with no model hub and no dataset download, yet still show a
multilingual encoder fine-tuned on English NLI and evaluated zero-shot in other languages. So
we write a few templates and a small lexicon ourselves and realise the *same* underlying items
in every language (en de es fr ru hi zh ar), like XNLI's translated test sets.

How it works: an item is a language-independent clause pair (vocabulary.py, families.py);
each language module (lang_xx.py) writes every verb phrase out in full, affirmative and
negative, so no inflection is ever composed; all subjects are masculine singular, which keeps
agreement trivial in Hindi, Arabic, Russian and the Romance languages. The random source depends
on (seed, split, task) and never on the language, so ids and items are the same across
languages. Train/dev/test draw from disjoint sets of "cores" (subject + object/adjective).

NLI families (`families=[...]` picks a subset; all by default):
  generalisation  "plays the guitar" => "plays an instrument"; reverse neutral; "no instrument" contradicts
  negation        negated action contradicts; "no instrument" => "not the guitar"; other activity neutral
  location        added place neutral; dropped place entailed; changed place contradicts
  antonym         "tall" vs "short" contradicts; "tall" => "not short"; unrelated adjective neutral
  overlap         word-overlap traps: swapped roles neutral, negation contradicts, "someone" entailed
Labels are balanced exactly (size divisible by 3; otherwise counts differ by at most one).
Tasks: "nli" (every language) and "multiple_choice" (pick the ending that follows from the
context; every language, though the demo uses it in English as an intermediate task).

What it can show: that the pipeline runs end to end offline, that fine-tuning learns something
transferable across languages and scripts, and the gross effects of perturbations (typos,
code-switching with `bilingual_lexicon`, negation stress tests) on a model trained on it.
What it cannot show: anything about real NLI ability or real cross-lingual transfer; it is no
stand-in for XNLI. The vocabulary is ~60 words and a few sentence shapes, so lexical shortcuts
exist by construction (a negation word in the hypothesis often means contradiction, an added
place means neutral, length differences carry label information), absolute accuracies say
little, and pools are small: a split larger than its pool of distinct items repeats items.
"""

from __future__ import annotations

from typing import Any

from xexp.errors import SpecValueError

from .families import FAMILIES
from .multiple_choice import multiple_choice_rows
from .nli import nli_rows
from .realise import SUPPORTED_LANGUAGES, check_language, language_module
from .vocabulary import CONTENT_WORDS

TASKS = ("nli", "multiple_choice")
_KNOWN_PARAMS = {"source", "task", "size", "seed", "families"}

__all__ = ["FAMILIES", "TASKS", "bilingual_lexicon", "generate", "languages"]


def languages() -> list[str]:
    """The languages every item can be realised in (XNLI codes)."""
    return list(SUPPORTED_LANGUAGES)


def generate(params: dict[str, Any], *, split: str, language: str | None) -> list[dict]:
    """`size` examples of `params["task"]` for one split, in `language` (None = English)."""
    unknown = set(params) - _KNOWN_PARAMS
    if unknown:
        raise SpecValueError(f"synthetic data: unknown parameter(s) {sorted(unknown)}; "
                             f"expected some of {sorted(_KNOWN_PARAMS - {'source'})}")
    task = params.get("task", "nli")
    size = params.get("size", 600)
    seed = params.get("seed", 0)
    if task not in TASKS:
        raise SpecValueError(f"synthetic data: unsupported task {task!r}; supported: {', '.join(TASKS)}")
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise SpecValueError(f"synthetic data: size must be a positive integer, got {size!r}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise SpecValueError(f"synthetic data: seed must be an integer, got {seed!r}")
    if not isinstance(split, str) or not split:
        raise SpecValueError(f"synthetic data: split must be a non-empty string, got {split!r}")
    language = check_language(language)
    if task == "multiple_choice":
        if params.get("families") is not None:
            raise SpecValueError("synthetic data: 'families' applies to task 'nli' only")
        return multiple_choice_rows(size, seed, split, language)
    return nli_rows(size, seed, split, _families(params.get("families")), language)


def _families(requested: Any) -> list[str]:
    if requested is None:
        return list(FAMILIES)
    if isinstance(requested, str) or not isinstance(requested, (list, tuple)) or not requested:
        raise SpecValueError(f"synthetic data: families must be a non-empty list of names from "
                             f"{', '.join(FAMILIES)}; got {requested!r}")
    unknown = [f for f in requested if f not in FAMILIES]
    if unknown:
        raise SpecValueError(f"synthetic data: unknown famil{'y' if len(unknown) == 1 else 'ies'} "
                             f"{unknown}; available: {', '.join(FAMILIES)}")
    return list(dict.fromkeys(requested))


def bilingual_lexicon(lang: str) -> dict[str, list[str]]:
    """English content word -> its translations in `lang` (the generator's own vocabulary)."""
    lang = check_language(lang)
    if lang == "en":
        return {word: [word] for word in CONTENT_WORDS}
    lexicon = language_module(lang).LEXICON
    return {word: list(lexicon[word]) for word in CONTENT_WORDS}
