"""`xexp lsp` over real stdio, driven by pygls's LSP client (tests/lsp_session.py): the
compiler's diagnostics with their ranges, hover, completion, definition and references, symbols,
formatting, the plan's node counts, and the local-input look on save."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pygls", reason="the lsp extra (pip install \"xexp[lsp]\")")

from lsp_session import LspSession  # noqa: E402

from xexp.compiler.errors import SpecError  # noqa: E402
from xexp.compiler.fmt import format_text  # noqa: E402
from xexp.preflight import compile_checked  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "specs" / "demo.xexp"


@pytest.fixture(scope="module")
def lsp():
    session = LspSession(REPO)
    yield session
    session.close()


def where(text: str, needle: str, nth: int = 0, offset: int = 0) -> tuple[int, int]:
    """0-based (line, character) of the `nth` occurrence of `needle`, plus `offset` characters."""
    index = -1
    for _ in range(nth + 1):
        index = text.index(needle, index + 1)
    index += offset
    before = text[:index]
    return before.count("\n"), len(before.split("\n")[-1])


def check_errors(text: str, path: Path) -> list[SpecError]:
    """What `xexp check --no-inputs` reports for the text."""
    try:
        compile_checked(text, str(path), inputs=False)
    except SpecError as err:
        return err.errors
    return []


def test_misspelt_perturbation_gives_the_did_you_mean_at_its_range(lsp):
    text = DEMO.read_text().replace("typo     = char_noise(p=0.1)", "typo     = char_nose(p=0.1)")
    uri = (REPO / "specs" / "misspelt.xexp").as_uri()  # never written: the editor's buffer only
    lsp.open(uri, text)
    diagnostics = lsp.wait_diagnostics(uri)
    assert len(diagnostics) == 1
    line, start = where(text, "char_nose")
    d = diagnostics[0]
    assert (d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character) == \
        (line, start, line, start + len("char_nose"))
    assert "unknown perturbation or attack `char_nose`" in d.message
    assert "did you mean `char_noise`" in d.message
    (expected,) = check_errors(text, REPO / "specs" / "misspelt.xexp")
    assert d.message == f"{expected.message}\nhint: {expected.hint}"


def test_three_errors_three_diagnostics_then_a_fix_clears_them(lsp):
    good = DEMO.read_text()
    bad = (good.replace("intermediate = [none choice]", "intermediate = [none choise]")
               .replace("char_noise(p=0.1)", "char_noise(p=1.5)")
               .replace("report             { baseline=none", "report             { baselin=none"))
    uri = (REPO / "specs" / "three_errors.xexp").as_uri()
    lsp.open(uri, bad)
    diagnostics = sorted(lsp.wait_diagnostics(uri), key=lambda d: (d.range.start.line, d.range.start.character))
    expected = [where(bad, "choise") + (len("choise"),), where(bad, "1.5") + (len("1.5"),),
                where(bad, "baselin=") + (len("baselin"),)]
    got = [(d.range.start.line, d.range.start.character, d.range.end.character - d.range.start.character)
           for d in diagnostics]
    assert got == expected
    assert [d.message.split("\n")[0] for d in diagnostics] == [e.message for e in check_errors(bad, Path("x.xexp"))]
    assert "did you mean `choice`" in diagnostics[0].message
    lsp.change(uri, bad.replace("choise", "choice"))
    lsp.change(uri, good)  # typed quickly: the debounced pass speaks for the last text
    assert lsp.wait_version(uri, lsp.versions[uri]) == []


def test_hover_shows_entries_parameters_tasks_variables_settings_and_node_counts(lsp):
    text = DEMO.read_text()
    uri = DEMO.as_uri()
    lsp.open(uri, text)
    assert lsp.wait_diagnostics(uri) == []
    noise = lsp.hover(uri, *where(text, "char_noise", offset=3)).contents.value
    assert "char_noise(p: float = 0.05, ops:" in noise and "probability `p`" in noise
    param = lsp.hover(uri, *where(text, "size=600", offset=1)).contents.value
    assert "size: int = 600" in param and "≥ 3" in param
    task = lsp.hover(uri, *where(text, "nli trained_on", offset=1)).contents.value
    assert "task nli" in task and "`nli` (pair)" in task and "synthetic(task='nli', size=600" in task
    assert "target, in [en de fr hi zh]" in task
    setting = lsp.hover(uri, *where(text, "lr=1e-4", offset=1)).contents.value
    assert "setting of `train intermediate {…}`" in setting and "bounds: > 0, < 1" in setting
    plan = lsp.hover(uri, *where(text, "target       =", offset=2)).contents.value
    assert "79 nodes: model 1, load 9, perturb 15, train 3, evaluate 40, attack 10, report 1" in plan
    source = lsp.hover(uri, *where(text, "packaged(", offset=2)).contents.value
    assert "model source" in source and "multilingual-e5-small" in source
    assert lsp.hover(uri, *where(text, "# English tasks", offset=3)) is None


def test_hover_on_a_variable_reference_shows_its_value(lsp):
    spec = REPO / "specs" / "xnli_local.xexp"
    text = spec.read_text()
    uri = spec.as_uri()
    lsp.open(uri, text)
    lsp.wait_diagnostics(uri)
    use = text.index("{data}", text.index("task "))
    line, character = where(text, "{data}", nth=text[:use].count("{data}"), offset=2)
    value = lsp.hover(uri, line, character).contents.value
    assert value.startswith("**var data** = ")
    definition = lsp.definition(uri, line, character)
    assert (definition.range.start.line, definition.range.start.character) == where(text, "var data", offset=4)


COMPLETIONS = [
    # (replace this, with this text where `|` is the cursor, labels expected, labels not expected)
    ("typo     = char_noise(p=0.1)", "typo     = |", {"char_noise", "char_attack", "stress"}, {"nli", "hf"}),
    ("typo     = char_noise(p=0.1)", "typo     = char_noise(|", {"p", "ops"}, {"char_noise"}),
    ("typo     = char_noise(p=0.1)", "typo     = char_noise(p=0.1) in [de |", {"fr", "hi", "zh"}, {"de", "ar"}),
    ("typo     = char_noise(p=0.1)", "typo     = keyboard_typo(p=0.1) in [|", {"de", "fr", "hi"}, {"zh"}),
    ('negation = stress("negation")', 'negation = stress("|', {"negation", "word_overlap"}, {"p"}),
    ('negation = stress("negation") on hypothesis', 'negation = stress("negation") on |', {"premise", "hypothesis"},
     {"question", "context"}),
    ("languages    = [en de fr hi zh]", "languages    = [en |", {"de", "zh", "ar"}, {"en", "th", "sw"}),
    ("intermediate = [none choice]", "intermediate = [none |", {"choice", "nli"}, {"none", "e5"}),
    ("target       = nli trained_on nli", "target       = nli trained_on |", {"nli", "choice"}, {"e5"}),
    ('task nli    = nli(synthetic("nli", size=600)', 'task nli    = nli(|', {"synthetic", "local", "hf", "train"},
     {"char_noise"}),
    ('task nli    = nli(synthetic("nli", size=600)', 'task nli    = nli(synthetic("nli", |',
     {"size", "seed", "families"}, {"train"}),
    ('task nli    = nli(synthetic("nli", size=600)', 'task nli    = |', {"nli", "multiple_choice", "extractive_qa"},
     {"synthetic"}),
    ('model e5 = packaged("multilingual-e5-small")', "model e5 = |", {"hf", "packaged", "tiny"}, {"local"}),
    ("evaluate           { batch=64", "evaluate           { |", {"batch", "max_len", "limit"}, {"lr"}),
    ("train target       { lr=1e-4", "train target       { lr=1e-4 |", {"batch", "epochs", "patience"}, {"limit"}),
    ("report             { baseline=none", "report             { baseline=|", {"none", "choice"}, {"e5"}),
    ("train intermediate {", "train |", {"intermediate", "target", "choice", "nli"}, {"e5"}),
    ('task nli    = nli(synthetic("nli", size=600)', 'task nli    = nli(local("{|', {"lang", "split"}, set()),
    ("seeds        = [1]", "seeds        = [1]\nresources { |", {"train.gpus", "evaluate.memory"}, {"lr"}),
]


@pytest.mark.parametrize("old,new,wanted,unwanted", COMPLETIONS, ids=[c[1] for c in COMPLETIONS])
def test_completion(lsp, old, new, wanted, unwanted):
    base = DEMO.read_text()
    assert old in base
    typed = base.replace(old, new)
    line, character = where(typed, "|")
    text = typed.replace("|", "", 1)
    uri = (REPO / "specs" / f"completion{abs(hash(new))}.xexp").as_uri()
    lsp.open(uri, text)
    labels = {item.label for item in lsp.completion(uri, line, character)}
    assert wanted <= labels, f"missing {wanted - labels}; got {sorted(labels)}"
    assert not (unwanted & labels), f"offered {unwanted & labels}"


def test_perturbation_completion_is_a_snippet_with_its_parameters(lsp):
    typed = DEMO.read_text().replace("typo     = char_noise(p=0.1)", "typo     = |")
    line, character = where(typed, "|")
    uri = (REPO / "specs" / "snippet.xexp").as_uri()
    lsp.open(uri, typed.replace("|", ""))
    items = {item.label: item for item in lsp.completion(uri, line, character)}
    assert items["char_noise"].insert_text == "char_noise(${1:0.05})"
    assert items["stress"].insert_text == 'stress("${1:negation}")'
    assert items["code_switch"].insert_text == "code_switch(${1:0.3}, lexicon=${2:lexicon})"
    assert "char_noise(p: float = 0.05" in items["char_noise"].detail


def test_definition_references_and_symbols(lsp):
    text = DEMO.read_text()
    uri = DEMO.as_uri()
    lsp.open(uri, text)
    use = where(text, "choice]", offset=2)
    found = lsp.definition(uri, *use)
    assert (found.range.start.line, found.range.start.character) == where(text, "choice =")
    refs = lsp.references(uri, *where(text, "nli trained_on nli", offset=1))
    declared = where(text, "nli    =")
    spots = sorted((r.range.start.line, r.range.start.character) for r in refs)
    assert spots == sorted([declared, where(text, "nli trained_on"), where(text, "nli", nth=0,
                                                                             offset=text.index("trained_on nli") + 11
                                                                             - text.index("nli"))])
    names = [s.name for s in lsp.symbols(uri)]
    assert names[:4] == ["experiment demo", "e5", "choice", "nli"]
    assert "perturbations" in names and "train target" in names


def test_formatting_is_xexp_fmt(lsp):
    messy = DEMO.read_text().replace("seeds        = [1]", "seeds=[ 1 ]").replace("model e5 = ", "model   e5=")
    uri = (REPO / "specs" / "messy.xexp").as_uri()
    lsp.open(uri, messy)
    (edit,) = lsp.formatting(uri)
    assert edit.new_text == format_text(messy) != messy
    assert (edit.range.start.line, edit.range.start.character) == (0, 0)
    broken = (REPO / "specs" / "broken.xexp").as_uri()
    lsp.open(broken, "experiment x\ntask a = nli(\n")
    assert lsp.formatting(broken) == []


def test_code_lens_shows_the_plan_counts(lsp):
    uri = DEMO.as_uri()
    lsp.open(uri, DEMO.read_text())
    lenses = lsp.code_lens(uri)
    assert len(lenses) == 2
    assert all("79 nodes" in lens.command.title and "3 trainings, 50 evaluations" in lens.command.title
               for lens in lenses)


def test_local_inputs_are_looked_at_on_save_only(lsp, tmp_path):
    spec = tmp_path / "local.xexp"
    text = DEMO.read_text().replace('synthetic("nli", size=600)', 'local("data/xnli.{lang}.jsonl")')
    spec.write_text(text)
    uri = spec.as_uri()
    lsp.open(uri, text)
    assert lsp.wait_diagnostics(uri) == []  # `--no-inputs` while typing
    lsp.save(uri)
    saved = lsp.wait_diagnostics(uri, 2)
    assert saved and all("no such file: data/xnli.en.jsonl" in d.message or "no such file" in d.message for d in saved)
    assert saved[0].range.start == type(saved[0].range.start)(*where(text, 'local("data', offset=0))


def test_a_2000_line_spec_gets_its_diagnostics_and_answers(lsp):
    lines = ["experiment big", 'var data = "data"', 'model enc = hf("FacebookAI/xlm-roberta-base")']
    for i in range(900):
        lines += [f"# intermediate task {i}", f'task t{i} = nli(local("{{data}}/t{i}.jsonl"), train="train")']
    lines += ['task xnli = nli(local("{data}/xnli/{lang}.jsonl"), test="test")', "intermediate = [none t1 t2]",
              "target = xnli trained_on t0", "languages = [en de fr]", "perturbations {"]
    lines += [f"  noise{i} = char_noise(p=0.0{i % 9 + 1})" for i in range(200)] + ["  bad = char_nose()", "}"]
    text = "\n".join(lines) + "\n"
    assert text.count("\n") >= 2000
    uri = (REPO / "specs" / "big.xexp").as_uri()
    lsp.open(uri, text)
    (d,) = lsp.wait_diagnostics(uri)
    assert d.range.start.line == len(lines) - 2 and "char_nose" in d.message
    hover = lsp.hover(uri, *where(text, "t899 =", offset=1))
    assert "task t899" in hover.contents.value


def test_without_pygls_xexp_lsp_says_how_to_install_in_one_line():
    code = ("import sys; sys.modules['pygls'] = None; from xexp.cli import main; sys.exit(main(['lsp']))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip() == 'xexp lsp needs pygls and lsprotocol: pip install "xexp[lsp]"'


def test_the_server_stays_light():
    """The server imports the compiler, not the runtime's heavy libraries (it starts at once)."""
    code = ("import sys, xexp.cli, xexp.lsp.server; from xexp.lsp.analysis import analyse; "
            "analyse(open('specs/demo.xexp').read(), 'specs/demo.xexp', inputs=True); "
            "print(sorted(m for m in ('torch', 'ray', 'transformers', 'datasets') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_completion_reads_the_current_text_before_the_next_pass(lsp):
    """Completion answers from the latest pass while the debounced one is pending: the context is
    the text just typed, the names those of the pass; once the new pass is in, its names too."""
    base = DEMO.read_text()
    uri = (REPO / "specs" / "typing.xexp").as_uri()
    lsp.open(uri, base)
    assert lsp.wait_diagnostics(uri) == []
    typed = base.replace("intermediate = [none choice]", "intermediate = [none |").replace(
        "task nli    =", 'task extra = nli(synthetic("nli"), train="train")\ntask nli    =')
    line, character = where(typed, "|")
    lsp.change(uri, typed.replace("|", ""))
    labels = {item.label for item in lsp.completion(uri, line, character)}
    assert {"choice", "nli"} <= labels
    lsp.wait_version(uri, lsp.versions[uri])
    labels = {item.label for item in lsp.completion(uri, line, character)}
    assert {"choice", "nli", "extra"} <= labels


def test_variants_labels_and_references_on_the_paper_grid(lsp):
    spec = REPO / "specs" / "phang2020.xexp"
    text = spec.read_text()
    uri = spec.as_uri()
    lsp.open(uri, text)
    assert lsp.wait_diagnostics(uri) == []  # `--no-inputs` while typing: its local data is the user's
    listed = text.index("intermediate = [none anli")
    # ANLI+ is one task read from five sources (issue 24), not a mix
    task = lsp.hover(uri, *where(text, "anli", nth=text[:listed].count("anli") + 0, offset=1))
    assert "task anli" in task.contents.value and "`nli`" in task.contents.value
    variant = lsp.hover(uri, *where(text, "multi", nth=text[:listed].count("multi"), offset=1))
    assert "variant multi" in variant.contents.value and "mix([anli_r1 anli_r2 anli_r3 snli mnli" in variant.contents.value
    refs = lsp.references(uri, *where(text, "task mnli ", offset=6))
    lines = sorted(r.range.start.line for r in refs)
    for needle in ("task mnli ", "variant multi ", "variant mnli_mlm ", "intermediate = [none",
                   "xnli    trained_on mnli"):
        assert where(text, needle)[0] in lines, needle
    label = lsp.definition(uri, *where(text, "evaluate xquad", offset=10))
    assert label.range.start.line == where(text, "task xquad ")[0]
    symbols = {s.name: s for s in lsp.symbols(uri)}
    assert symbols["multi"].detail == "variant" and symbols["xlmr"].detail == "model"
