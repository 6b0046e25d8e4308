"""Whitespace noise: spaces inserted into words, or removed between them.

The unit is the word. A word is eligible when at least one allowed operation is possible:
"insert" splits it at an inner grapheme boundary (never inside a cluster), or, for scripts
written without spaces (Han, Thai), puts a space between it and the segment that follows;
"remove" deletes the whitespace between it and the next word. Non-space characters are never
touched, which tests can check directly.
"""

from __future__ import annotations

import random

from xexp.compiler.registry.perturbations import SpaceNoiseParams
from xexp.runtime.robustness.perturbations.base import Outcome, Perturbation
from xexp.runtime.robustness.perturbations.text import Piece, graphemes, tokenize


class SpaceNoise(Perturbation[SpaceNoiseParams]):
    name = "space_noise"

    def _apply(self, text: str, lang: str, rng: random.Random) -> Outcome:
        p = self.params.p
        allowed = self.params.ops
        pieces = tokenize(text, lang)
        out: list[str] = []
        units = changed = 0
        skip_next = False
        for index, piece in enumerate(pieces):
            if skip_next:  # whitespace removed by the previous word
                skip_next = False
                continue
            if not piece.is_word:
                out.append(piece.text)
                continue
            following = pieces[index + 1] if index + 1 < len(pieces) else None
            after_next = pieces[index + 2] if index + 2 < len(pieces) else None
            glued = following is not None and following.is_word  # unspaced script: next segment
            clusters = graphemes(piece.text) if "insert" in allowed else []
            ops = []
            if "insert" in allowed and (len(clusters) > 1 or glued):
                ops.append("insert")
            if "remove" in allowed and _spaced_before_word(following, after_next):
                ops.append("remove")
            if not ops:
                out.append(piece.text)
                continue
            units += 1
            if rng.random() >= p:
                out.append(piece.text)
                continue
            changed += 1
            op = ops[rng.randrange(len(ops))]
            if op == "remove":
                out.append(piece.text)
                skip_next = True
            elif glued:  # unspaced script: between segments
                out.append(piece.text + " ")
            else:
                cut = 1 + rng.randrange(len(clusters) - 1)
                out.append("".join(clusters[:cut]) + " " + "".join(clusters[cut:]))
        return Outcome("".join(out), units, changed)


def _spaced_before_word(following: Piece | None, after_next: Piece | None) -> bool:
    return (
        following is not None and not following.is_word and following.text.isspace()
        and after_next is not None and after_next.is_word
    )
