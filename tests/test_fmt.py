"""`xexp fmt`: canonical, idempotent, meaning-preserving, comment-preserving.

Run over every spec in specs/ and tests/specs/ (whoever adds one gets these checks for free).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from xexp.cli import main
from xexp.compiler import SpecError, compile_text, parse
from xexp.compiler.fmt import format_module, format_text

REPO = Path(__file__).resolve().parents[1]


def _spec_files(folder: Path) -> list[Path]:
    """The spec files of a folder; not the `.xexp/` store a run leaves beside them."""
    return [path for path in folder.glob("*.xexp") if path.is_file()]


SPEC_FILES = sorted([*_spec_files(REPO / "specs"), *_spec_files(REPO / "tests" / "specs")])
UNFORMATTED = REPO / "tests" / "specs" / "compiler_unformatted.xexp"


def spec_id(path: Path) -> str:
    return str(path.relative_to(REPO))


def compiled_keys(text: str, name: str) -> list[str] | list[tuple[str, int, int]]:
    """The graph's keys, or — for a spec that needs settings it lacks — its errors."""
    try:
        return [n.key for n in compile_text(text, name)[1].nodes]
    except SpecError as err:
        return [(e.message, e.line > 0, e.column > 0) for e in err.errors]


def test_there_are_specs_to_check():
    names = {p.name for p in SPEC_FILES}
    assert {"xnli_robustness.xexp", "compiler_features.xexp", "compiler_unformatted.xexp"} <= names


@pytest.mark.parametrize("path", SPEC_FILES, ids=spec_id)
def test_fmt_is_idempotent(path):
    once = format_text(path.read_text(encoding="utf-8"), str(path))
    assert format_text(once, str(path)) == once


@pytest.mark.parametrize("path", SPEC_FILES, ids=spec_id)
def test_fmt_round_trips_the_tree_and_the_graph(path):
    text = path.read_text(encoding="utf-8")
    formatted = format_text(text, str(path))
    assert parse(formatted, str(path)) == parse(text, str(path))  # spans are not compared
    assert compiled_keys(formatted, str(path)) == compiled_keys(text, str(path))


@pytest.mark.parametrize("path", SPEC_FILES, ids=spec_id)
def test_fmt_keeps_every_comment(path):
    text = path.read_text(encoding="utf-8")
    formatted = format_text(text, str(path))
    for comment in parse(text, str(path)).comments:
        assert comment.text in formatted, comment
    assert len(parse(formatted, str(path)).comments) <= len(parse(text, str(path)).comments)


def test_unformatted_spec_changes_and_reads_canonically():
    text = UNFORMATTED.read_text(encoding="utf-8")
    formatted = format_text(text, str(UNFORMATTED))
    assert formatted != text
    lines = formatted.split("\n")
    assert "model m = tiny(layers=1, hidden=32)" in lines              # spaces normalised, trailing comma gone
    assert "intermediate = [none src]" in lines                       # a list of names: spaces
    assert "target       = tgt trained_on src" in lines               # a paragraph of assignments aligns `=`
    assert "languages    = [en de fr]  # three languages" in lines    # multi-line list joined, comment kept
    assert "train target { lr=2e-5 batch=8 }" in lines                # short block on one line
    assert "report       { baseline=none bootstrap=100 }  # trailing" in lines  # one-line blocks align `{`
    entries = [line for line in lines if line.startswith("  ") and "=" in line and not line.strip().startswith("#")]
    assert len({line.index("=") for line in entries}) == 1            # perturbation `=` aligned
    assert "\n\n\n" not in formatted and formatted.endswith("\n") and not formatted.endswith("\n\n")


def test_canonical_forms_of_values():
    text = ('experiment a\n'
            'x = [ "s1" ,"s2"]\n'
            'y = {b = 1 "two words"=2 "on"=3}\n'
            'z = sweep[1 2]\n'
            'w = "tab\\t quote\\" back\\\\ cr\\r"\n')
    formatted = format_text(text)
    assert 'x = ["s1", "s2"]' in formatted                  # lists with strings: commas
    assert 'y = {b=1 "two words"=2 "on"=3}' in formatted    # keys that are not plain names are quoted
    assert "z = sweep[1, 2]" in formatted
    assert 'w = "tab\\t quote\\" back\\\\ cr\\r"' in formatted
    assert parse(formatted) == parse(text)


def test_a_list_holding_the_word_trained_on_keeps_its_commas():
    """`[en, trained_on, fr]` is three names; printed with spaces it would read as a target
    (`en trained_on fr`). Found by tests/test_fuzz_compiler.py."""
    text = "languages=[en,trained_on\n fr]\n"
    formatted = format_text(text)
    assert formatted == "languages = [en, trained_on, fr]\n"
    assert parse(formatted) == parse(text)


def test_format_module_of_a_parsed_module_equals_format_text():
    text = UNFORMATTED.read_text(encoding="utf-8")
    assert format_module(parse(text, "u.xexp")) == format_text(text, "u.xexp")


def test_fmt_refuses_a_file_with_syntax_errors():
    with pytest.raises(SpecError):
        format_text("experiment a\nx = [1 2\ny = 3\n")


# --- the command -------------------------------------------------------------------------------


def test_fmt_check_exit_codes(tmp_path, capsys):
    messy = tmp_path / "messy.xexp"
    messy.write_text(UNFORMATTED.read_text(encoding="utf-8"), encoding="utf-8")
    tidy = tmp_path / "tidy.xexp"
    tidy.write_text(format_text(messy.read_text(encoding="utf-8")), encoding="utf-8")

    assert main(["fmt", "--check", str(tidy)]) == 0
    assert main(["fmt", "--check", str(messy)]) == 1
    assert "would be reformatted" in capsys.readouterr().err
    assert main(["fmt", "--check", str(tidy), str(messy)]) == 1
    assert messy.read_text(encoding="utf-8") == UNFORMATTED.read_text(encoding="utf-8")  # --check writes nothing

    assert main(["fmt", str(messy)]) == 0
    assert messy.read_text(encoding="utf-8") == tidy.read_text(encoding="utf-8")
    assert main(["fmt", "--check", str(messy)]) == 0


def test_fmt_command_reports_spec_errors_with_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.xexp"
    bad.write_text("experiment a\nx = = 1\n", encoding="utf-8")
    assert main(["fmt", str(bad)]) == 2
    assert f"{bad}:2:5: error:" in capsys.readouterr().err
    assert bad.read_text(encoding="utf-8") == "experiment a\nx = = 1\n"


def test_shipped_specs_are_canonical():
    """The specs users copy from are already in the form `xexp fmt` writes."""
    specs = sorted(_spec_files(REPO / "specs"))
    assert specs
    for path in specs:
        text = path.read_text(encoding="utf-8")
        assert format_text(text, str(path)) == text, f"{path.name} is not canonical: run xexp fmt"
