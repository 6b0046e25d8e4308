"""XTREME's retrieval layouts -> bitext records (`query`, `candidate`), one language pair a glob.

A pair's sentences live in several files that only mean something together, so these readers
take every file the path's glob matched at once (runtime/data/local.py), and each file is
told apart by its last suffix, as XTREME names them:

* Tatoeba (`tatoeba.<lang>-eng.<lang>` and `tatoeba.<lang>-eng.eng`): one sentence a line,
  line i of one file the translation of line i of the other; ids are the 0-based line numbers.
* BUCC 2018 (`<lang>-en.<split>.<lang>`, `<lang>-en.<split>.en`, `<lang>-en.<split>.gold`):
  `id<TAB>sentence` a line in the two text files, `source id<TAB>English id` a line in the
  gold file. A gold pair is one row; a sentence with no partner is a row with one side empty,
  so the English pool keeps every English sentence. Ids are BUCC's own.
"""

from __future__ import annotations

from pathlib import Path

from xexp.runtime.data.raw import DataError

ENGLISH_SUFFIXES = {"tatoeba": ".eng", "bucc": ".en"}
GOLD_SUFFIX = ".gold"


def _lines(path: Path) -> list[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            return [line.rstrip("\r\n") for line in handle]
    except UnicodeDecodeError as err:
        raise DataError(str(path), f"not UTF-8 text ({err.reason} at byte {err.start})") from None


def _sides(files: list[Path], fmt: str, pattern: str) -> dict[str, Path]:
    """The files of one pair by role ("query", "candidate", and BUCC's "gold")."""
    english = ENGLISH_SUFFIXES[fmt]
    roles: dict[str, list[Path]] = {"query": [], "candidate": [], "gold": []}
    for path in files:
        suffix = path.suffix.lower()
        role = "candidate" if suffix == english else "gold" if suffix == GOLD_SUFFIX and fmt == "bucc" else "query"
        roles[role].append(path)
    needed = ("query", "candidate", "gold") if fmt == "bucc" else ("query", "candidate")
    expected = {"query": "the non-English sentences", "candidate": f"the English sentences (*{english})",
                "gold": f"the gold pairs (*{GOLD_SUFFIX})"}
    for role in needed:
        if len(roles[role]) != 1:
            found = ", ".join(p.name for p in roles[role]) or "none"
            raise DataError(pattern, f"a {fmt} pair needs one file of {expected[role]}; the path matched {found} "
                            f"(make the glob name one pair: {'tatoeba.<lang>-eng.*' if fmt == 'tatoeba' else '<lang>-en.<split>.*'})")
    return {role: roles[role][0] for role in needed}


def read_tatoeba(files: list[Path], pattern: str) -> tuple[list[dict], list[str]]:
    """Line-aligned translations; records and where each came from."""
    sides = _sides(files, "tatoeba", pattern)
    queries, candidates = _lines(sides["query"]), _lines(sides["candidate"])
    if len(queries) != len(candidates):
        raise DataError(pattern, f"{sides['query'].name} has {len(queries)} lines and {sides['candidate'].name} "
                        f"{len(candidates)}: Tatoeba's files are line-aligned")
    records = [{"id": str(i), "query": q, "candidate": c} for i, (q, c) in enumerate(zip(queries, candidates))]
    return records, [f"{sides['query']}, line {i + 1}" for i in range(len(records))]


def _sentences(path: Path) -> dict[str, tuple[str, int]]:
    out: dict[str, tuple[str, int]] = {}
    for number, line in enumerate(_lines(path), start=1):
        if not line.strip():
            continue
        sentence_id, tab, text = line.partition("\t")
        if not tab or not sentence_id.strip():
            raise DataError(f"{path}, line {number}", "expected `id<TAB>sentence` (BUCC's layout)")
        if sentence_id in out:
            raise DataError(f"{path}, line {number}", f"duplicate id {sentence_id!r} (first at line {out[sentence_id][1]})")
        out[sentence_id] = (text, number)
    return out


def read_bucc(files: list[Path], pattern: str) -> tuple[list[dict], list[str]]:
    """Gold pairs, then the unpaired sentences of each side; records and where each came from."""
    sides = _sides(files, "bucc", pattern)
    source, english = _sentences(sides["query"]), _sentences(sides["candidate"])
    partner: dict[str, str] = {}
    paired_english: set[str] = set()
    for number, line in enumerate(_lines(sides["gold"]), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        where = f"{sides['gold']}, line {number}"
        if len(parts) != 2:
            raise DataError(where, "expected `source id<TAB>English id`")
        src, trg = (p.strip() for p in parts)
        if src not in source or trg not in english:
            missing = src if src not in source else trg
            raise DataError(where, f"gold id {missing!r} is in neither sentence file")
        if src in partner or trg in paired_english:
            raise DataError(where, f"{src if src in partner else trg!r} has a second gold partner")
        partner[src] = trg
        paired_english.add(trg)
    records, places = [], []
    for src, (text, number) in source.items():
        paired = partner.get(src)
        records.append({"id": src, "query": text, "candidate": english[paired][0] if paired else ""})
        places.append(f"{sides['query']}, line {number}")
    for trg, (text, number) in english.items():
        if trg not in paired_english:
            records.append({"id": trg, "query": "", "candidate": text})
            places.append(f"{sides['candidate']}, line {number}")
    return records, places
