"""Data sources: real files load into the normalized tables; labels map by name; bad data is
reported with its file, row and field."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import needs
from xexp.runtime.data.raw import DataError
from xexp.runtime.data.sources import load_rows
from xexp.runtime.data.formats import NLI_LABELS

DATA = needs.DATA
MNLI = DATA / "mnli" / "dev_matched.jsonl"
XQUAD = DATA / "xquad" / "xquad.en.json"
HELLASWAG = DATA / "hellaswag" / "val.jsonl"


def test_real_data_is_present():
    for path in (MNLI, XQUAD, HELLASWAG, DATA / "xnli" / "dev.en.jsonl"):
        assert needs.data(path).is_file()


def load(source: dict, task_type: str = "nli", *, split=None, rows=None, language=None):
    return load_rows(source, task_type=task_type, split=split, rows=rows, language=language)


def mnli_records(n: int) -> list[dict]:
    with needs.data(MNLI).open(encoding="utf-8") as handle:
        return [json.loads(next(handle)) for _ in range(n)]


def write_jsonl(path: Path, records: list) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


# --- real files ---------------------------------------------------------------------------

@pytest.mark.needs_data
def test_mnli_jsonl_loads_with_names_and_row_ids():
    table = load({"source": "local", "path": str(MNLI)})
    first = mnli_records(3)
    assert tuple(table.column_names) == ("id", "premise", "hypothesis", "label")
    assert table.num_rows == sum(1 for _ in open(MNLI, encoding="utf-8"))
    assert table.column("id").to_pylist()[:3] == ["0", "1", "2"]
    assert table.slice(0, 3).column("premise").to_pylist() == [r["premise"] for r in first]
    assert set(table.column("label").to_pylist()) == set(NLI_LABELS)


@pytest.mark.needs_data
def test_rows_slice_keeps_source_row_ids():
    full = load({"source": "local", "path": str(MNLI)}, rows=(0, 50))
    part = load({"source": "local", "path": str(MNLI)}, rows=(10, 20))
    assert part.column("id").to_pylist() == [str(i) for i in range(10, 20)]
    assert part.to_pylist() == full.slice(10, 10).to_pylist()
    total = sum(1 for _ in open(MNLI, encoding="utf-8"))
    tail = load({"source": "local", "path": str(MNLI)}, rows=(-2, None))
    assert tail.column("id").to_pylist() == [str(total - 2), str(total - 1)]


@pytest.mark.needs_data
def test_glob_and_lang_placeholder(tmp_path):
    one = load({"source": "local", "path": str(DATA / "xnli" / "dev.{lang}.jsonl")}, language="de")
    assert one.num_rows == 2490
    both = load({"source": "local", "path": str(DATA / "xnli" / "dev.[de][en].jsonl")})
    assert both.num_rows == 2 * 2490
    ids = both.column("id").to_pylist()
    assert len(set(ids)) == len(ids), "rows of several files must get distinct ids"
    # sorted-path order: de first, then en
    assert both.slice(2490, 1).column("premise")[0].as_py() == load(
        {"source": "local", "path": str(DATA / "xnli" / "dev.en.jsonl")}, rows=(0, 1)).column("premise")[0].as_py()


def test_split_placeholder(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", mnli_records(4))
    write_jsonl(tmp_path / "dev.jsonl", mnli_records(2))
    source = {"source": "local", "path": str(tmp_path / "{split}.jsonl")}
    assert load(source, split="train").num_rows == 4
    assert load(source, split="dev").num_rows == 2
    with pytest.raises(DataError, match="no split was given"):
        load(source)


@pytest.mark.needs_data
def test_squad_json_reads_xquad():
    table = load({"source": "local", "path": str(XQUAD)}, "extractive_qa")
    assert tuple(table.column_names) == ("id", "context", "question", "answers")
    assert table.num_rows == 1190
    row = table.slice(0, 1).to_pylist()[0]
    raw = json.loads(XQUAD.read_text(encoding="utf-8"))["data"][0]["paragraphs"][0]
    assert row["id"] == raw["qas"][0]["id"]
    assert row["answers"] == [{"text": a["text"], "start": a["answer_start"]} for a in raw["qas"][0]["answers"]]
    for answers, context in zip(table.column("answers").to_pylist(), table.column("context").to_pylist()):
        for a in answers:
            assert context[a["start"]:a["start"] + len(a["text"])] == a["text"]


def test_squad_v2_unanswerable_has_no_answers(tmp_path):
    doc = {"version": "v2.0", "data": [{"title": "t", "paragraphs": [{"context": "Paris is in France.", "qas": [
        {"id": "q1", "question": "Where is Paris?", "answers": [{"text": "France", "answer_start": 12}],
         "is_impossible": False},
        {"id": "q2", "question": "Where is Rome?", "answers": [], "is_impossible": True,
         "plausible_answers": [{"text": "France", "answer_start": 12}]}]}]}]}
    path = tmp_path / "v2.json"
    path.write_text(json.dumps(doc))
    table = load({"source": "local", "path": str(path)}, "extractive_qa")
    assert table.column("answers").to_pylist() == [[{"text": "France", "start": 12}], []]


@pytest.mark.needs_data
def test_hellaswag_multiple_choice_uses_ctx_column():
    table = load({"source": "local", "path": str(HELLASWAG)}, "multiple_choice", rows=(0, 20))
    assert tuple(table.column_names) == ("id", "context", "endings", "label")
    raw = json.loads(open(HELLASWAG, encoding="utf-8").readline())
    first = table.slice(0, 1).to_pylist()[0]
    assert first["context"] == raw["ctx"] and first["endings"] == raw["endings"] and first["label"] == raw["label"]
    assert table.schema.field("label").type == pa.int64()


def test_synthetic_source_dispatches_with_language():
    en = load({"source": "synthetic", "size": 6, "seed": 3}, split="train", language="en")
    hi = load({"source": "synthetic", "size": 6, "seed": 3}, split="train", language="hi")
    assert en.num_rows == 6 and en.column("id").to_pylist() == hi.column("id").to_pylist()
    assert en.column("label").to_pylist() == hi.column("label").to_pylist()
    assert en.column("premise").to_pylist() != hi.column("premise").to_pylist()
    assert set(en.column("label").to_pylist()) <= set(NLI_LABELS)


# --- label mapping by name ------------------------------------------------------------------

def test_string_labels_in_any_order_and_spelling(tmp_path):
    records = mnli_records(6)
    spelled = {"entailment": "Entails", "neutral": "NEUTRAL", "contradiction": "contradict"}
    path = write_jsonl(tmp_path / "odd.jsonl", [dict(r, label=spelled[r["label"]]) for r in reversed(records)])
    table = load({"source": "local", "path": str(path)})
    assert table.column("label").to_pylist() == [r["label"] for r in reversed(records)]


def test_integer_labels_need_a_mapping_and_follow_it(tmp_path):
    records = mnli_records(9)
    jiant_order = {"contradiction": 0, "entailment": 1, "neutral": 2}  # not the HF order
    path = write_jsonl(tmp_path / "ids.jsonl", [dict(r, label=jiant_order[r["label"]]) for r in records])
    with pytest.raises(DataError) as err:
        load({"source": "local", "path": str(path)})
    assert "raw id" in str(err.value) and "line 1" in str(err.value) and "'label'" in str(err.value)
    mapping = {"0": "contradiction", "1": "entailment", "2": "neutral"}
    table = load({"source": "local", "path": str(path), "labels": mapping})
    assert table.column("label").to_pylist() == [r["label"] for r in records]


def test_two_way_label_is_rejected_for_three_way_nli(tmp_path):
    path = write_jsonl(tmp_path / "rte.jsonl", [{"premise": "A man sleeps.", "hypothesis": "A man runs.",
                                                 "label": "not_entailment"}])
    with pytest.raises(DataError, match="cannot be split into neutral vs contradiction"):
        load({"source": "local", "path": str(path)})


def test_paraphrase_binary_flags(tmp_path):
    path = write_jsonl(tmp_path / "pawsx.jsonl", [
        {"sentence1": "a b", "sentence2": "b a", "label": 1},
        {"sentence1": "c d", "sentence2": "d e", "label": 0},
        {"sentence1": "e f", "sentence2": "f e", "label": "equivalent"}])
    table = load({"source": "local", "path": str(path)}, "paraphrase")
    assert table.column("label").to_pylist() == ["paraphrase", "not_paraphrase", "paraphrase"]


def test_columns_mapping_csv_tsv_parquet(tmp_path):
    records = mnli_records(5)
    renamed = [{"pid": f"p{i}", "s1": r["premise"], "s2": r["hypothesis"], "gold": r["label"]}
               for i, r in enumerate(records)]
    columns = {"id": "pid", "premise": "s1", "hypothesis": "s2", "label": "gold"}
    with open(tmp_path / "d.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(renamed[0]))
        writer.writeheader()
        writer.writerows(renamed)
    (tmp_path / "d.tsv").write_text("pid\ts1\ts2\tgold\n" + "".join(
        "\t".join(r.values()) + "\n" for r in renamed), encoding="utf-8")
    pq.write_table(pa.Table.from_pylist(renamed), tmp_path / "d.parquet")
    expected = [{"id": f"p{i}", "premise": r["premise"], "hypothesis": r["hypothesis"], "label": r["label"]}
                for i, r in enumerate(records)]
    for name in ("d.csv", "d.tsv", "d.parquet"):
        table = load({"source": "local", "path": str(tmp_path / name), "columns": columns})
        assert table.to_pylist() == expected, name


def test_mc_columns_list_and_letter_labels(tmp_path):
    path = write_jsonl(tmp_path / "csqa.jsonl", [{"id": "x1", "question": "Where do fish live?",
                                                  "choices": {"text": ["tree", "water", "sky"]}, "answerKey": "B"}])
    table = load({"source": "local", "path": str(path),
                  "columns": {"context": "question", "endings": "choices.text", "label": "answerKey"}},
                 "multiple_choice")
    assert table.to_pylist() == [{"id": "x1", "context": "Where do fish live?",
                                  "endings": ["tree", "water", "sky"], "label": 1}]


# --- Hugging Face datasets from local directories ---------------------------------------------

def test_hf_class_labels_become_names(tmp_path):
    import datasets

    records = mnli_records(6)
    names = ["entailment", "neutral", "contradiction"]  # the HF MNLI/XNLI order
    features = datasets.Features({"premise": datasets.Value("string"), "hypothesis": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=names)})
    ds = datasets.Dataset.from_dict({"premise": [r["premise"] for r in records],
                                     "hypothesis": [r["hypothesis"] for r in records],
                                     "label": [names.index(r["label"]) for r in records]}, features=features)
    datasets.DatasetDict({"train": ds, "validation": ds.select(range(2))}).save_to_disk(str(tmp_path / "disk"))
    table = load({"source": "hf", "id": str(tmp_path / "disk")}, split="train", rows=(1, 5))
    assert table.column("label").to_pylist() == [r["label"] for r in records[1:5]]
    assert table.column("id").to_pylist() == ["1", "2", "3", "4"]
    with pytest.raises(DataError, match="name one with split="):
        load({"source": "hf", "id": str(tmp_path / "disk")})
    with pytest.raises(DataError, match="no split 'test'"):
        load({"source": "hf", "id": str(tmp_path / "disk")}, split="test")


def test_hf_data_file_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "squadlike"
    folder.mkdir()
    rows = [{"id": "a", "context": "Ada wrote code.", "question": "Who wrote code?",
             "answers": {"text": ["Ada"], "answer_start": [0]}},
            {"id": "b", "context": "Bo sang.", "question": "Who danced?", "answers": {"text": [], "answer_start": []}}]
    write_jsonl(folder / "validation.jsonl", rows)
    table = load({"source": "hf", "id": str(folder)}, "extractive_qa", split="validation")
    assert table.column("answers").to_pylist() == [[{"text": "Ada", "start": 0}], []]


# --- bad data: file, row and field in the message ----------------------------------------------

def bad_jsonl(tmp_path, broken: dict | str, at: int = 3) -> Path:
    lines = [json.dumps(r) for r in mnli_records(5)]
    lines[at - 1] = broken if isinstance(broken, str) else json.dumps(broken)
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("broken, field, problem", [
    ({"premise": "A dog.", "label": "neutral"}, "hypothesis", "missing"),
    ({"premise": "A dog.", "hypothesis": "An animal.", "label": "maybe"}, "label", "unknown label 'maybe'"),
    ({"premise": "   ", "hypothesis": "An animal.", "label": "neutral"}, "premise", "empty text"),
    ({"premise": "A dog.", "hypothesis": None, "label": "neutral"}, "hypothesis", "null"),
    ({"premise": "A dog.", "hypothesis": 7, "label": "neutral"}, "hypothesis", "expected text"),
])
def test_bad_jsonl_row_names_file_line_and_field(tmp_path, broken, field, problem):
    path = bad_jsonl(tmp_path, broken)
    with pytest.raises(DataError) as err:
        load({"source": "local", "path": str(path)})
    message = str(err.value)
    assert str(path) in message and "line 3" in message and f"field {field!r}" in message and problem in message
    assert err.value.field == field


def test_malformed_jsonl_line(tmp_path):
    path = bad_jsonl(tmp_path, '{"premise": "A dog.", "hypothesis": ', at=4)
    with pytest.raises(DataError) as err:
        load({"source": "local", "path": str(path)})
    assert str(path) in str(err.value) and "line 4" in str(err.value) and "malformed JSON" in str(err.value)


def test_line_numbers_count_blank_lines(tmp_path):
    records = mnli_records(3)
    path = tmp_path / "gaps.jsonl"
    path.write_text(json.dumps(records[0]) + "\n\n\n" + json.dumps(dict(records[1], label="??")) + "\n")
    with pytest.raises(DataError, match=r"line 4, field 'label'"):
        load({"source": "local", "path": str(path)})


def test_bad_csv_rows(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text('premise,hypothesis,label\n"A, quoted",B.,neutral\nC.,D.\n', encoding="utf-8")
    with pytest.raises(DataError) as err:
        load({"source": "local", "path": str(path)})
    assert f"{path}, line 3" in str(err.value) and "2 fields where the header has 3" in str(err.value)
    path.write_text('premise,hypothesis,label\n"A\nspanning two lines",B.,neutral\nC.,,neutral\n')
    with pytest.raises(DataError, match=r"bad.csv, line 4, field 'hypothesis': empty text"):
        load({"source": "local", "path": str(path)})


def test_bad_parquet_row_and_missing_column(tmp_path):
    rows = [{"premise": "A.", "hypothesis": "B.", "label": "neutral"},
            {"premise": "C.", "hypothesis": "", "label": "neutral"}]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "d.parquet")
    with pytest.raises(DataError, match=r"d.parquet, row 2, field 'hypothesis': empty text"):
        load({"source": "local", "path": str(tmp_path / "d.parquet")})
    with pytest.raises(DataError, match=r"row 1, field 'premise': missing: no column 'text'"):
        load({"source": "local", "path": str(tmp_path / "d.parquet"), "columns": {"premise": "text"}})


@pytest.mark.needs_data
def test_bad_squad_answer_offset(tmp_path):
    doc = json.loads(XQUAD.read_text(encoding="utf-8"))
    qa = doc["data"][0]["paragraphs"][1]["qas"][2]
    qa["answers"][0]["answer_start"] += 3
    path = tmp_path / "shifted.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(DataError) as err:
        load({"source": "local", "path": str(path)}, "extractive_qa")
    assert "data[0].paragraphs[1].qas[2]" in str(err.value) and "field 'answers'" in str(err.value)
    assert "is not at offset" in str(err.value)


@pytest.mark.needs_data
def test_bad_multiple_choice_label(tmp_path):
    records = [json.loads(line) for _, line in zip(range(3), open(HELLASWAG, encoding="utf-8"))]
    records[1]["label"] = 4
    path = write_jsonl(tmp_path / "hs.jsonl", records)
    with pytest.raises(DataError, match=r"line 2, field 'label': ending index 4 is out of range for 4 endings"):
        load({"source": "local", "path": str(path)}, "multiple_choice")


def test_duplicate_ids(tmp_path):
    records = [dict(r, id="same") for r in mnli_records(2)]
    path = write_jsonl(tmp_path / "dup.jsonl", records)
    with pytest.raises(DataError, match=r"line 2, field 'id': duplicate id 'same' \(first at .*line 1\)"):
        load({"source": "local", "path": str(path)})


@pytest.mark.needs_data
def test_source_level_errors(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        load({"source": "local", "path": str(tmp_path / "nope.jsonl")})
    with pytest.raises(DataError, match="no file matches"):
        load({"source": "local", "path": str(tmp_path / "*.jsonl")})
    (tmp_path / "data.txt").write_text("x")
    with pytest.raises(DataError, match="give format="):
        load({"source": "local", "path": str(tmp_path / "data.txt")})
    with pytest.raises(DataError, match="holds extractive QA data, not 'nli'"):
        load({"source": "local", "path": str(XQUAD)})
    with pytest.raises(DataError, match="labels mapping '0' -> 'yes'"):
        load({"source": "local", "path": str(MNLI), "labels": {"0": "yes"}})
    with pytest.raises(ValueError, match="unknown task type 'sentiment'"):
        load({"source": "local", "path": str(MNLI)}, "sentiment")
