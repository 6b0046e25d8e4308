"""Code-switching: words replaced by their translation from a bilingual lexicon.

Non-English text has words replaced by English ones (the en-<lang> lexicon read backwards);
English text has words replaced by words of language `to`. Units are the words the lexicon
knows (with a translation different from the word itself), so p is the share of translatable
words that are switched. Thai words come from the dictionary segmenter of `text`; Chinese runs
(which `text` only cuts into 2-character chunks) are segmented against the lexicon itself by
greedy longest match, because the lexicon's entries are what can be translated. An English word put into a Chinese or Thai
run gets spaces around it, as code-switched writing does.
"""

from __future__ import annotations

import random
from xexp.compiler.registry.perturbations import CodeSwitchParams
from xexp.errors import SpecValueError
from xexp.runtime.robustness.perturbations import lexicon as lexicons
from xexp.runtime.robustness.perturbations.base import Outcome, Perturbation
from xexp.runtime.robustness.perturbations.casing import lower, match_case
from xexp.runtime.robustness.perturbations.text import UNSPACED_SCRIPTS, Piece, graphemes, script_of_text, tokenize

#: Scripts whose runs are segmented against the lexicon (Thai has a real word segmenter).
_LEXICON_SEGMENTED = frozenset({"Han", "Japanese"})
#: Longest lexicon entry tried when segmenting a Han/Thai run, in graphemes.
MAX_MATCH_GRAPHEMES = 8


class CodeSwitch(Perturbation[CodeSwitchParams]):
    name = "code_switch"

    def lexicon_for(self, lang: str) -> lexicons.Lexicon:
        ref = self.params.lexicon.model_dump()
        to = self.params.to
        if lang == "en":
            if to is None or to == "en":
                raise SpecValueError(
                    "code_switch on English text needs to=<language> (the language to switch into)"
                )
            return lexicons.english_to(ref, to)
        # `to` is the target of English rows only; other rows always switch into English, so
        # one spec entry with `to=` can cover English and non-English languages alike
        return lexicons.to_english(ref, lang)

    def _apply(self, text: str, lang: str, rng: random.Random) -> Outcome:
        table = self.lexicon_for(lang)
        target = (self.params.to if lang == "en" else "en") or "en"  # lexicon_for refused en without `to`
        out: list[str] = []
        units = changed = 0
        position = 0
        for segment, translatable in lexicon_segments(tokenize(text, lang), table, lang):
            position += len(segment)
            if not translatable:
                out.append(segment)
                continue
            options = _options(segment, table, lang)
            units += 1
            if rng.random() >= self.params.p:
                out.append(segment)
                continue
            changed += 1
            replacement = match_case(segment, options[rng.randrange(len(options))], target)
            out.append(spaced_join(replacement, out[-1][-1:] if out else "", text[position:position + 1]))
        return Outcome("".join(out), units, changed)


def _options(word: str, table: lexicons.Lexicon, lang: str) -> tuple[str, ...]:
    """Translations of a word, looked up as written first: German nouns are capitalised in
    lexicons too ("Mann"), so lower-casing alone would miss them."""
    key = lower(word, lang)
    found = table.get(word, ()) or table.get(key, ())
    return tuple(t for t in found if lower(t, lang) != key)


def lexicon_segments(pieces: list[Piece], table, lang: str):
    """(text, translatable) pairs covering the text; Han runs matched against the lexicon."""
    i = 0
    while i < len(pieces):
        piece = pieces[i]
        if piece.is_word and script_of_text(piece.text) in _LEXICON_SEGMENTED:
            j = i
            while j < len(pieces) and pieces[j].is_word and script_of_text(pieces[j].text) in _LEXICON_SEGMENTED:
                j += 1
            longest = _longest_unspaced_entry(table)
            yield from _longest_match("".join(p.text for p in pieces[i:j]), table, lang, longest)
            i = j
            continue
        yield piece.text, piece.is_word and bool(_options(piece.text, table, lang))
        i += 1


def _longest_match(run: str, table, lang: str, longest: int):
    clusters = graphemes(run)
    start = 0
    pending = ""
    while start < len(clusters):
        for size in range(min(longest, len(clusters) - start), 0, -1):
            candidate = "".join(clusters[start:start + size])
            if _options(candidate, table, lang):
                if pending:
                    yield pending, False
                    pending = ""
                yield candidate, True
                start += size
                break
        else:
            pending += clusters[start]
            start += 1
    if pending:
        yield pending, False


_LONGEST: dict[int, tuple[lexicons.Lexicon, int]] = {}


def _longest_unspaced_entry(table: lexicons.Lexicon) -> int:
    """Length in graphemes of the longest Han key (bounded), computed once per table."""
    cached = _LONGEST.get(id(table))
    if cached is not None and cached[0] is table:
        return cached[1]
    best = 1
    for key in table:
        if not key.isascii() and script_of_text(key[0]) in _LEXICON_SEGMENTED:
            best = max(best, min(len(graphemes(key)), MAX_MATCH_GRAPHEMES))
            if best == MAX_MATCH_GRAPHEMES:
                break
    _LONGEST[id(table)] = (table, best)
    return best


def spaced_join(replacement: str, before: str, after: str) -> str:
    """Pad a spaced-script replacement that lands inside a Han/Thai run with spaces."""
    if script_of_text(replacement) in UNSPACED_SCRIPTS:
        return replacement
    prefix = " " if before and before.isalnum() else ""
    suffix = " " if after and after.isalnum() else ""
    return prefix + replacement + suffix
