"""Local data checked per column and per line (issue 22): CoNLL-U IDs, UPOS tags, HEAD and
multiword ranges; a UTF-8 byte-order mark accepted; malformed JSON named once, with its column."""

from __future__ import annotations

import json

import pytest

from xexp.runtime.data.conll import read_conllu
from xexp.runtime.data.local import _read_jsonl
from xexp.runtime.data.raw import DataError
from xexp.runtime.data.sources import load_rows

GOOD = ["# sent_id = s1", "1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_", "2-3\tcan't\t_\t_\t_\t_\t_\t_\t_\t_",
        "2\tca\tcan\tAUX\tMD\t_\t0\troot\t_\t_", "3\tn't\tnot\tPART\tRB\t_\t2\tadvmod\t_\t_",
        "3.1\tgo\tgo\tVERB\t_\t_\t_\t_\t2:conj\t_", ""]


def conllu(tmp_path, lines, bom=False):
    path = tmp_path / "x.conllu"
    path.write_text(("\ufeff" if bom else "") + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_good_sentence_with_a_multiword_token_and_an_empty_node_reads_its_words(tmp_path):
    records, lines = read_conllu(conllu(tmp_path, GOOD, bom=True))
    assert records[0]["tokens"] == ["The", "ca", "n't"] and records[0]["upos"] == ["DET", "AUX", "PART"]
    assert records[0]["id"] == "s1" and lines == [1]


@pytest.mark.parametrize("line_no, replacement, field, says", [
    (1, "x\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_", "ID", "expected word ID 1 here, got 'x'"),
    (1, "1\tThe\tthe\tNOTATAG\tDT\t_\t2\tdet\t_\t_", "UPOS", "'NOTATAG' is not a universal POS tag"),
    (1, "1\tThe\tthe\tDET\tDT\t_\ttwo\tdet\t_\t_", "HEAD", "HEAD must be a word ID, 0 or _"),
    (2, "5-6\tcan't\t_\t_\t_\t_\t_\t_\t_\t_", "ID", "multiword token 5-6 is stray"),
    (2, "3-2\tcan't\t_\t_\t_\t_\t_\t_\t_\t_", "ID", "malformed multiword ID '3-2'"),
    (4, "4\tn't\tnot\tPART\tRB\t_\t2\tadvmod\t_\t_", "ID", "expected word ID 3 here, got '4'"),
])
def test_each_column_is_checked_with_file_line_and_field(tmp_path, line_no, replacement, field, says):
    lines = list(GOOD)
    lines[line_no] = replacement
    path = conllu(tmp_path, lines)
    with pytest.raises(DataError) as caught:
        read_conllu(path)
    assert caught.value.field == field and says in caught.value.problem
    assert caught.value.location == f"{path}, line {line_no + 1}"


def test_a_multiword_token_past_the_sentence_end_is_refused(tmp_path):
    lines = GOOD[:5] + ["4-5\tdon't\t_\t_\t_\t_\t_\t_\t_\t_", ""]
    with pytest.raises(DataError, match=r"line 6, field 'ID': multiword token 4-5 spans words"):
        read_conllu(conllu(tmp_path, lines))


def test_jsonl_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "dev.jsonl"
    rows = [{"premise": "a", "hypothesis": "b", "label": "neutral"}] * 2
    path.write_bytes("\ufeff".encode() + "\n".join(json.dumps(r) for r in rows).encode() + b"\n")
    table = load_rows({"source": "local", "path": str(path)}, task_type="nli", split=None, rows=None, language="en")
    assert table.num_rows == 2 and table.column("premise").to_pylist() == ["a", "a"]


@pytest.mark.parametrize("text, says", [
    ('{"premise": "a",}', "malformed JSON (expecting property name enclosed in double quotes, column 17)"),
    ('{"premise" "a"}', "malformed JSON (expecting ':' delimiter, column 12)"),
    ('{"a": 1} trailing', "malformed JSON (extra data, column 10)"),
])
def test_malformed_json_is_named_once_with_its_column(tmp_path, text, says):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"ok": 1}\n' + text + "\n")
    with pytest.raises(DataError) as caught:
        _read_jsonl(path, "jsonl")
    assert str(caught.value) == f"{path}, line 2: {says}"
