"""`evaluate TARGET { … }`: one target's evaluation settings, refining the spec-wide `evaluate { … }`
as `train TASK { … }` refines a phase (compiler/validate_blocks.py `evaluate_settings`,
`Spec.evaluate_settings`). jiant's XTREME recipe evaluates QA targets at 384 tokens and the others
at 256 (docs/phang2020.md); one spec-wide length could only compromise.
"""

from __future__ import annotations

import pytest

from test_targets import TWO

from xexp.compiler import SpecError, compile_spec, compile_text
from xexp.compiler.fmt import format_text

#: test_targets' two-target spec (NLI in en de, multiple choice in en fr), with a perturbation,
#: an attack and the spec-wide evaluation settings that `evaluate TARGET` refines
HEAD = TWO + """perturbations {
  typo   = char_noise(p=0.1)
  attack = char_attack(max_edits=2, max_queries=30)
}
evaluate { batch=32 max_len=64 }
"""


def errors_of(text: str) -> list[SpecError]:
    with pytest.raises(SpecError) as caught:
        compile_spec(text)
    return caught.value.errors


def marked_text(text: str, error: SpecError) -> str:
    """The source text under the error's caret."""
    line = text.splitlines()[error.line - 1]
    return line[error.column - 1:error.column - 1 + error.span.width]


# --- validation -------------------------------------------------------------------------------------


@pytest.mark.parametrize("block, message, marked, hint", [
    ("evaluate choise { max_len=96 }", "`evaluate choise`: no target named `choise`", "choise", "`choice`"),
    ("evaluate mnli { max_len=96 }", "`mnli` is a task, not a target", "mnli", "evaluate nli"),
    ("evaluate xquad { max_len=96 }", "no target named `xquad`", "xquad", "targets: nli, choice"),
    ("evaluate nli { max_len=96 lr=1e-5 }", "`evaluate nli` has no setting `lr`", "lr", "batch, max_len, limit"),
    ("evaluate nli { max_lne=96 }", "`evaluate nli` has no setting `max_lne`", "max_lne", "`max_len`"),
    ("evaluate nli { max_len=4 }", "setting `max_len` in `evaluate nli`", "4", None),
    ("evaluate nli { batch=0 }", "setting `batch` in `evaluate nli`", "0", None),
    ("evaluate nli { limit=0 }", "setting `limit` in `evaluate nli`", "0", None),
    ("evaluate nli { batch=8 batch=16 }", "setting `batch` is given twice", "batch", None),
    ("evaluate nli { batch=8 }\nevaluate nli { limit=5 }", "block `evaluate nli` is given twice", "evaluate", None),
])
def test_an_evaluate_block_of_one_target_is_checked_with_a_caret(block, message, marked, hint):
    text = HEAD + block + "\n"
    (error,) = errors_of(text)
    assert message in error.message
    assert marked_text(text, error) == marked
    assert "^" * len(marked) in error.render()
    if hint is not None:
        assert hint in (error.hint or "")


def test_a_refinement_keeps_what_it_does_not_set():
    spec = compile_spec(HEAD + "evaluate choice { max_len=96 limit=10 }\n")
    assert spec.evaluate_settings("nli") == spec.evaluate
    own = spec.evaluate_settings("choice")
    assert (own.batch, own.max_len, own.limit) == (32, 96, 10)


def test_xexp_plan_shows_each_targets_evaluation_settings():
    from xexp.planning import plan_targets, targets_text

    spec = compile_spec(HEAD + "evaluate choice { max_len=96 limit=10 }\n")
    lines = targets_text(plan_targets(spec))
    nli = lines.index(next(line for line in lines if line.startswith("  target nli ")))
    choice = lines.index(next(line for line in lines if line.startswith("  target choice ")))
    assert lines[nli + 1] == "    evaluated with max_len 64, batch 32, on every example per language"
    assert lines[choice + 1] == "    evaluated with max_len 96, batch 32, on the first 10 examples per language"


# --- lowering ---------------------------------------------------------------------------------------


def _evaluations(graph, target: str):
    return [n for n in graph.nodes if n.kind in ("evaluate", "attack") and n.labels["target"] == target]


def test_each_targets_evaluations_and_attacks_use_its_own_settings():
    _, graph = compile_text(HEAD + "evaluate nli { batch=8 max_len=96 }\n")
    nli = _evaluations(graph, "nli")
    choice = _evaluations(graph, "choice")
    # attacks apply to both targets' task types (issue 25), each with its target's own settings
    assert {n.kind for n in nli} == {n.kind for n in choice} == {"evaluate", "attack"}
    assert {(n.params["batch"], n.params["max_len"]) for n in nli} == {(8, 96)}
    assert {(n.params["batch"], n.params["max_len"]) for n in choice} == {(32, 64)}
    # every seed, variant, language and condition: the memoised params are per target
    assert len(nli) == 2 * 2 * 2 * 3 and len(choice) == 2 * 2 * 2 * 3


def test_limit_caps_the_eval_split_of_its_target_only():
    _, graph = compile_text(HEAD + "evaluate choice { limit=10 }\n")
    rows = {(n.labels["task"], n.labels["language"]): n.params["rows"] for n in graph.nodes
            if n.kind == "load" and n.labels["split"] == "test"}
    assert rows == {("nli", "en"): None, ("nli", "de"): None, ("choice", "en"): [0, 10], ("choice", "fr"): [0, 10]}
    for node in _evaluations(graph, "choice"):  # perturbed or clean, it reads the capped rows
        assert node.inputs["data"] in {n.key for n in graph.nodes if n.kind in ("load", "perturb")}


ONE = HEAD.replace("target = [nli trained_on mnli, choice trained_on choice in [en fr]]", "target = nli trained_on mnli")


def test_a_refinement_equal_to_the_spec_wide_settings_changes_no_key():
    _, plain = compile_text(ONE)
    _, refined = compile_text(ONE.replace("evaluate { batch=32 max_len=64 }",
                                          "evaluate { batch=32 }\nevaluate nli { max_len=64 }"))
    assert [(n.name, n.key) for n in plain.nodes] == [(n.name, n.key) for n in refined.nodes]
    _, other = compile_text(ONE + "evaluate nli { max_len=96 }\n")
    changed = {n.kind for n in other.nodes} - {n.kind for n in other.nodes if n.key in {m.key for m in plain.nodes}}
    assert changed == {"evaluate", "attack", "report"}


# --- cross checks -----------------------------------------------------------------------------------

QA = """\
experiment qa
model m = tiny()
task squad = extractive_qa(local("q/{lang}.jsonl"), train="train", test="test", doc_stride=100)
task nli   = nli(synthetic("nli", size=48), train="train", test="test")
target = [squad trained_on squad, nli trained_on nli]
languages = [en de]
train target { max_len=256 }
evaluate { max_len=128 }
"""


def test_the_doc_stride_check_reads_the_qa_targets_own_max_len():
    (error,) = errors_of(QA)
    assert "doc_stride=100" in error.message and "max_len=128 (evaluate)" in error.message
    compile_spec(QA + "evaluate squad { max_len=256 }\n")  # the window fits now
    (error,) = errors_of(QA + "evaluate nli { max_len=256 }\n")  # another target's length does not help
    assert "max_len=128 (evaluate)" in error.message


def test_a_tiny_models_positions_bound_each_targets_own_max_len():
    text = HEAD.replace("seed=0)", "max_positions=256, seed=0)", 1)
    compile_spec(text)
    (error,) = errors_of(text + "evaluate choice { max_len=512 }\n")
    assert "`evaluate choice` sets max_len=512" in error.message and error.line == 2


# --- formatter and --set ----------------------------------------------------------------------------


def test_the_formatter_round_trips_and_aligns_target_evaluate_blocks():
    text = HEAD + "evaluate nli {max_len=96}\nevaluate choice { limit=10 }  # a smaller sample\n"
    formatted = format_text(text)
    assert "evaluate        { batch=32 max_len=64 }\nevaluate nli    { max_len=96 }\n" \
           "evaluate choice { limit=10 }  # a smaller sample\n" in formatted
    assert format_text(formatted) == formatted
    assert compile_spec(formatted) == compile_spec(text)


def test_set_reaches_one_targets_evaluate_block():
    spec = compile_spec(HEAD, "<spec>", {"evaluate.choice.max_len": "96", "evaluate.batch": "16"})
    assert (spec.evaluate_settings("choice").max_len, spec.evaluate_settings("choice").batch) == (96, 16)
    assert spec.evaluate_settings("nli").max_len == 64
