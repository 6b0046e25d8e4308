"""Turning language-independent clause specifications into sentences of one language.

A clause is a small tuple (see `Act`, `State`, `Relation`); every language module writes out
each verb phrase in full (affirmative and negative), so nothing here inflects words: it only
picks the written form and puts subject, phrase and full stop together.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from types import ModuleType
from typing import NamedTuple

from xexp.errors import SpecValueError

SUPPORTED_LANGUAGES: tuple[str, ...] = ("en", "de", "es", "fr", "ru", "hi", "zh", "ar")

GENERAL = "*"  # the object key that stands for the category itself (the hypernym)


class Act(NamedTuple):
    """`subject` does something to `obj` of `category` (obj GENERAL = the category), maybe at `place`."""

    subject: str
    category: str
    obj: str
    positive: bool = True
    place: str | None = None


class State(NamedTuple):
    """`subject` is (or is not) `adjective`."""

    subject: str
    adjective: str
    positive: bool = True


class Relation(NamedTuple):
    """`subject` `verb`s `obj` (another person), or does not."""

    subject: str
    verb: str
    obj: str
    positive: bool = True


Clause = Act | State | Relation


def check_language(language: str | None) -> str:
    language = "en" if language is None else language
    if language not in SUPPORTED_LANGUAGES:
        raise SpecValueError(
            f"synthetic data: unsupported language {language!r}; supported: "
            f"{', '.join(SUPPORTED_LANGUAGES)}"
        )
    return language


@lru_cache(maxsize=None)
def language_module(language: str) -> ModuleType:
    return importlib.import_module(f"{__package__}.lang_{check_language(language)}")


def sentence(clause: Clause, language: str) -> str:
    lang = language_module(language)
    subject = lang.PERSONS[clause.subject][0]
    if isinstance(clause, Act):
        phrase = _act_phrase(lang, clause)
    elif isinstance(clause, State):
        phrase = lang.ADJECTIVES[clause.adjective][0 if clause.positive else 1]
    else:
        template = lang.PERSON_VERBS[clause.verb][0 if clause.positive else 1]
        phrase = template.format(obj=lang.PERSONS[clause.obj][1])
    return f"{subject}{lang.JOINER}{phrase}{lang.FULL_STOP}"


def _act_phrase(lang: ModuleType, act: Act) -> str:
    category = lang.CATEGORIES[act.category]
    if act.obj == GENERAL:
        if act.place is not None:
            raise ValueError("a generalised action takes no place")
        return category["general"][0 if act.positive else 1]
    aff_form, neg_form = category["objects"][act.obj]
    if act.place is not None:
        if not act.positive:
            raise ValueError("a negated action takes no place")
        return category["place"].format(o=aff_form, place=lang.PLACES[act.place])
    if act.positive:
        return category["aff"].format(o=aff_form)
    return category["neg"].format(o=neg_form)
