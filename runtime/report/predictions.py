"""Reading a cell's files into what the statistics need: per example, its id, whether it is
right, and its predicted (and, clean, gold) label as a code comparable across files.

Every error names the file and what is wrong with it (a missing column, a null, a repeated
id); the outcomes (outcomes.py) and the caveats about the models (caveats.py) both read
predictions through here, so neither depends on the other for it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from xexp.errors import DataError
from xexp.runtime.data.formats import ATTACK_COLUMNS, PREDICTION_COLUMNS, token_changed_flags
from xexp.runtime.report.model import CLEAN, ReportCell

#: The per-example score column of extractive QA predictions (runtime/learning/tasks/qa.py).
QA_SCORE = "f1"
#: The column of per-word (tagging) predictions naming the sentence, the resampled example.
SENTENCE = "sentence"
_PREDICTION_READ = ("id", "predicted", "correct")
_ATTACK_READ = _PREDICTION_READ + ("status", "words_changed", "words_total", "queries")


@dataclass(frozen=True)
class Predictions:
    """One predictions file reduced to arrays aligned by sorted example id."""

    ids: np.ndarray
    correct: np.ndarray
    predicted: np.ndarray  # label codes, comparable across files
    gold: np.ndarray | None = None  # label codes; read for clean cells only
    f1: np.ndarray | None = None  # per-example F1 where the predictions carry it (extractive QA)


def read_table(path: Path, columns: Iterable[str], what: str,
               required: Iterable[str] = ()) -> pa.Table:
    """Named columns of a parquet file, with errors that name the file and the column.

    `required` lists further columns the file's contract demands but the caller does not read.
    """
    columns = tuple(columns)
    if not Path(path).is_file():
        raise FileNotFoundError(f"{what}: file not found: {path}")
    try:
        parquet = pq.ParquetFile(path)
        names = set(parquet.schema_arrow.names)
        needed = tuple(dict.fromkeys((*required, *columns)))
        missing = [c for c in needed if c not in names]
        if missing:
            raise KeyError(", ".join(missing))
        table = parquet.read(columns=list(columns), use_threads=False)
    except KeyError as error:
        raise DataError(what, f"{path} lacks column(s) {error.args[0]} "
                        f"(needs {', '.join(needed)})") from None
    except (OSError, ValueError) as error:
        raise DataError(what, f"cannot read {path} as parquet: {error}") from error
    if table.num_rows == 0:
        raise DataError(what, f"{path} has no rows")
    for name in columns:
        if table.column(name).null_count:
            raise DataError(what, f"{path} column {name!r} has "
                            f"{table.column(name).null_count} null value(s)")
    return table


def read_columns(path: Path, columns: Iterable[str], what: str) -> dict[str, np.ndarray]:
    table = read_table(path, columns, what)
    return {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}


def _sorted_by_id(ids: np.ndarray, path: Path, what: str) -> tuple[np.ndarray, np.ndarray]:
    ids = ids.astype(str)
    order = np.argsort(ids, kind="stable")
    ids = ids[order]
    duplicated = ids[1:][ids[1:] == ids[:-1]]
    if duplicated.size:
        raise DataError(what, f"{path} repeats example id {duplicated[0]!r}")
    return ids, order


def locate(wanted: np.ndarray, available: np.ndarray, what: str) -> np.ndarray:
    """Positions of sorted ids `wanted` inside sorted ids `available`; all must be there."""
    if wanted.shape == available.shape and np.array_equal(wanted, available):
        return np.arange(available.size)
    positions = np.searchsorted(available, wanted)
    clipped = np.minimum(positions, available.size - 1)
    missing = wanted[available[clipped] != wanted]
    if missing.size:
        shown = ", ".join(repr(m) for m in missing[:3].tolist())
        raise DataError(what, f"{missing.size} example id(s) not found, e.g. {shown}")
    return clipped


class PredictionReader:
    """Reads files once; files of one language usually list the same ids in the same order,
    so the sorted ids (and the sort) are computed once and shared."""

    def __init__(self) -> None:
        self._labels: dict[str, int] = {}
        self._ids: dict[str, list[tuple[pa.ChunkedArray, np.ndarray, np.ndarray]]] = defaultdict(list)
        self._changed: dict[Path, tuple[np.ndarray, np.ndarray]] = {}
        self.units: dict[str, str] = {}  # prediction id -> its sentence (tagging)

    def _sorted_ids(self, language: str, raw: pa.ChunkedArray, path: Path,
                    what: str) -> tuple[np.ndarray, np.ndarray]:
        for known_raw, ids, order in self._ids[language]:
            if known_raw.equals(raw):
                return ids, order
        ids, order = _sorted_by_id(raw.to_numpy(zero_copy_only=False), path, what)
        self._ids[language].append((raw, ids, order))
        return ids, order

    def _codes(self, labels: pa.ChunkedArray) -> np.ndarray:
        encoded = pc.dictionary_encode(labels.cast(pa.string())).combine_chunks()
        mapping = np.array([self._labels.setdefault(str(u), len(self._labels))
                            for u in encoded.dictionary.to_pylist()], dtype=np.int32)
        return mapping[encoded.indices.to_numpy(zero_copy_only=False)]

    def label_name(self, code: int) -> str:
        return next(name for name, c in self._labels.items() if c == code)

    def predictions(self, cell: ReportCell) -> tuple[Predictions, dict]:
        what = f"{cell.kind} predictions of {cell.label}"
        attack = cell.kind == "attack"
        clean = cell.condition == CLEAN
        read = _ATTACK_READ if attack else _PREDICTION_READ + (("gold",) if clean else ())
        names = () if attack or not Path(cell.predictions).is_file() else pq.read_schema(cell.predictions).names
        # a perturbed cell has its clean cell's ids, so the sentences are read from clean cells only
        read += tuple(c for c in (QA_SCORE, SENTENCE) if c in names and (clean or c != SENTENCE))
        table = read_table(cell.predictions, read, what,
                           required=ATTACK_COLUMNS if attack else PREDICTION_COLUMNS)
        ids, order = self._sorted_ids(cell.language, table.column("id"), cell.predictions, what)
        extra = {name: table.column(name).to_numpy(zero_copy_only=False)[order]
                 for name in _ATTACK_READ[3:]} if attack else {}
        correct = table.column("correct").to_numpy(zero_copy_only=False).astype(bool)[order]
        gold = self._codes(table.column("gold"))[order] if clean else None
        f1 = (table.column(QA_SCORE).to_numpy(zero_copy_only=False).astype(float)[order]
              if QA_SCORE in table.column_names else None)
        if SENTENCE in table.column_names:
            self.units.update(zip(table.column("id").to_pylist(), table.column(SENTENCE).to_pylist()))
        return Predictions(ids, correct, self._codes(table.column("predicted"))[order], gold, f1), extra

    def changed(self, cell: ReportCell, ids: np.ndarray) -> np.ndarray | None:
        """The perturbed dataset's `changed` flag for these ids; None without a dataset."""
        if cell.dataset is None:
            return None
        if cell.dataset not in self._changed:
            what = f"perturbed dataset of {cell.label}"
            if "changed_tokens" in pq.read_schema(cell.dataset).names:  # tagging: one row per token
                ids, flags = token_changed_flags(read_table(cell.dataset, ("id", "changed_tokens"), what))
                all_ids, order = _sorted_by_id(ids, cell.dataset, what)
                self._changed[cell.dataset] = (all_ids, flags[order])
            else:
                table = read_table(cell.dataset, ("id", "changed"), what)
                all_ids, order = self._sorted_ids(cell.language, table.column("id"), cell.dataset, what)
                flags = table.column("changed").to_numpy(zero_copy_only=False).astype(bool)[order]
                self._changed[cell.dataset] = (all_ids, flags)
        all_ids, flags = self._changed[cell.dataset]
        return flags[locate(ids, all_ids, f"{cell.label}: predictions vs dataset {cell.dataset}")]
