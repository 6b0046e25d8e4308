"""Bilingual lexicons for code-switching, loaded once per process.

A lexicon reference is what the compiler hands over: `{"kind": "muse", "path": ...,
"sha256": ...}` for a MUSE dictionary (`english<TAB>foreign` per line, a word may have several lines) or
`{"kind": "synthetic"}` for the demo's generated lexicons. Both give English -> foreign; the
reverse direction (foreign -> English, used on non-English text) is derived and cached too.
Caches are keyed by the file's content (the `sha256` lowering recorded, checked against the bytes
read), not by its path alone: a worker process outlives a run, and an edited file must never be
served from the memory of the old one, nor stored under a key that promised other content.
"""

from __future__ import annotations

import hashlib
import io
import os
from functools import lru_cache
from typing import Mapping, Protocol

from xexp.compiler.registry.muse import muse_language  # noqa: F401  (one reading of a MUSE name)
from xexp.errors import DataError, SpecValueError

Lexicon = Mapping[str, tuple[str, ...]]


class LexiconReader(Protocol):
    """What a lexicon kind's implementation (its registry entry's `implementation=`) is: the
    English -> `foreign` pairs a reference of that kind points at. One signature for every kind
    is what lets `english_to` serve any of them by the entry alone."""

    def __call__(self, ref: Mapping, foreign: str) -> Lexicon: ...


@lru_cache(maxsize=64)
def load_muse(path: str, sha256: str | None = None) -> Lexicon:
    """English -> foreign translations of one MUSE file, in file order, without duplicates.
    With `sha256` (the content the node's key promises) the bytes read must have that digest."""
    pairs: dict[str, list[str]] = {}
    try:
        with open(path, "rb") as raw:
            data = raw.read()
    except OSError as exc:
        raise DataError("code_switch", f"cannot read MUSE lexicon {path!r}: {exc}") from exc
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise DataError("code_switch", f"lexicon {path!r} changed after the run was planned: "
                        "run again to plan with its new content")
    try:
        handle = io.StringIO(data.decode("utf-8"), newline=None)  # universal newlines, as open() reads
    except UnicodeDecodeError as exc:
        raise DataError("code_switch", f"MUSE lexicon {path!r} is not valid UTF-8 ({exc.reason})") from exc
    with handle:
        for number, line in enumerate(handle, 1):
            line = line.strip()
            if not line:
                continue
            parts = line.split("\t") if "\t" in line else line.split(None, 1)
            if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
                raise DataError(f"code_switch: {path}:{number}", f"expected 'english<TAB>foreign', got {line!r}")
            english, foreign = parts[0].strip(), parts[1].strip()
            translations = pairs.setdefault(english, [])
            if foreign not in translations:
                translations.append(foreign)
    if not pairs:
        raise DataError("code_switch", f"MUSE lexicon {path!r} is empty")
    return {word: tuple(translations) for word, translations in pairs.items()}


def read_synthetic(ref: Mapping, foreign: str) -> Lexicon:
    """The synthetic generator's own English -> `foreign` vocabulary (the reference names no file)."""
    return _synthetic(foreign)


@lru_cache(maxsize=64)
def _synthetic(lang: str) -> Lexicon:
    from xexp.runtime.data.synthetic import bilingual_lexicon  # the demo's generator, lazily

    lexicon = bilingual_lexicon(lang)
    return {english: tuple(dict.fromkeys(foreign)) for english, foreign in lexicon.items() if foreign}


def read_muse(ref: Mapping, foreign: str) -> Lexicon:
    """The MUSE file a reference names, refused when its name says another language pair."""
    path = os.path.abspath(str(ref.get("path")))
    named = muse_language(path)
    if named is not None and named != foreign:
        raise SpecValueError(
            f"code_switch: lexicon {ref.get('path')!r} is English-{named}, but the text needs "
            f"English-{foreign}"
        )
    return load_muse(path, ref.get("sha256"))


def english_to(ref: Mapping, foreign: str) -> Lexicon:
    """The English -> `foreign` lexicon a reference points at, read by its kind's implementation."""
    from xexp.runtime.implementations import entry_of, resolve

    try:
        entry = entry_of("lexicon", str(ref.get("kind")))
    except ValueError as unknown:
        raise SpecValueError(f"code_switch: {unknown}") from None
    reader: LexiconReader = resolve(entry)
    return reader(ref, foreign)


def _reverse(forward: Lexicon) -> Lexicon:
    backward: dict[str, list[str]] = {}
    for english, translations in forward.items():
        for foreign in translations:
            backward.setdefault(foreign, []).append(english)
    return {foreign: tuple(english) for foreign, english in backward.items()}


@lru_cache(maxsize=64)
def _reverse_cached(key: tuple) -> Lexicon:
    kind, foreign, path, sha256 = key
    ref = {"kind": kind, "path": path, "sha256": sha256}
    return _reverse(english_to(ref, foreign))


def to_english(ref: Mapping, foreign: str) -> Lexicon:
    """The `foreign` -> English lexicon (the reference read backwards)."""
    path = ref.get("path")
    path = os.path.abspath(str(path)) if path is not None else None
    return _reverse_cached((ref.get("kind"), foreign, path, ref.get("sha256")))
