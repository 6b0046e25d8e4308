"""CoNLL-U and CoNLL-2003-style column files -> one record per sentence, with its first line.

Token tagging data comes in two plain-text layouts, both one token a line and a blank line
between sentences:

* CoNLL-U (Universal Dependencies): ten tab-separated columns ID FORM LEMMA UPOS XPOS FEATS
  HEAD DEPREL DEPS MISC, `#` comment lines (`# sent_id = …` names the sentence). Multiword
  token lines (ID `1-2`) and empty nodes (ID `8.1`) are skipped: the tagged units are the
  syntactic words, as in UD's own UPOS scores. A record holds `tokens` (FORM) and one list per
  tag column (`upos`, `xpos`, `deprel`, …), so `columns={tags="xpos"}` picks another tag set.
* CoNLL-2003 / WikiANN columns: whitespace-separated, the token first and the tag last
  (`-DOCSTART-` lines are document breaks). A record holds `tokens`, `tags` (the last column)
  and every column by number (`"0"`, `"1"`, …), so `columns={tags="2"}` picks another one.
"""

from __future__ import annotations

from pathlib import Path

from xexp.runtime.data.raw import DataError

CONLLU_COLUMNS = ("id", "form", "lemma", "upos", "xpos", "feats", "head", "deprel", "deps", "misc")
_TAG_COLUMNS = ("lemma", "upos", "xpos", "feats", "head", "deprel")
#: The 17 universal POS tags (universaldependencies.org/u/pos); `_` marks a tag left out.
UPOS_TAGS = frozenset("ADJ ADP ADV AUX CCONJ DET INTJ NOUN NUM PART PRON PROPN PUNCT SCONJ SYM VERB X _".split())


def _lines(path: Path):
    """(1-based line number, text without the newline), failing on bad UTF-8 with the line."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            try:
                yield number, raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                raise DataError(f"{path}, line {number}", f"not valid UTF-8 ({exc.reason})") from exc


def read_conllu(path: Path, _fmt: str = "conllu") -> tuple[list[dict], list[int]]:
    records: list[dict] = []
    lines: list[int] = []
    current: dict | None = None
    start = 0

    def close() -> None:
        nonlocal current
        if current is not None and current["tokens"]:
            records.append(current)
            lines.append(start)
        current = None

    ranges: list[tuple[int, int, int]] = []  # multiword tokens (first, last, line) of the sentence

    def check_ranges() -> None:
        words = len(current["tokens"]) if current is not None else 0
        for first, last, number in ranges:
            if last > words:
                raise DataError(f"{path}, line {number}", f"multiword token {first}-{last} spans words the "
                                f"sentence does not have (it ends at word {words})", field="ID")
        ranges.clear()

    for number, text in _lines(path):
        if number == 1:
            text = text.removeprefix("\ufeff")  # a byte-order mark is not data
        if not text.strip():
            check_ranges()
            close()
            continue
        if current is None:
            current, start = {"tokens": [], **{c: [] for c in _TAG_COLUMNS}}, number
        if text.startswith("#"):
            key, _, value = text[1:].partition("=")
            if key.strip() == "sent_id" and value.strip():
                current["id"] = value.strip()
            continue
        fields = text.split("\t")
        if len(fields) != len(CONLLU_COLUMNS):
            raise DataError(f"{path}, line {number}", f"expected 10 tab-separated CoNLL-U columns, "
                            f"got {len(fields)} (is this a CoNLL-2003-style file? give format=\"conll\")")
        expected = len(current["tokens"]) + 1
        if _multiword(fields[0], expected, path, number, ranges) or _empty_node(fields[0], expected - 1):
            continue  # multiword token or empty node: not a tagged syntactic word
        if fields[0] != str(expected):
            raise DataError(f"{path}, line {number}", f"expected word ID {expected} here, got {fields[0]!r} "
                            "(IDs count 1, 2, 3, … in each sentence; `1-2` a multiword token, `1.1` an "
                            "empty node)", field="ID")
        if not fields[1]:
            raise DataError(f"{path}, line {number}", "empty FORM column", field="FORM")
        if fields[3] not in UPOS_TAGS:
            raise DataError(f"{path}, line {number}", f"{fields[3]!r} is not a universal POS tag (one "
                            f"of {' '.join(sorted(UPOS_TAGS - {'_'}))}, or _)", field="UPOS")
        if fields[6] != "_" and not fields[6].isdigit():
            raise DataError(f"{path}, line {number}", f"HEAD must be a word ID, 0 or _, got {fields[6]!r}",
                            field="HEAD")
        current["tokens"].append(fields[1])
        for column in _TAG_COLUMNS:
            current[column].append(fields[CONLLU_COLUMNS.index(column)])
    check_ranges()
    close()
    return records, lines


def _multiword(text: str, expected: int, path: Path, number: int, ranges: list) -> bool:
    """Whether ID `text` is a multiword token `a-b`; checked: it starts at the next word."""
    first, dash, last = text.partition("-")
    if not dash:
        return False
    if not (first.isdigit() and last.isdigit() and int(first) < int(last)):
        raise DataError(f"{path}, line {number}", f"malformed multiword ID {text!r} (expected "
                        "two word IDs, the first smaller: `3-4`)", field="ID")
    if int(first) != expected:
        raise DataError(f"{path}, line {number}", f"multiword token {text} is stray: the next word "
                        f"is {expected}, so a multiword token here starts at {expected}", field="ID")
    ranges.append((int(first), int(last), number))
    return True


def _empty_node(text: str, previous: int) -> bool:
    """Whether ID `text` is an empty node `n.m` after word n (enhanced dependencies)."""
    word, dot, sub = text.partition(".")
    return bool(dot) and word.isdigit() and sub.isdigit() and int(word) == previous and int(sub) >= 1


def read_conll(path: Path, _fmt: str = "conll") -> tuple[list[dict], list[int]]:
    records: list[dict] = []
    lines: list[int] = []
    rows: list[list[str]] = []
    start = 0

    def close() -> None:
        if rows:
            record = {str(i): [row[i] for row in rows] for i in range(len(rows[0]))}
            record["tokens"], record["tags"] = record["0"], record[str(len(rows[0]) - 1)]
            records.append(record)
            lines.append(start)
        rows.clear()

    for number, text in _lines(path):
        if number == 1:
            text = text.removeprefix("\ufeff")  # a byte-order mark is not data
        fields = text.split()
        if not fields or fields[0] == "-DOCSTART-":
            close()
            continue
        if len(fields) < 2:
            raise DataError(f"{path}, line {number}", "expected a token and a tag separated by whitespace")
        if rows and len(fields) != len(rows[0]):
            raise DataError(f"{path}, line {number}",
                            f"{len(fields)} columns where the sentence's first line (line {start}) has {len(rows[0])}")
        if not rows:
            start = number
        rows.append(fields)
    close()
    return records, lines
