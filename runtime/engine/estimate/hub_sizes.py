"""Rows of the hub datasets the paper's study reads, so a plan can size their nodes before any
download. Figures are the split sizes the datasets' cards on the Hugging Face hub give; a
`*` in a config stands for any language (the per-language splits of XNLI, PAWS-X, XQuAD and
PAN-X have one size; MLQA's test sizes are per language). A dataset or split not listed has no
known size: its nodes are estimated from the kind's typical time, and the plan says so.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

#: (hub id, config pattern, split) -> rows
KNOWN_ROWS: dict[tuple[str, str, str], int] = {
    ("nyu-mll/glue", "mnli", "train"): 392_702, ("nyu-mll/glue", "mnli", "validation_matched"): 9_815,
    ("nyu-mll/glue", "mnli", "validation_mismatched"): 9_832,
    ("nyu-mll/glue", "qqp", "train"): 363_846, ("nyu-mll/glue", "qqp", "validation"): 40_430,
    ("facebook/anli", "", "train_r1"): 16_946, ("facebook/anli", "", "train_r2"): 45_460,
    ("facebook/anli", "", "train_r3"): 100_459, ("facebook/anli", "", "dev_r1"): 1_000,
    ("facebook/anli", "", "dev_r2"): 1_000, ("facebook/anli", "", "dev_r3"): 1_200,
    ("stanfordnlp/snli", "", "train"): 550_152, ("stanfordnlp/snli", "", "validation"): 10_000,
    ("stanfordnlp/snli", "", "test"): 10_000,
    ("rajpurkar/squad", "", "train"): 87_599, ("rajpurkar/squad", "", "validation"): 10_570,
    ("rajpurkar/squad_v2", "", "train"): 130_319, ("rajpurkar/squad_v2", "", "validation"): 11_873,
    ("Rowan/hellaswag", "", "train"): 39_905, ("Rowan/hellaswag", "", "validation"): 10_042,
    ("allenai/cosmos_qa", "", "train"): 25_262, ("allenai/cosmos_qa", "", "validation"): 2_985,
    ("tau/commonsense_qa", "", "train"): 9_741, ("tau/commonsense_qa", "", "validation"): 1_221,
    ("facebook/xnli", "*", "train"): 392_702, ("facebook/xnli", "*", "validation"): 2_490,
    ("facebook/xnli", "*", "test"): 5_010,
    ("google/xtreme", "PAWS-X.*", "train"): 49_401, ("google/xtreme", "PAWS-X.*", "validation"): 2_000,
    ("google/xtreme", "PAWS-X.*", "test"): 2_000,
    ("google/xtreme", "XQuAD.*", "validation"): 1_190,
    ("google/xtreme", "PAN-X.en", "train"): 20_000,
    ("google/xtreme", "PAN-X.*", "validation"): 10_000, ("google/xtreme", "PAN-X.*", "test"): 10_000,
    ("google/xtreme", "MLQA.en.en", "test"): 11_590, ("google/xtreme", "MLQA.ar.ar", "test"): 5_335,
    ("google/xtreme", "MLQA.de.de", "test"): 4_517, ("google/xtreme", "MLQA.es.es", "test"): 5_253,
    ("google/xtreme", "MLQA.hi.hi", "test"): 4_918, ("google/xtreme", "MLQA.vi.vi", "test"): 5_495,
    ("google/xtreme", "MLQA.zh.zh", "test"): 5_137,
}


def hub_rows(source: dict[str, Any], split: Any) -> int | None:
    """The rows of a hub source's split, if the table knows them."""
    ident, config = str(source.get("id")), str(source.get("config") or "")
    split = str(split or "")
    exact = KNOWN_ROWS.get((ident, config, split))
    if exact is not None:
        return exact
    for (known_id, pattern, known_split), rows in KNOWN_ROWS.items():
        if known_id == ident and known_split == split and "*" in pattern and fnmatchcase(config, pattern):
            return rows
    return None
