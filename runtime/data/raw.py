"""What every data reader hands the normalizer: raw records (`RawSource`) and their errors.

Readers (local files, Hugging Face datasets, CoNLL, bitext, the synthetic generator) and the
normalizer import this module and nothing of each other, so `sources.py` can dispatch to the
readers without any reader reaching back into it. Bad data is reported the same way whichever
reader found it: file (or dataset), row and field, in one `DataError` line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from xexp.errors import DataError  # noqa: F401  (the readers and the normalizer raise it from here)


class FieldProblem(Exception):
    """A problem with one field of one record, raised where the record is read without knowing
    where it came from; the normalizer turns it into a `DataError` naming file and row."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(problem)
        self.field, self.problem = field, problem


@dataclass
class RawSource:
    """Raw records of one source, in source order, before any mapping or validation.

    `fetch(indices)` returns the records at those positions (an HF dataset materializes only
    those); `where(i)` describes record i for error messages ("file.jsonl, line 7");
    `class_labels` maps a column to its ClassLabel names when the source declares them.
    """

    name: str
    count: int
    fetch: Callable[[range], list[dict[str, Any]]]
    where: Callable[[int], str]
    class_labels: dict[str, list[str]] = field(default_factory=dict)
    revision: str | None = None  # the hub commit the records came from (hf sources)
