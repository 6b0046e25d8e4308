"""The most text one field of a row may hold: longer values are cut where they are loaded.

One valid JSONL row with a 50 MB premise used to take an evaluation worker past 14 GB: every
later step (perturbations, tokenizing, the report's examples) works on whole texts. A text
value over ``MAX_TEXT_CHARS`` characters (a top-level string, or a string in a list such as a
multiple-choice row's endings) is cut to that length when its source is normalized, and the
node's log says so in one line naming the file, line and field. 100,000 characters is 20 times
a long SQuAD context and some 200 times a model's 512-token window, so no ordinary row is cut.
A QA answer that lay past the cut is then outside its context and refused as such.
"""

from __future__ import annotations

import logging
from typing import Any

MAX_TEXT_CHARS = 100_000

log = logging.getLogger(__name__)


def cap_record(record: dict[str, Any], where: str) -> None:
    """Cut every overlong text of `record` in place, logging one line per field cut."""
    for column, value in record.items():
        if isinstance(value, str) and len(value) > MAX_TEXT_CHARS:
            record[column] = value[:MAX_TEXT_CHARS]
            _say(where, column, len(value))
        elif isinstance(value, list) and any(isinstance(v, str) and len(v) > MAX_TEXT_CHARS for v in value):
            longest = max(len(v) for v in value if isinstance(v, str))
            record[column] = [v[:MAX_TEXT_CHARS] if isinstance(v, str) else v for v in value]
            _say(where, column, longest)


def _say(where: str, column: str, length: int) -> None:
    log.warning("%s, field %r: %d characters, cut to the %d a text field may hold", where, column,
                length, MAX_TEXT_CHARS)
