"""Script-aware text primitives shared by perturbations and attacks.

Everything here works on extended grapheme clusters (the `regex` package's ``\\X``), never on
code points: a Devanagari consonant with its vowel sign, a Thai consonant with its tone mark or
a Latin letter with a combining accent is one unit, so no perturbation can leave a combining
mark orphaned at the start of a word. Generic `[\\w'-]+` tokenizers break exactly there.

Word segmentation, by script rather than by the declared language (a Hindi sentence may quote
an English name; a Chinese one may contain "GDP"):

* Scripts that separate words with spaces (Latin, Cyrillic, Greek, Arabic, Devanagari, …): a
  word is a maximal run of grapheme clusters that start with a letter, a mark or a digit, with
  single apostrophes/hyphens between such runs kept inside the word ("don't", "l'homme",
  "bien-être").
* Han (zh has no spaces): runs of Han characters are cut into consecutive 2-character chunks.
  The mean length of a Chinese word is about 1.6 characters, so a 2-character chunk is a fair,
  dictionary-free, deterministic stand-in for a word; it never splits a character. The lexicon
  based code-switch perturbation does its own longest-match segmentation against the lexicon.
* Thai (no spaces between words): runs of Thai characters are segmented by dictionary-based
  maximal matching over Thai Character Clusters (the "newmm" engine of `pythainlp`: kept,
  Apache-2.0, pure Python with no dependency of its own, imported only when Thai text is met,
  about 0.6 s for import plus the first call that loads its word list). Boundaries are then
  snapped to grapheme boundaries, so even a dictionary miss cannot split a cluster.
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from functools import lru_cache, partial

import regex

GRAPHEME = regex.compile(r"\X")

#: Characters that join two word parts into one word when they sit between word graphemes.
WORD_JOINERS = frozenset("'’-‐")

#: Scripts recognised by `script_of_text`, named as in `xexp.compiler.languages.SCRIPTS`.
_SCRIPT_PATTERNS: dict[str, regex.Pattern] = {
    name: regex.compile(rf"\p{{Script={prop}}}")
    for name, prop in (
        ("Latin", "Latin"), ("Cyrillic", "Cyrillic"), ("Greek", "Greek"), ("Arabic", "Arabic"),
        ("Devanagari", "Devanagari"), ("Thai", "Thai"), ("Han", "Han"), ("Hangul", "Hangul"),
        ("Hebrew", "Hebrew"), ("Japanese", "[\\p{Hiragana}\\p{Katakana}]"),
        ("Bengali", "Bengali"), ("Telugu", "Telugu"), ("Georgian", "Georgian"), ("Tamil", "Tamil"),
        ("Malayalam", "Malayalam"), ("Myanmar", "Myanmar"),
    )
}
_HAN = _SCRIPT_PATTERNS["Han"]
_THAI = _SCRIPT_PATTERNS["Thai"]
#: Scripts written without spaces between words (joining words there adds no space).
UNSPACED_SCRIPTS = frozenset({"Han", "Thai", "Japanese"})

#: Length, in Han characters, of one pseudo-word in a Han run (see module docstring).
HAN_CHUNK = 2


@dataclass(frozen=True, slots=True)
class Piece:
    """A slice ``text[start:end]`` of the original string; pieces of one text cover it exactly."""

    text: str
    start: int
    end: int
    is_word: bool


def graphemes(s: str) -> list[str]:
    """The extended grapheme clusters of `s`, in order (``"".join`` gives `s` back)."""
    return GRAPHEME.findall(s)


def is_word_grapheme(cluster: str) -> bool:
    """A cluster belongs to a word when its base is a letter or a digit. A stray combining
    mark with no base (possible only at the very start of a text) is not part of a word, so
    no word-level perturbation can copy or move it."""
    return unicodedata.category(cluster[0])[0] in "LN"


def has_base(cluster: str) -> bool:
    """False for a stray combining mark (at the start of a text): perturbations leave it alone."""
    return unicodedata.category(cluster[0])[0] != "M"


def _script_class(cluster: str) -> str:
    """'han', 'thai' or 'spaced': how a run of such clusters is cut into words."""
    if _HAN.match(cluster):
        return "han"
    if _THAI.match(cluster):
        return "thai"
    return "spaced"


def tokenize(text: str, lang: str) -> list[Piece]:
    """Split `text` into word and non-word pieces that cover it exactly.

    `lang` is accepted for API stability (and future language-specific rules); segmentation is
    chosen per script run, see the module docstring. Results are memoised (an attack segments
    the same sentence for every field and every query it builds).
    """
    if not isinstance(text, str):
        raise TypeError(f"tokenize: text must be str, got {type(text).__name__}")
    return list(_tokenize(text))


@lru_cache(maxsize=8192)
def _tokenize(text: str) -> tuple[Piece, ...]:
    clusters = graphemes(text)
    kinds = [is_word_grapheme(c) for c in clusters]
    # a joiner between two word clusters is part of the word
    for i in range(1, len(clusters) - 1):
        if not kinds[i] and clusters[i] in WORD_JOINERS and kinds[i - 1] and kinds[i + 1]:
            kinds[i] = True
    pieces: list[Piece] = []
    pos = 0
    i = 0
    while i < len(clusters):
        j = i
        while j < len(clusters) and kinds[j] == kinds[i]:
            j += 1
        run = clusters[i:j]
        if kinds[i]:
            for chunk in _segment_word_run(run):
                chunk_text = "".join(chunk)
                pieces.append(Piece(chunk_text, pos, pos + len(chunk_text), True))
                pos += len(chunk_text)
        else:
            run_text = "".join(run)
            pieces.append(Piece(run_text, pos, pos + len(run_text), False))
            pos += len(run_text)
        i = j
    return tuple(pieces)


def words(text: str, lang: str) -> list[Piece]:
    """Only the word pieces of `tokenize(text, lang)`."""
    return [p for p in tokenize(text, lang) if p.is_word]


def _segment_word_run(run: list[str]) -> list[list[str]]:
    """Cut one run of word clusters into words: split at script-class changes, then per class."""
    if all(cluster.isascii() for cluster in run):  # the common case: one spaced word
        return [run]
    out: list[list[str]] = []
    i = 0
    while i < len(run):
        cls = _script_class(run[i])
        j = i + 1
        # marks/digits/joiners glued to a run keep the run's class
        while j < len(run) and _script_class(run[j]) == cls:
            j += 1
        sub = run[i:j]
        if cls == "han":
            out.extend(sub[k:k + HAN_CHUNK] for k in range(0, len(sub), HAN_CHUNK))
        elif cls == "thai":
            out.extend(_segment_thai(sub))
        else:
            out.append(sub)
        i = j
    return out


@lru_cache(maxsize=1)
def _thai_segmenter():
    # pythainlp creates ~/pythainlp-data on first use unless told it is read-only; the newmm word
    # list ships inside the wheel, so nothing needs writing (a Ray worker's home may be read-only).
    os.environ.setdefault("PYTHAINLP_READ_ONLY", "1")
    try:
        from pythainlp.tokenize import word_tokenize
    except ImportError as exc:  # pragma: no cover - dependency declared in pyproject
        raise ImportError(
            "Thai word segmentation needs the 'pythainlp' package (pip install pythainlp)"
        ) from exc
    return partial(word_tokenize, engine="newmm", keep_whitespace=True)


def _segment_thai(clusters: list[str]) -> list[list[str]]:
    """newmm maximal matching, with every boundary moved onto a grapheme boundary."""
    run_text = "".join(clusters)
    tokens = _thai_segmenter()(run_text)
    if "".join(tokens) != run_text:  # the segmenter must not alter text; fall back to one word
        return [clusters]
    cuts: set[int] = set()
    pos = 0
    for token in tokens[:-1]:
        pos += len(token)
        cuts.add(pos)
    out: list[list[str]] = []
    current: list[str] = []
    pos = 0
    for cluster in clusters:
        current.append(cluster)
        pos += len(cluster)
        if pos in cuts:
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


@lru_cache(maxsize=None)
def _char_script(char: str) -> str | None:
    for name, pattern in _SCRIPT_PATTERNS.items():
        if pattern.match(char):
            return name
    return None


def script_of_text(text: str) -> str:
    """The script most of the text's letters are written in ("Latin", "Thai", …, or "Unknown").

    Ties go to the script listed first in `_SCRIPT_PATTERNS`.
    """
    counts: dict[str, int] = {}
    for char in text:
        script = _char_script(char)
        if script is not None:
            counts[script] = counts.get(script, 0) + 1
    if not counts:
        return "Unknown"
    order = list(_SCRIPT_PATTERNS)
    return max(counts, key=lambda name: (counts[name], -order.index(name)))
