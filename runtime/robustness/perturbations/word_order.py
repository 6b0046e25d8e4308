"""Word-level noise: local shuffle, dropout, repetition.

Words come from `text.tokenize`, so a Thai or Chinese sentence is cut into dictionary words or
Han chunks rather than code points, and separators/punctuation stay where they were: only the
words move, vanish or double.
"""

from __future__ import annotations

import random

from xexp.compiler.registry.perturbations import WordDropParams, WordRepeatParams, WordShuffleParams
from xexp.runtime.robustness.perturbations.base import Outcome, Perturbation
from xexp.runtime.robustness.perturbations.text import UNSPACED_SCRIPTS, Piece, script_of_text, tokenize


class WordShuffle(Perturbation[WordShuffleParams]):
    """Permutes words inside consecutive windows; a window with two or more distinct words is
    never left in its original order (so `changed` means what it says)."""

    name = "word_shuffle"

    def _apply(self, text: str, lang: str, rng: random.Random) -> Outcome:
        pieces = tokenize(text, lang)
        slots = [i for i, piece in enumerate(pieces) if piece.is_word]
        texts = [piece.text for piece in pieces]
        changed = 0
        window = self.params.window
        for start in range(0, len(slots), window):
            positions = slots[start:start + window]
            words = [texts[i] for i in positions]
            if len(set(words)) < 2:
                continue
            order = words[:]
            while order == words:
                rng.shuffle(order)
            for position, word in zip(positions, order):
                texts[position] = word
            changed += sum(a != b for a, b in zip(words, order))
        return Outcome("".join(texts), len(slots), changed)


class WordDrop(Perturbation[WordDropParams]):
    """Deletes each word with probability p, with the whitespace after it (or before it, for the
    last word of a clause); one word always survives so the text never becomes empty."""

    name = "word_drop"

    def _apply(self, text: str, lang: str, rng: random.Random) -> Outcome:
        pieces = tokenize(text, lang)
        slots = [i for i, piece in enumerate(pieces) if piece.is_word]
        drop = {i for i in slots if rng.random() < self.params.p}
        if slots and len(drop) == len(slots):
            drop.discard(slots[rng.randrange(len(slots))])
        removed: set[int] = set()
        for i in sorted(drop):
            removed.add(i)
            if _is_space(pieces, i + 1) and i + 2 < len(pieces):
                removed.add(i + 1)
            elif _is_space(pieces, i - 1) and (i - 1) not in removed:
                removed.add(i - 1)
        text_out = "".join(piece.text for i, piece in enumerate(pieces) if i not in removed)
        return Outcome(text_out, len(slots), len(drop))


class WordRepeat(Perturbation[WordRepeatParams]):
    """Doubles each word with probability p ("the the"; no space in Han or Thai runs)."""

    name = "word_repeat"

    def _apply(self, text: str, lang: str, rng: random.Random) -> Outcome:
        out: list[str] = []
        units = changed = 0
        for piece in tokenize(text, lang):
            out.append(piece.text)
            if not piece.is_word:
                continue
            units += 1
            if rng.random() < self.params.p:
                changed += 1
                joiner = "" if script_of_text(piece.text) in UNSPACED_SCRIPTS else " "
                out.append(joiner + piece.text)
        return Outcome("".join(out), units, changed)


def _is_space(pieces: list[Piece], i: int) -> bool:
    return 0 <= i < len(pieces) and not pieces[i].is_word and pieces[i].text.isspace()
