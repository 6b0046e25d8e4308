"""Rows without a gold label in sentence-pair classification data are dropped and counted.

SNLI on the hub marks ~2% of its pairs with the label id -1 (no gold label); MNLI's files spell
the same thing '-'. ANLI+ reads SNLI (specs/phang2020.xexp), so a `load` of it drops those rows,
says how many in its manifest (`unlabelled_dropped`) and its log, and keeps row ids stable
(runtime/data/normalize.py). The data is real MNLI dev pairs from ../shared/data, written here
in SNLI's hub layout (a ClassLabel column) with some labels replaced by -1.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import needs
from xexp.compiler import compile_text
from xexp.runtime.engine.worker import NodeFailed, execute_node
from xexp.runtime.data.normalize import unlabelled_dropped
from xexp.runtime.data.raw import DataError
from xexp.runtime.data.sources import load_rows
from xexp.runtime.engine.store import Store

NAMES = ["entailment", "neutral", "contradiction"]  # SNLI's ClassLabel order
UNLABELLED = {1, 4, 5}


def mnli_records(n: int) -> list[dict]:
    with needs.data("mnli", "dev_matched.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(next(handle)) for _ in range(n)]


def snli_like(folder: Path, n: int = 10, unlabelled: set[int] = UNLABELLED) -> tuple[Path, list[dict]]:
    """An SNLI-shaped DatasetDict on disk: premise/hypothesis/label ClassLabel, -1 at `unlabelled`."""
    import datasets

    records = mnli_records(n)
    features = datasets.Features({"premise": datasets.Value("string"), "hypothesis": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=NAMES)})
    labels = [-1 if i in unlabelled else NAMES.index(r["label"]) for i, r in enumerate(records)]
    split = datasets.Dataset.from_dict({"premise": [r["premise"] for r in records],
                                        "hypothesis": [r["hypothesis"] for r in records],
                                        "label": labels}, features=features)
    datasets.DatasetDict({"train": split, "validation": split}).save_to_disk(str(folder))
    return folder, records


def load(source: dict, task_type: str = "nli", *, split=None, rows=None):
    return load_rows(source, task_type=task_type, split=split, rows=rows, language=None)


@pytest.mark.parametrize("task_type", ["nli", "paraphrase"])
def test_rows_labelled_minus_one_are_dropped_and_counted(tmp_path, task_type):
    folder, records = snli_like(tmp_path / "snli")
    if task_type == "paraphrase":  # a two-class source with the same -1 convention (GLUE's QQP)
        folder = tmp_path / "pairs"
        import datasets

        ds = datasets.load_from_disk(str(tmp_path / "snli"))["validation"]
        ds = ds.cast_column("label", datasets.Value("int64")).map(
            lambda row: {"label": row["label"] if row["label"] == -1 else int(row["label"] == 0)})
        ds = ds.cast_column("label", datasets.ClassLabel(names=["not_duplicate", "duplicate"]))
        datasets.DatasetDict({"validation": ds}).save_to_disk(str(folder))
    table = load({"source": "hf", "id": str(folder)}, task_type, split="validation")
    kept = [i for i in range(len(records)) if i not in UNLABELLED]
    assert table.column("id").to_pylist() == [str(i) for i in kept]  # ids stay the source rows
    assert unlabelled_dropped(table) == len(UNLABELLED)
    if task_type == "nli":
        assert table.column("label").to_pylist() == [records[i]["label"] for i in kept]
        assert table.column("premise").to_pylist() == [records[i]["premise"] for i in kept]
    # a row range counts source rows: rows 0-5 hold three unlabelled ones
    window = load({"source": "hf", "id": str(folder)}, task_type, split="validation", rows=(0, 6))
    assert window.column("id").to_pylist() == ["0", "2", "3"] and unlabelled_dropped(window) == 3


def test_mnli_dash_rows_are_dropped_like_minus_one(tmp_path):
    records = mnli_records(6)
    for i in (0, 3):
        records[i] = {**records[i], "label": "-"}
    path = tmp_path / "mnli.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    table = load({"source": "local", "path": str(path)})
    assert table.column("id").to_pylist() == ["1", "2", "4", "5"] and unlabelled_dropped(table) == 2
    # a labels mapping that names the mark maps it; multiple_choice still refuses a -1 answer
    records = [{"premise": "A dog runs.", "hypothesis": "An animal moves.", "label": -1},
               {"premise": "A dog runs.", "hypothesis": "A cat sleeps.", "label": 2}]
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    mapped = load({"source": "local", "path": str(path),
                   "labels": {"-1": "neutral", "2": "contradiction"}})
    assert mapped.column("label").to_pylist() == ["neutral", "contradiction"] and unlabelled_dropped(mapped) == 0
    choices = tmp_path / "mc.jsonl"
    choices.write_text(json.dumps({"context": "A dog", "endings": ["runs.", "flies."], "label": -1}) + "\n")
    with pytest.raises(DataError, match="line 1, field 'label'"):
        load({"source": "local", "path": str(choices)}, "multiple_choice")


SPEC = """experiment unlabelled
model m = tiny()
task snli = nli(hf("{folder}"), train="train", dev="validation")
target = snli trained_on snli
languages = [en]
"""


def load_node(folder: Path, split: str):
    _, graph = compile_text(SPEC.format(folder=folder))
    return next(n for n in graph.nodes if n.kind == "load" and n.params["split"] == split)


def test_the_load_node_records_how_many_rows_it_dropped(tmp_path):
    folder, _ = snli_like(tmp_path / "snli")
    store = Store(tmp_path / "store")
    node = load_node(folder, "validation")
    execute_node(node.model_dump(mode="json"), store.url, "run1", "xexp.runtime.ops:execute", {})
    record = store.read_record("load", node.key)
    assert record is not None and record.manifest["rows"] == 7
    assert record.manifest["unlabelled_dropped"] == 3
    assert "7 rows, 3 unlabelled rows dropped" in store.log_path("load", node.key).read_text()


def test_a_split_with_no_gold_labels_fails_its_load_in_one_line(tmp_path):
    folder, _ = snli_like(tmp_path / "snli", n=4, unlabelled={0, 1, 2, 3})
    store = Store(tmp_path / "store")
    node = load_node(folder, "validation")
    with pytest.raises(NodeFailed, match="all 4 rows are unlabelled"):
        execute_node(node.model_dump(mode="json"), store.url, "run1", "xexp.runtime.ops:execute", {})
    assert not store.is_done("load", node.key)
