"""Several target tasks in one spec: `target = [A trained_on B, C trained_on D in [de fr]]`.

Parsing and formatting of the list form, validation (languages per target, duplicates, unknown
tasks and language codes, per-target language and perturbation checks, every error with a
caret), lowering (one intermediate training shared by every target, each target evaluated in its
own languages), and one-target specs keeping their keys. The end-to-end run is in
tests/test_targets_run.py.
"""

from __future__ import annotations

import json

import pytest

from xexp.compiler import SpecError, compile_text
from xexp.compiler.fmt import format_text
from xexp.compiler.parser import parse
from xexp.compiler import ast

HEAD = """\
experiment several
model tiny = tiny(layers=2, hidden=32, heads=2, intermediate=64, seed=0)
task choice = multiple_choice(synthetic("multiple_choice", size=48), train="train", dev="dev", test="test")
task nli    = nli(synthetic("nli", size=48), train="train", dev="dev", test="test")
task mnli   = nli(synthetic("nli", size=48, seed=3), train="train", dev="dev")
intermediate = [none choice]
languages    = [en de]
seeds        = [1 2]
"""

TWO = HEAD + "target = [nli trained_on mnli, choice trained_on choice in [en fr]]\n"


def errors_of(text: str) -> list[SpecError]:
    with pytest.raises(SpecError) as caught:
        compile_text(text)
    return caught.value.errors


def caret_line(error: SpecError) -> str:
    """The `^^^` line under the source line of a rendered error."""
    lines = error.render().splitlines()
    return next(line for line in lines if line.strip().startswith("|") and "^" in line)


# --- syntax -----------------------------------------------------------------------------------------


def test_a_list_of_trained_on_with_languages_parses_and_formats_back():
    text = "target = [xnli trained_on mnli, pawsx trained_on paws in [de en ja] udpos trained_on ewt]\n"
    (assignment,) = parse(text).statements
    assert isinstance(assignment, ast.Assignment) and isinstance(assignment.value, ast.ListValue)
    first, second, third = assignment.value.items
    assert (first.target.name, first.source.name, first.languages) == ("xnli", "mnli", None)
    assert [n.name for n in second.languages.items] == ["de", "en", "ja"]
    assert third.target.name == "udpos"
    formatted = format_text(text)
    assert "pawsx trained_on paws in [de en ja]" in formatted
    assert parse(formatted) == parse(text)


# --- validation -------------------------------------------------------------------------------------


def test_each_target_has_its_languages_and_the_perturbations_that_fit_it():
    spec, graph = compile_text(TWO + "perturbations {\n  typo = char_noise(p=0.1)\n  neg = stress(\"negation\")\n}\n")
    nli, choice = spec.targets
    assert (nli.task, nli.trained_on, nli.languages) == ("nli", "mnli", ["en", "de"])
    assert (choice.task, choice.trained_on, choice.languages) == ("choice", "choice", ["en", "fr"])
    # char_noise works on any text; stress on NLI only: it skips the multiple-choice target
    assert nli.perturbations == ["typo", "neg"] and choice.perturbations == ["typo"]
    # and each target's perturb nodes touch that target's own default field
    fields = {(n.name.split("/")[0], n.params["field"]) for n in graph.nodes if n.kind == "perturb"}
    assert fields == {("perturb:nli", "both"), ("perturb:nli", "hypothesis"), ("perturb:choice", "endings")}


def test_a_perturbation_restricted_to_languages_of_one_target_applies_only_there():
    text = (HEAD + 'task other = nli(synthetic("nli", size=48, seed=5), test="test")\n'
            "target = [nli trained_on mnli, other trained_on mnli in [fr es]]\n"
            "perturbations {\n  typo = char_noise(p=0.1) in [de]\n  case = case_noise(p=0.2) in [de fr]\n}\n")
    spec, graph = compile_text(text)
    assert [t.perturbations for t in spec.targets] == [["typo", "case"], ["case"]]
    evaluated = {(n.labels["target"], n.labels["language"], n.labels["condition"])
                 for n in graph.nodes if n.kind == "evaluate" and n.labels["condition"] != "clean"}
    assert evaluated == {("nli", "de", "typo"), ("nli", "de", "case"), ("other", "fr", "case")}


@pytest.mark.parametrize("target, message, marked", [
    ("[nli trained_on mnli, nli trained_on nli]", "target `nli` is listed twice", "nli trained_on nli"),
    ("[nli trained_on mnli, pawsx trained_on mnli]", "unknown task `pawsx`", "pawsx"),
    ("[nli trained_on mnli, choice trained_on choice in [en xx]]", "unknown language code `xx`", "xx"),
    ("[nli trained_on mnli, choice trained_on choice in [en en]]", "language `en` is listed twice", "en"),
    ("[nli trained_on mnli, choice trained_on choice in []]", "lists no language", "[]"),
    ("[nli trained_on mnli, \"choice\"]", "write a target as `TASK trained_on TASK`", '"choice"'),
    ("[]", "`target` is empty", "[]"),
    ("[nli trained_on mnli, choice trained_on choice in [en 3]]", "lists language codes", "3"),
    ("[nli trained_on mnli, choice trained_on nli]", "cannot be trained on `nli`", "choice trained_on nli"),
])
def test_target_list_errors_point_at_the_culprit(target, message, marked):
    text = HEAD + f"target = {target}\n"
    (error,) = [e for e in errors_of(text) if message in e.message]
    line = text.splitlines()[error.line - 1]
    assert line[error.column - 1:error.column - 1 + len(marked)] == marked
    assert "^" * len(marked) in caret_line(error)
    assert error.hint


def test_a_target_language_the_synthetic_data_lacks_is_refused_at_its_code():
    text = HEAD + "target = [nli trained_on mnli, choice trained_on choice in [en ja]]\n"
    (error,) = errors_of(text)
    assert "no language `ja`" in error.message and "choice" in error.message
    line = text.splitlines()[error.line - 1]
    assert line[error.column - 1:error.column + 1] == "ja"
    assert "covers" in (error.hint or "")


def test_a_perturbation_that_fits_no_target_is_an_error_per_target():
    spec = TWO.replace("nli trained_on mnli, ", "")  # only the multiple-choice target is left
    one = spec + "perturbations {\n  neg = stress(\"negation\")\n}\n"
    assert any("does not work on multiple_choice targets" in e.message for e in errors_of(one))
    several = TWO.replace("nli trained_on mnli", "nli trained_on mnli in [de]") + \
        "perturbations {\n  neg = stress(\"negation\") in [en]\n}\n"
    # `in [en]` misses the NLI target's languages, and stress does not fit multiple choice
    errors = errors_of(several)
    assert [e.message for e in errors] == [
        "`stress` does not work on multiple_choice targets: the target `choice` is multiple_choice"]
    assert "^" in caret_line(errors[0])


# --- lowering ---------------------------------------------------------------------------------------


def _nodes(graph, kind, **labels):
    return [n for n in graph.nodes if n.kind == kind and all(n.labels.get(k) == v for k, v in labels.items())]


def test_the_intermediate_training_is_built_once_and_shared_by_every_target():
    _, graph = compile_text(TWO)
    for seed in (1, 2):
        (intermediate,) = _nodes(graph, "train", phase="intermediate", seed=seed)
        targets = _nodes(graph, "train", phase="target", variant="choice", seed=seed)
        assert {n.labels["target"] for n in targets} == {"nli", "choice"}
        assert all(n.inputs["base"] == intermediate.key for n in targets)
    # per seed: one intermediate training, and a target training per variant and target
    assert len(_nodes(graph, "train")) == 2 * (1 + 2 * 2)


def test_each_target_is_evaluated_in_its_own_languages_with_unique_names():
    _, graph = compile_text(TWO + "perturbations {\n  typo = char_noise(p=0.1)\n}\n")
    evaluated = {(n.labels["target"], n.labels["language"], n.labels["condition"])
                 for n in graph.nodes if n.kind == "evaluate"}
    assert evaluated == {("nli", lang, c) for lang in ("en", "de") for c in ("clean", "typo")} | \
        {("choice", lang, c) for lang in ("en", "fr") for c in ("clean", "typo")}
    names = [n.name for n in graph.nodes]  # perturb nodes of both targets in `en` included
    assert len(names) == len(set(names))
    (report,) = _nodes(graph, "report")
    cells = report.params["cells"]
    assert {c["target"] for c in cells} == {"nli", "choice"}
    assert [t["task"] for t in report.params["targets"]] == ["nli", "choice"]
    assert report.params["targets"][1] == {"task": "choice", "trained_on": "choice",
                                           "task_type": "multiple_choice", "languages": ["en", "fr"]}


def test_one_target_in_a_list_has_exactly_the_keys_of_the_plain_form():
    plain_spec, plain = compile_text(HEAD + "target = nli trained_on mnli\n"
                                     "perturbations {\n  typo = char_noise(p=0.1)\n}\n")
    listed_spec, listed = compile_text(HEAD + "target = [nli trained_on mnli]\n"
                                       "perturbations {\n  typo = char_noise(p=0.1)\n}\n")
    assert [(n.name, n.key) for n in plain.nodes] == [(n.name, n.key) for n in listed.nodes]
    (report,) = _nodes(plain, "report")
    assert "targets" not in report.params and all("target" not in c for c in report.params["cells"])
    assert all("target" not in n.labels for n in plain.nodes)


def test_a_second_target_adds_nodes_without_changing_the_first_targets_trainings():
    _, one = compile_text(HEAD + "target = nli trained_on mnli\n")
    _, two = compile_text(TWO)
    keys_two = {n.key for n in two.nodes}
    assert {n.key for n in one.nodes if n.kind in ("model", "load", "train", "evaluate")} <= keys_two


TAGGING = HEAD + """\
task ewt  = token_classification(local("ud/en_ewt-ud-dev.conllu"), train="train")
task upos = token_classification(local("ud/{lang}_*-ud-test.conllu"), test="test")
target = [nli trained_on mnli, upos trained_on ewt in [en de zh]]
"""


def test_per_token_rules_decide_per_target_what_a_tagging_target_gets():
    spec, graph = compile_text(TAGGING + "perturbations {\n  typo = char_noise(p=0.1)\n"
                               "  shuffle = word_shuffle()\n  hyp = char_noise(p=0.1) on hypothesis\n"
                               "  attack = char_attack(max_edits=2, max_queries=40)\n}\n")
    nli, upos = spec.targets
    assert nli.perturbations == ["typo", "shuffle", "hyp", "attack"]
    # the ones that keep tokens and have no `on`: the character noise, and the attack, whose edits
    # stay inside tokens (issue 25)
    assert upos.perturbations == ["typo", "attack"]
    conditions = {n.labels["condition"] for n in graph.nodes
                  if n.kind in ("evaluate", "attack") and n.labels["target"] == "upos"}
    assert conditions == {"clean", "typo", "attack"}


def test_plan_json_lists_each_target_with_its_languages_and_perturbations(tmp_path, capsys):
    from xexp.cli import main

    path = tmp_path / "several.xexp"
    path.write_text(TAGGING + "perturbations {\n  typo = char_noise(p=0.1)\n  shuffle = word_shuffle()\n}\n")
    assert main(["plan", str(path), "--json", "--no-inputs", "--store", str(tmp_path / "store")]) == 0
    plan = json.loads(capsys.readouterr().out)
    default = {"batch": 64, "max_len": 128, "limit": None}  # no `evaluate {…}`: the defaults
    assert plan["targets"] == [
        {"task": "nli", "task_type": "nli", "trained_on": "mnli", "languages": ["en", "de"],
         "perturbations": ["typo", "shuffle"], "evaluate": default},
        {"task": "upos", "task_type": "token_classification", "trained_on": "ewt",
         "languages": ["en", "de", "zh"], "perturbations": ["typo"], "evaluate": default}]
    assert main(["plan", str(path), "--no-inputs", "--store", str(tmp_path / "store")]) == 0
    table = capsys.readouterr().out
    assert "target upos (token_classification) trained_on ewt in [en de zh]; perturbations: typo" in table


def test_fmt_prints_a_long_or_commented_target_list_one_target_a_line():
    text = ("experiment x\n# the XTREME targets\ntarget = [xnli trained_on mnli,   # 15 languages\n"
            "  pawsx trained_on paws in [de en es fr ja ko zh],  # PAWS-X\n  # tagging\n"
            "  udpos trained_on ewt in [en de zh]]\nlanguages = [en de]\n")
    formatted = format_text(text)
    assert formatted.splitlines()[2:6] == [
        "target    = [xnli  trained_on mnli,  # 15 languages",
        "             pawsx trained_on paws in [de en es fr ja ko zh],  # PAWS-X",
        "             # tagging",
        "             udpos trained_on ewt in [en de zh]]"]
    assert format_text(formatted) == formatted and parse(formatted) == parse(text)
    assert format_text("target = [a trained_on b, c trained_on d]\n") == "target = [a trained_on b, c trained_on d]\n"


def test_an_error_in_one_target_does_not_make_the_others_languages_errors_too():
    text = (HEAD + "target = [nli trained_on mnlii, choice trained_on choice in [en fr]]\n"
            "perturbations {\n  typo = char_noise(p=0.1) in [fr]\n}\n")
    assert [e.message for e in errors_of(text)] == ["unknown task `mnlii`"]


def test_report_params_refuse_cells_of_a_target_they_do_not_declare():
    from pydantic import ValidationError

    from xexp.compiler.graph.report_contract import ReportCellRef, ReportParams, ReportSettings, ReportTarget

    cell = dict(kind="evaluate", model="m", variant="none", language="en", condition="clean", seed=1)
    xnli = ReportTarget(task="xnli", trained_on="mnli", task_type="nli", languages=["en"])
    ReportParams(settings=ReportSettings(), experiment="x", cells=[ReportCellRef(**cell, target="xnli")],
                 targets=[xnli])
    for target, targets in (("pawsx", [xnli]), (None, [xnli]), ("xnli", [])):
        with pytest.raises(ValidationError, match="not one of the report's targets"):
            ReportParams(settings=ReportSettings(), experiment="x", cells=[ReportCellRef(**cell, target=target)],
                         targets=targets)


def test_languages_may_be_left_out_when_every_target_has_its_own():
    without = HEAD.replace("languages    = [en de]\n", "")
    spec, graph = compile_text(without + "target = [nli trained_on mnli in [de], choice trained_on choice in [en fr]]\n")
    assert spec.languages == [] and [t.languages for t in spec.targets] == [["de"], ["en", "fr"]]
    assert {n.labels["language"] for n in graph.nodes if n.kind == "evaluate"} == {"de", "en", "fr"}
    (error,) = errors_of(without + "target = [nli trained_on mnli, choice trained_on choice in [en fr]]\n")
    assert error.message == "the spec has no `languages = [...]` line" and "in [en de]" in error.hint
