"""`xexp perturb` (issue 30): --param in the spec's own syntax, through the compiler's parser and
the entry's schema (its errors with a caret), --lang checked as a spec's languages are, and a
note when the text comes back unchanged."""

from __future__ import annotations

from xexp.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["perturb", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_lexicon_is_written_as_in_a_spec(capsys):
    code, out, err = run(capsys, "code_switch", "--lang", "en", "--param", "lexicon=synthetic()",
                         "--param", "p=1", "--param", 'to="de"', "the dog runs fast")
    assert code == 0, err
    assert out.strip() != "the dog runs fast" and "Hund" in out


def test_a_bad_value_is_a_spec_error_with_a_caret_not_a_pydantic_dump(capsys):
    code, out, err = run(capsys, "char_noise", "--lang", "de", "--param", "p=2", "Der Hund")
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert lines[0] == ("--param:1:14: error: parameter `p` of `char_noise`: Input should be less "
                        "than or equal to 1 (got a number 2)")
    assert lines[2].endswith("char_noise(p=2)") and lines[3].index("^") == lines[2].index("2")
    assert "pydantic" not in err and "https://" not in err


def test_an_unknown_parameter_gets_a_did_you_mean(capsys):
    code, _, err = run(capsys, "char_noise", "--lang", "en", "--param", "pp=0.2", "text")
    assert code == 2 and "`char_noise` has no parameter `pp`" in err and "did you mean `p`" in err


def test_a_param_that_is_not_spec_syntax_is_a_syntax_error(capsys):
    code, _, err = run(capsys, "code_switch", "--lang", "en", "--param", 'lexicon={"kind": "synthetic"}', "x")
    assert code == 2 and err.startswith("--param:1:") and "error: unexpected" in err


def test_an_unknown_language_is_refused(capsys):
    code, out, err = run(capsys, "char_noise", "--lang", "xx", "Der Hund")
    assert code == 2 and out == ""
    assert err.startswith("xexp perturb: --lang xx: unknown language code") and err.count("\n") == 1


def test_a_language_the_perturbation_does_not_cover_is_refused(capsys):
    from xexp.compiler.languages import KNOWN_LANGUAGES
    from xexp.compiler.registry import REGISTRY

    entry = next(e for e in REGISTRY.of("perturbation") if e.languages is not None
                 and set(KNOWN_LANGUAGES) - set(e.languages))
    lang = sorted(set(KNOWN_LANGUAGES) - set(entry.languages))[0]
    code, _, err = run(capsys, entry.name, "--lang", lang, "text")
    assert code == 2 and f"`{entry.name}` does not apply to it" in err


def test_an_unchanged_text_says_so(capsys):
    code, out, err = run(capsys, "char_noise", "--lang", "de", "Der Hund läuft schnell.")
    assert code == 0 and out == "Der Hund läuft schnell.\n"
    assert err.startswith("note: unchanged: `char_noise`") and "p=0.05" in err and "--seed" in err
    code, out, err = run(capsys, "char_noise", "--lang", "de", "--param", "p=0.5", "Der Hund läuft schnell.")
    assert code == 0 and out != "Der Hund läuft schnell.\n" and err == ""
