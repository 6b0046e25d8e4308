"""Character diffs over grapheme clusters, so a combining mark or an emoji is one unit.

A perturbation that swaps a Devanagari vowel sign must show as one replaced "character",
not as a stray combining mark glued to the wrong base letter.
"""

from __future__ import annotations

import html
from difflib import SequenceMatcher

import regex

_GRAPHEME = regex.compile(r"\X")
_MARKDOWN_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]|~"})


def graphemes(text: str) -> list[str]:
    return _GRAPHEME.findall(text)


def diff_segments(original: str, perturbed: str) -> list[tuple[str, str]]:
    """[(op, text)] with op in "equal", "del", "ins"; joining equal+del gives the original,
    equal+ins the perturbed text."""
    a, b = graphemes(original), graphemes(perturbed)
    segments: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            segments.append(("equal", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            segments.append(("del", "".join(a[i1:i2])))
        if j2 > j1:
            segments.append(("ins", "".join(b[j1:j2])))
    return segments


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
