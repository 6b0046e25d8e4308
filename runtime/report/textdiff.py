"""Text diffs a reader can follow: whole words where words were replaced, graphemes inside a word.

The texts are first aligned word by word. A run of words that came back similar (a typo, a
homoglyph, a dropped diacritic) is then diffed grapheme by grapheme, so a combining mark or an
emoji stays one unit and a Devanagari vowel sign shows as one replaced "character". A run that
came back as different words (code-switching, a translation) shows as the old words removed and
the new ones added, not as the character soup a grapheme diff of two unrelated words gives.
"""

from __future__ import annotations

import html
from difflib import SequenceMatcher

import regex

_GRAPHEME = regex.compile(r"\X")
_MARKDOWN_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]|~"})


def graphemes(text: str) -> list[str]:
    return _GRAPHEME.findall(text)


#: Words: runs of letters, digits and marks; a Han, kana or Thai grapheme alone (those scripts
#: write no spaces, and one character is the smallest unit a reader compares); space; any other grapheme.
_TOKEN = regex.compile(r"\s+|(?:\p{Han}|\p{Hiragana}|\p{Katakana}|\p{Thai})\p{M}*|[\p{L}\p{N}\p{M}]+|\X")
#: At or below this share of matching characters, a replaced run of words shows as whole words.
SIMILAR = 0.5


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _opcodes(a: list[str], b: list[str]):
    return SequenceMatcher(None, a, b, autojunk=False).get_opcodes()


def diff_segments(original: str, perturbed: str) -> list[tuple[str, str]]:
    """[(op, text)] with op in "equal", "del", "ins"; joining equal+del gives the original,
    equal+ins the perturbed text."""
    a, b = tokens(original), tokens(perturbed)
    segments: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in _opcodes(a, b):
        old, new = "".join(a[i1:i2]), "".join(b[j1:j2])
        if tag == "equal":
            segments.append(("equal", old))
        elif tag == "replace" and _similar(old, new):
            segments += _grapheme_segments(old, new)
        else:
            segments += [(op, text) for op, text in (("del", old), ("ins", new)) if text]
    return _merged(segments)


def _similar(old: str, new: str) -> bool:
    # Code points, not graphemes: a changed vowel sign leaves most of a short Indic word alike.
    return SequenceMatcher(None, old, new, autojunk=False).ratio() > SIMILAR


def _grapheme_segments(original: str, perturbed: str) -> list[tuple[str, str]]:
    a, b = graphemes(original), graphemes(perturbed)
    segments: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in _opcodes(a, b):
        if tag == "equal":
            segments.append(("equal", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            segments.append(("del", "".join(a[i1:i2])))
        if j2 > j1:
            segments.append(("ins", "".join(b[j1:j2])))
    return segments


def _merged(segments: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Neighbouring segments of one kind joined, so a mark never splits a run of equal text."""
    out: list[tuple[str, str]] = []
    for op, text in segments:
        if out and out[-1][0] == op:
            out[-1] = (op, out[-1][1] + text)
        else:
            out.append((op, text))
    return out


def diff_html(original: str, perturbed: str, escape=html.escape) -> str:
    """The perturbed text with <del>removed</del><ins>added</ins> marks."""
    parts = []
    for op, text in diff_segments(original, perturbed):
        text = escape(text)
        parts.append(text if op == "equal" else f"<{op}>{text}</{op}>")
    return "".join(parts)


def markdown_escape(text: str) -> str:
    """Arbitrary data text for Markdown: HTML specials as entities, inline syntax escaped."""
    return html.escape(text, quote=False).translate(_MARKDOWN_SPECIAL)


def diff_markdown(original: str, perturbed: str) -> str:
    """Same marks for Markdown (inline HTML); text escaped so Markdown leaves it alone."""
    return diff_html(original, perturbed, escape=markdown_escape)
