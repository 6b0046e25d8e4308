"""Every kind of spec error: where it points (line:column, source line, caret) and its hint.

A user must only ever see a compiler-style message, never a lark or pydantic traceback, and a
file with several independent problems must report all of them in one pass.
"""

from __future__ import annotations

import pytest

from xexp.compiler import SpecError, SpecErrors, compile_text

FILE = "e.xexp"

VALID = """\
experiment errors_demo
var data = "data"
model enc = tiny()
task mnli = nli(local("{data}/mnli.jsonl"), train="train", dev="dev")
task squad = extractive_qa(local("{data}/squad.jsonl"), train="train")
task xnli = nli(local("{data}/xnli/{lang}.jsonl"), test="test")
intermediate = [none, mnli]
target = xnli trained_on mnli
languages = [en de zh]
seeds = [1 2]
perturbations {
  typo = char_noise(p=0.05)
  keys = keyboard_typo(p=0.05) in [en de]
  neg  = stress("negation") on hypothesis
}
train intermediate { lr=1e-5 batch=32 }
train target { lr=2e-5 }
evaluate { batch=64 }
resources { train.gpus=1 evaluate.gpus=0.5 }
report { baseline=none ci=0.95 }
"""


def edit(old: str, new: str, text: str = VALID) -> str:
    assert text.count(old) == 1, f"{old!r} must occur exactly once"
    return text.replace(old, new)


def errors_of(text: str, variables: dict[str, str] | None = None) -> list[SpecError]:
    with pytest.raises(SpecError) as info:
        compile_text(text, FILE, variables)
    err = info.value
    rendered = err.render()
    assert isinstance(rendered, str) and "Traceback" not in rendered
    return err.errors


def check(text: str, message: str, at: str | None, *, offset: int = 0, width: int | None = None,
          hint: str | None = None, variables: dict[str, str] | None = None) -> SpecError:
    """Exactly one error whose message contains `message`, rendered with its source line, a caret
    and `hint`. The caret starts `offset` characters into `at`, a text that occurs once in the
    file, and is `width` wide (default: the rest of `at`). `at=None`: a whole-file error."""
    errors = errors_of(text, variables)
    assert len(errors) == 1, "\n\n".join(e.render() for e in errors)
    err = errors[0]
    assert message in err.message, err.render()
    rendered = err.render()
    if at is None:
        assert err.line == 0 and rendered.startswith(f"{FILE}: error: ")
    else:
        assert text.count(at) == 1, f"{at!r} must locate one place"
        start = text.index(at) + offset
        number = text.count("\n", 0, start) + 1
        column = start - (text.rfind("\n", 0, start) + 1) + 1
        source_line = text.split("\n")[number - 1]
        assert (err.line, err.column) == (number, column), rendered
        gutter = " " * len(str(number))
        caret = "^" * (width or len(at) - offset)
        assert f"{FILE}:{number}:{column}: error: " in rendered
        assert f"\n{number} | {source_line}\n" in rendered
        assert f"\n{gutter} | {' ' * (column - 1)}{caret}\n" in rendered + "\n", rendered
    if hint is not None:
        assert err.hint is not None and hint in err.hint, rendered
        assert f"= hint: {err.hint}" in rendered
    return err


def test_the_base_spec_is_valid():
    spec, graph = compile_text(VALID, FILE)
    assert spec.experiment == "errors_demo" and graph.nodes


# --- syntax ------------------------------------------------------------------------------------


def test_unexpected_token():
    check(edit("seeds = [1 2]", "seeds = = [1 2]"), "unexpected `=`", "= [1", width=1, hint="expected")


def test_unexpected_character():
    check(edit("seeds = [1 2]", "seeds = [1 @ 2]"), "unexpected character `@`", "@")


def test_invisible_unexpected_character_is_named_by_code_point():
    err = check(edit("seeds = [1 2]", "seeds = [1\u00a02]"), "U+00A0", "\u00a0")
    assert "\u00a0" not in err.message


def test_unclosed_string():
    check(VALID + 'var extra = "oops\n', "unclosed string", '"oops', width=1, hint="same line")


def test_unclosed_paren_before_a_new_statement():
    check(edit('model enc = tiny()', 'model enc = tiny('), "`(` is never closed", "tiny(\n", offset=4, width=1,
          hint="add `)` to close it (line 4 starts a new statement)")


def test_unclosed_bracket_at_end_of_file():
    text = edit("seeds = [1 2]\n", "") + "seeds = [1 2\n"
    check(text, "`[` is never closed", "[1 2", width=1, hint="the file ends first")


def test_unclosed_brace_at_end_of_file():
    text = edit("report { baseline=none ci=0.95 }\n", "") + "report {\n  ci = 0.9\n"
    check(text, "`{` is never closed", "report {", offset=7, hint="add `}` to close it (the file ends first)")


def test_unexpected_end_of_file():
    check(VALID + "var tail =", "unexpected end of file", "tail =", offset=5, hint="a string")


def test_brackets_nested_too_deep():
    check(edit("seeds = [1 2]", "seeds = " + "[" * 40 + "]" * 40), "nested more than 32", "seeds = [",
          offset=8 + 32, width=1)


# --- statements and names --------------------------------------------------------------------


def test_unknown_statement_with_suggestion():
    check(edit("seeds = [1 2]", "seedz = [1 2]"), "unknown statement `seedz`", "seedz", hint="did you mean `seeds`?")


def test_unknown_block_keyword():
    check(edit("report {", "reprot {"), "unknown statement `reprot`", "reprot", hint="`report`")


def test_unknown_task_type():
    check(edit("task squad = extractive_qa(", "task squad = extractiv_qa("), "unknown task type `extractiv_qa`",
          "extractiv_qa", hint="did you mean `extractive_qa`?")


def test_unknown_data_source():
    check(edit('nli(local("{data}/mnli.jsonl")', 'nli(lokal("{data}/mnli.jsonl")'), "unknown data source `lokal`",
          "lokal", hint="`local`")


def test_unknown_model_source():
    check(edit("model enc = tiny()", "model enc = tiny_()"), "unknown model source `tiny_`", "tiny_",
          hint="did you mean `tiny`?")


def test_unknown_perturbation():
    check(edit("char_noise(p=0.05)", "char_nose(p=0.05)"), "unknown perturbation or attack `char_nose`",
          "char_nose", hint="`char_noise`")


def test_unknown_parameter():
    check(edit("char_noise(p=0.05)", "char_noise(q=0.05)"), "`char_noise` has no parameter `q`", "q=", width=1,
          hint="usage: char_noise(")


def test_missing_parameter():
    check(edit('stress("negation")', "stress()"), "`stress` needs parameter `test`", "stress()", width=6,
          hint="usage: stress(test")


def test_wrong_parameter_type():
    check(edit("char_noise(p=0.05)", 'char_noise(p="high")'), "parameter `p` of `char_noise`", '"high"',
          hint="usage:")


def test_value_out_of_range():
    err = check(edit("char_noise(p=0.05)", "char_noise(p=1.5)"), "less than or equal to 1", "1.5")
    assert "parameter `p` of `char_noise`" in err.message


def test_too_many_positional_arguments():
    check(edit("model enc = tiny()", "model enc = tiny(2)"), "`tiny` takes 0 positional arguments", "2)", width=1)


def test_parameter_given_twice():
    check(edit("char_noise(p=0.05)", "char_noise(0.1, p=0.05)"), "parameter `p` given twice", "0.1, p=0.05",
          offset=5, width=1)


def test_unknown_language_code():
    check(edit("languages = [en de zh]", "languages = [en de xx zh]"), "unknown language code `xx`", "xx",
          hint="XNLI languages")


def test_language_code_suggestion():
    check(edit("languages = [en de zh]", "languages = [en de FR zh]"), "unknown language code `FR`", "FR",
          hint="did you mean `fr`?")


def test_perturbation_not_supporting_a_language():
    text = edit("keys = keyboard_typo(p=0.05) in [en de]", "keys = keyboard_typo(p=0.05)")
    check(text, "`keyboard_typo` does not support language zh", "keyboard_typo",
          hint="restrict it: `keys = keyboard_typo(…) in [en de]`")


def test_in_restriction_fixes_an_unsupported_language():
    spec, graph = compile_text(VALID, FILE)
    keys = next(p for p in spec.perturbations if p.name == "keys")
    assert keys.languages == ["en", "de"]
    perturbed_languages = {n.labels["language"] for n in graph.nodes
                           if n.kind == "perturb" and n.labels["perturbation"] == "keys"}
    assert perturbed_languages == {"en", "de"}


def test_in_restriction_must_name_the_spec_languages():
    check(edit("in [en de]", "in [en fr]"), "`fr` is not one of the spec's languages", "fr]", width=2)


def test_unknown_on_field():
    check(edit("on hypothesis", "on hypotesis"), "unknown field `hypotesis`", "hypotesis",
          hint="did you mean `hypothesis`?")


def test_the_field_a_perturbation_touches_by_default_comes_from_its_declaration():
    text = edit('neg  = stress("negation") on hypothesis',
                'neg  = stress("negation")\n'
                '  long = stress("length_mismatch")\n'
                '  both = stress("length_mismatch") on both')
    spec, graph = compile_text(text, FILE)
    fields = {p.name: p.field for p in spec.perturbations}
    assert fields["neg"] == "hypothesis"   # the stress test's default field
    assert fields["long"] == "premise"     # Naik et al. append the length distractor to the premise
    assert fields["both"] == "both"        # `on` overrides
    assert fields["typo"] == "both"
    long_nodes = [n for n in graph.nodes if n.kind == "perturb" and n.labels["perturbation"] == "long"]
    assert long_nodes and all(n.params["field"] == "premise" for n in long_nodes)


def test_on_field_not_allowed_outside_perturbations():
    check(edit("train target { lr=2e-5 }", "train target { lr=2e-5 on premise }"), "`on` is only for perturbations",
          "premise }", width=7)


def test_in_languages_not_allowed_outside_perturbations():
    check(edit("evaluate { batch=64 }", "evaluate { batch=64 in [en] }"), "`in [...]` is only for perturbations",
          "[en]")


def test_unknown_task_in_intermediate():
    check(edit("intermediate = [none, mnli]", "intermediate = [none, mnlii]"), "unknown task `mnlii`", "mnlii",
          hint="`mnli`")


def test_intermediate_task_without_a_train_split():
    check(edit("intermediate = [none, mnli]", "intermediate = [none, mnli, xnli]"),
          "task `xnli` has no `train=` split to train on", "xnli]", width=4, hint="train=")


def test_empty_intermediate_and_languages():
    check(edit("intermediate = [none, mnli]", "intermediate = []"), "`intermediate` is empty", "[]",
          hint="`none`")
    text = edit("languages = [en de zh]", "languages = []")
    check(edit(" in [en de]", "", text), "`languages` is empty", "[]\n", width=2)


def test_unknown_task_in_target():
    check(edit("target = xnli trained_on mnli", "target = xnl trained_on mnli"), "unknown task `xnl`", "xnl ",
          width=3, hint="`xnli`")


def test_target_type_mismatch_with_trained_on():
    text = edit("target = xnli trained_on mnli", "target = xnli trained_on squad")
    check(text, "the target `xnli` (nli) cannot be trained on `squad` (extractive_qa)", "xnli trained_on squad",
          hint=None)


def test_target_source_without_lang_placeholder_for_several_languages():
    text = edit('local("{data}/xnli/{lang}.jsonl")', 'local("{data}/xnli/all.jsonl")')
    check(text, "does not depend on `{lang}`", "xnli =", width=4, hint="{lang}")


def test_a_single_language_needs_no_placeholder():
    text = edit('local("{data}/xnli/{lang}.jsonl")', 'local("{data}/xnli/all.jsonl")')
    text = edit("languages = [en de zh]", "languages = [en]", text)
    text = edit("keys = keyboard_typo(p=0.05) in [en de]", "keys = keyboard_typo(p=0.05)", text)
    compile_text(text, FILE)


def test_unknown_variable_in_a_string():
    check(edit('local("{data}/squad.jsonl")', 'local("{dat}/squad.jsonl")'), "unknown variable `{dat}`",
          '"{dat}/squad.jsonl"', hint="did you mean `data`?")


def test_set_of_an_undeclared_variable():
    check(VALID, "--set dta=…: the spec declares no variable `dta`", None, variables={"dta": "/x"},
          hint="did you mean `data`?")


def test_set_of_a_declared_variable_is_used():
    spec, _ = compile_text(VALID, FILE, {"data": "/elsewhere"})
    assert spec.tasks["mnli"].splits["train"].source["path"] == "/elsewhere/mnli.jsonl"


@pytest.mark.parametrize("old, new, message, at, offset, width", [
    ("task squad =", "task mnli =", "task `mnli` is declared twice", "mnli = extractive", 0, 4),
    ("model enc = tiny()", "model enc = tiny()\nmodel enc = tiny(layers=1)", "model `enc` is declared twice",
     "enc = tiny(layers", 0, 3),
    ('var data = "data"', 'var data = "data"\nvar data = "d2"', "variable `data` is declared twice",
     'data = "d2"', 0, 4),
    ("seeds = [1 2]", "seeds = [1 2]\nseeds = [3]", "`seeds` is given twice", "seeds = [3]", 0, 5),
    ("evaluate { batch=64 }", "evaluate { batch=64 }\nevaluate { batch=8 }", "block `evaluate` is given twice",
     "evaluate { batch=8", 0, 8),
    ("experiment errors_demo", "experiment errors_demo\nexperiment again", "`experiment` is given twice",
     "experiment again", 0, 10),
    ("typo = char_noise(p=0.05)", "typo = char_noise(p=0.05)\n  typo = char_noise(p=0.1)",
     "perturbation name `typo` is used twice", "typo = char_noise(p=0.1)", 0, 4),
    ("train target { lr=2e-5 }", "train target { lr=2e-5 lr=3e-5 }", "setting `lr` is given twice", "lr=3e-5", 0, 2),
    ("train.gpus=1", "train.gpus=1 train.gpus=0.5", "resource `train.gpus` is given twice", "train.gpus=0.5", 0, 10),
    ("languages = [en de zh]", "languages = [en de en zh]", "language `en` is listed twice", "en zh", 0, 2),
])
def test_duplicate_declarations(old, new, message, at, offset, width):
    check(edit(old, new), message, at, offset=offset, width=width)


def test_bad_resources_key():
    check(edit("train.gpus=1", "train.gpu=1"), "unknown resource `train.gpu`", "train.gpu", hint="`gpus`")
    check(edit("train.gpus=1", "trian.gpus=1"), "unknown resource `trian.gpus`", "trian.gpus", hint="`train`")


def test_fractional_gpus_above_one():
    check(edit("train.gpus=1", "train.gpus=1.5"), "a fraction of a GPU must be below 1", "1.5")


def test_whole_gpus_above_one_are_fine():
    spec, _ = compile_text(edit("train.gpus=1", "train.gpus=2"), FILE)
    assert spec.resources["train"].num_gpus == 2


def test_sweep_outside_train():
    check(edit("evaluate { batch=64 }", "evaluate { batch=sweep[32 64] }"),
          "only allowed for hyperparameters in `train`", "sweep[32 64]")


def test_empty_sweep():
    check(edit("train target { lr=2e-5 }", "train target { lr=sweep[] }"), "a sweep lists one or more", "sweep[]")


def test_training_setting_out_of_range():
    check(edit("train target { lr=2e-5 }", "train target { lr=-2e-5 }"), "must be above 0", "-2e-5")


def test_a_task_training_block_reports_each_problem_once():
    """`train TASK { … }` refines both phases, so it is validated twice; its errors appear once."""
    errors = errors_of(VALID + "train mnli { epoch=3 lr=-1 }\n")
    assert [e.message.split(":")[0] for e in errors] == ["`train mnli` has no setting `epoch`",
                                                          "setting `lr` in `train mnli`"]


def test_unknown_training_setting():
    check(edit("train target { lr=2e-5 }", "train target { lr=2e-5 epoch=3 }"), "`train target` has no setting `epoch`",
          "epoch", hint="did you mean `epochs`?")


def test_report_baseline_not_in_intermediate():
    check(edit("baseline=none", "baseline=mnli").replace("[none, mnli]", "[none, squad]"),
          "the report baseline `mnli` is not in `intermediate`", "mnli ci", width=4, hint="add it to `intermediate")


def test_infinite_number_is_refused_not_crashed():
    check(edit("train target { lr=2e-5 }", "train target { lr=1e999 }"), "finite number", "1e999")


@pytest.mark.parametrize("old, message, hint", [
    ("experiment errors_demo\n", "the spec has no `experiment NAME` line", "experiment my_study"),
    ("target = xnli trained_on mnli\n", "the spec has no `target = TASK trained_on TASK` line", "trained_on"),
    ("languages = [en de zh]\n", "the spec has no `languages = [...]` line", "languages ="),
    ("model enc = tiny()\n", "the spec declares no model", "model xlmr"),
])
def test_missing_required_statements(old, message, hint):
    text = edit(old, "")
    if "languages" in old:  # `in [en de]` would then name languages the spec lacks
        text = edit(" in [en de]", "", text)
    check(text, message, None, hint=hint)


def test_a_failed_model_declaration_is_not_also_reported_missing():
    errors = errors_of(edit("model enc = tiny()", "model enc = tiny(layers=0)"))
    assert [e.message.split(":")[0] for e in errors] == ["parameter `layers` of `tiny`"]


def test_a_failed_task_declaration_does_not_cascade():
    errors = errors_of(edit('task xnli = nli(local(', 'task xnli = nli(lokal('))
    assert len(errors) == 1 and "unknown data source `lokal`" in errors[0].message


# --- many errors in one pass -----------------------------------------------------------------


def test_four_independent_errors_are_reported_together_in_source_order():
    text = edit("languages = [en de zh]", "languages = [en de xx zh]")  # line 9
    text = edit("char_noise(p=0.05)", "char_nois(p=0.05)", text)       # line 12
    text = edit("train target { lr=2e-5 }", 'train target { lr=2e-5 }\nseeds2 = = 3', text)  # syntax, line 18
    text = edit("typo = char_nois(p=0.05)", 'typo = char_nois(p=0.05)\n  wp = word_drop(p="x")', text)  # line 13
    with pytest.raises(SpecErrors) as info:
        compile_text(text, FILE)
    errors = info.value.errors
    messages = [e.message for e in errors]
    assert len(errors) == 4, info.value.render()
    assert "unknown language code `xx`" in messages[0]
    assert "unknown perturbation or attack `char_nois`" in messages[1]
    assert "parameter `p` of `word_drop`" in messages[2]
    assert "unexpected `=`" in messages[3]
    assert [e.line for e in errors] == sorted(e.line for e in errors) == [9, 12, 13, 19]
    rendered = info.value.render()
    assert rendered.endswith("4 errors found")
    positions = [rendered.index(f"{FILE}:{e.line}:{e.column}: error:") for e in errors]
    assert positions == sorted(positions)


def test_errors_render_with_a_line_number_gutter_wider_than_one_digit():
    text = VALID + "\n" * 90 + "bogus = 1\n"
    err = check(text, "unknown statement `bogus`", "bogus")
    assert err.line > 100 and f"\n{' ' * len(str(err.line))} | ^^^^^" in err.render()
