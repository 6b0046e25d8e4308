"""The shape every perturbation shares: validated params, a description, seeded randomness.

A perturbation is a pure function of (text, language, params, seed). Its random generator is
seeded from (seed, description, text) rather than from the example's position, so shuffling,
filtering or sharding a dataset never changes what any one example becomes, and two
perturbations with different parameters never share a random stream.
"""

from __future__ import annotations

import hashlib
import os
import random
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Generic, Sequence, TypeVar, cast

from xexp.compiler.registry import perturbations as _declarations  # noqa: F401  (registers)
from xexp.compiler.registry.base import Entry, Params
from xexp.runtime.implementations import entry_of
from xexp.errors import SpecValueError


@dataclass(frozen=True, slots=True)
class Outcome:
    """The perturbed text with its bookkeeping.

    `units` counts the units the perturbation could act on (graphemes or words, depending on
    the family) and `changed` those it acted on, so the realised rate is `changed / units`.
    """

    text: str
    units: int
    changed: int


def registry_entry(name: str) -> Entry:
    return entry_of("perturbation", name)


def format_value(value: Any) -> str:
    """How a parameter value is spelled in a description (stable, human-readable)."""
    if isinstance(value, (tuple, list)):
        return "|".join(format_value(v) for v in value)
    if isinstance(value, dict):  # a lexicon reference: kind and file name, no directories,
        # so that a description can name a folder and does not depend on where data lives
        path = value.get("path")
        return str(value.get("kind")) + (f":{os.path.basename(str(path))}" if path else "")
    if value is None:
        return "none"
    if isinstance(value, float):
        return repr(value)
    return str(value)


P = TypeVar("P", bound=Params)


class Perturbation(Generic[P]):
    """Base class: subclasses set `name` and implement `_apply(text, lang, rng) -> Outcome`;
    `P` is the entry's parameter schema (compiler/registry/perturbations.py)."""

    name: ClassVar[str]
    params: P

    def __init__(self, params: Params | dict | None = None, **kwargs: Any) -> None:
        self.entry = registry_entry(self.name)
        if isinstance(params, self.entry.params):
            if kwargs:
                raise TypeError("give either a params object or keyword parameters, not both")
            self.params = cast(P, params)
        else:
            values = {**(dict(params) if params else {}), **kwargs}
            try:
                self.params = cast(P, self.entry.params(**values))
            except ValueError as exc:  # pydantic.ValidationError is a ValueError
                raise SpecValueError(f"{self.name}: invalid parameters {values!r}: {exc}") from exc
        self.description = self.name + "(" + ", ".join(
            f"{key}={format_value(value)}" for key, value in self.params.model_dump().items()
        ) + ")"

    def __repr__(self) -> str:
        return self.description

    def check_language(self, lang: str) -> None:
        supported = self.entry.languages
        if supported is not None and lang not in supported:
            raise SpecValueError(
                f"perturbation {self.name!r} does not support language {lang!r} "
                f"(supported: {', '.join(sorted(supported))})"
            )

    def rng(self, text: str, seed: int) -> random.Random:
        digest = hashlib.sha256(f"{seed}|{self.description}|{text}".encode("utf-8")).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))

    def outcome(self, text: str, lang: str, seed: int = 0) -> Outcome:
        if not isinstance(text, str):
            raise TypeError(f"{self.name}: text must be str, got {type(text).__name__}")
        self.check_language(lang)
        return self._apply(text, lang, self.rng(text, seed))

    def __call__(self, text: str, lang: str, seed: int = 0) -> str:
        return self.outcome(text, lang, seed).text

    def _apply(self, text: str, lang: str, rng: random.Random) -> Outcome:
        raise NotImplementedError


def map_words(text: str, lang: str, change: Callable[[str], tuple[str, int, int]]) -> Outcome:
    """`text` with each word replaced by `change(word)`'s (new word, units, changed units); what
    lies between words (spaces, punctuation) is kept as it is. The loop every in-word
    perturbation shares: its `change` sees the words in order, so its random draws are too."""
    from xexp.runtime.robustness.perturbations.text import tokenize

    out: list[str] = []
    units = changed = 0
    for piece in tokenize(text, lang):
        if not piece.is_word:
            out.append(piece.text)
            continue
        word, word_units, word_changed = change(piece.text)
        out.append(word)
        units, changed = units + word_units, changed + word_changed
    return Outcome("".join(out), units, changed)


def substitute_clusters(text: str, lang: str, rng: random.Random, p: float,
                        options: Callable[[str], str | Sequence[str] | None]) -> Outcome:
    """Replace each grapheme cluster of a word, with probability `p`, by one of its `options`.

    The shared engine of the cluster-level perturbations (case, diacritics, keyboard, homoglyph):
    only clusters that have an option count as units, so the measured rate is p of what *could*
    change. `options(cluster)` gives one fixed replacement (a str), several to draw from, or none.
    """
    from xexp.runtime.robustness.perturbations.text import graphemes

    def change(word: str) -> tuple[str, int, int]:
        out: list[str] = []
        units = changed = 0
        for cluster in graphemes(word):
            choices = options(cluster)
            if not choices:
                out.append(cluster)
                continue
            units += 1
            if rng.random() < p:
                out.append(choices if isinstance(choices, str) else choices[rng.randrange(len(choices))])
                changed += 1
            else:
                out.append(cluster)
        return "".join(out), units, changed

    return map_words(text, lang, change)
