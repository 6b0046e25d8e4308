"""One typed contract between compiler and runtime (issue 13).

Every node's params validate against its kind's contract (compiler/graph/contracts.py), the
ops read them back through it, and each spec that used to pass `xexp check` and fail inside a
node is now refused at check time, with a caret and a hint.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from xexp.cli import main
from xexp.compiler import SpecError, compile_text
from xexp.compiler.graph.contracts import TrainParams
from xexp.compiler.graph.kinds import KINDS, kind_of
from xexp.compiler.registry import REGISTRY

REPO = Path(__file__).resolve().parents[1]


def spec_files(folder: Path) -> list[Path]:
    """The spec files of a folder: files only, never the `.xexp/` store a run leaves beside its
    spec (the README's order, demo then tests, must pass)."""
    return sorted(path for path in folder.glob("*.xexp") if path.is_file())


SPECS = [*spec_files(REPO / "specs"), *spec_files(REPO / "tests" / "specs")]

BASE = """\
experiment contracts
model m = tiny()
task src = nli(synthetic(size=30), train="train")
task tgt = nli(synthetic(size=30), test="test")
target = tgt trained_on src
languages = [en de]
"""


def only_error(text: str, variables: dict | None = None) -> SpecError:
    with pytest.raises(SpecError) as info:
        compile_text(text, "c.xexp", variables)
    errors = info.value.errors
    assert len(errors) == 1, info.value.render()
    return errors[0]


def caret_at(err: SpecError, text: str, fragment: str) -> None:
    """The error's caret starts at `fragment`, which occurs once in `text`."""
    assert text.count(fragment) == 1
    offset = text.index(fragment)
    line = text[:offset].count("\n") + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    assert (err.span.line, err.span.column) == (line, column), err.render()


# --- the contracts themselves --------------------------------------------------------------------


def test_spec_files_skip_the_store_a_run_leaves_beside_the_spec(tmp_path):
    (tmp_path / ".xexp" / "runs").mkdir(parents=True)  # what `xexp run specs/demo.xexp` leaves
    (tmp_path / "demo.xexp").write_text("experiment demo\n", encoding="utf-8")
    assert [p.name for p in spec_files(tmp_path)] == ["demo.xexp"]
    assert SPECS and all(p.is_file() for p in SPECS)


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_every_node_of_every_bundled_spec_fits_its_kinds_contract(path):
    variables = {"data": "/data"} if "var data" in path.read_text() else None
    _spec, graph = compile_text(path.read_text(), str(path), variables)
    assert {n.kind for n in graph.nodes} <= set(KINDS)
    for node in graph.nodes:
        # read back, and written again to the same JSON: the key the node has is the key it keeps
        assert kind_of(node.kind).PARAMS.model_validate(node.params).to_params() == node.params, node.name


def test_an_op_refuses_params_that_break_the_contract():
    _spec, graph = compile_text(BASE, "c.xexp")
    train = next(n for n in graph.nodes if n.kind == "train")
    broken = {**train.params, "hparams": {**train.params["hparams"], "epochs": 1.5}}
    with pytest.raises(ValueError, match="epochs"):
        TrainParams.model_validate(broken)


def test_the_report_settings_are_one_type():
    from xexp.compiler.graph import report_contract
    from xexp.compiler.spec import ReportSettings as spec_settings
    from xexp.runtime.report.model import ReportSettings as runtime_settings

    assert runtime_settings is report_contract.ReportSettings is spec_settings


def test_a_sweep_is_a_typed_setting_and_trial_resources_a_node_field():
    from xexp.runtime.ops.sweep import grid, tune_resources

    text = BASE + "train target { lr=sweep[1e-5, 2e-5] batch=sweep[4, 8] }\nresources { train.cpus=2 }\n"
    _spec, graph = compile_text(text, "c.xexp")
    train = next(n for n in graph.nodes if n.kind == "train")
    assert "trial_resources" not in train.labels
    assert train.trial_resources is not None and train.resources.num_cpus == 0
    assert tune_resources(train.trial_resources) == {"cpu": 2.0, "gpu": 0.0}
    combos = grid(TrainParams.model_validate(train.params))
    assert sorted((c.lr, c.batch) for c in combos) == [(1e-5, 4), (1e-5, 8), (2e-5, 4), (2e-5, 8)]
    assert all(not c.sweeps() for c in combos)


# --- regressions: passed check, failed in a node -------------------------------------------------


def test_fractional_epochs_are_refused_at_check():
    text = BASE + "train target { epochs=1.5 }\n"
    err = only_error(text)
    assert "epochs" in err.message and "fractional part" in err.message
    caret_at(err, text, "1.5")


def test_a_negative_report_seed_is_refused_at_check():
    text = BASE + "report { seed=-1 }\n"
    err = only_error(text)
    assert "seed" in err.message
    caret_at(err, text, "-1")


@pytest.mark.parametrize("lang", ["ja", "sw"])
def test_a_language_synthetic_data_lacks_is_refused_at_check(lang):
    text = BASE.replace("languages = [en de]", f"languages = [en {lang}]")
    err = only_error(text)
    assert f"no language `{lang}`" in err.message
    assert all(code in err.hint for code in "ar de en es fr hi ru zh".split())
    caret_at(err, text, f"{lang}]")


def test_synthetic_languages_are_declared_once_and_match_the_generator():
    from xexp.runtime.data.synthetic import languages

    entry = REGISTRY.get("data_source", "synthetic")
    assert entry is not None and entry.languages == frozenset(languages())
    readme = (REPO / "README.md").read_text()
    assert f"languages: {' '.join(languages())}" in readme


def test_synthetic_data_of_another_task_type_is_refused_at_check():
    text = BASE.replace("task tgt = nli(synthetic(size=30)", 'task tgt = nli(synthetic("multiple_choice", size=30)')
    err = only_error(text)
    assert "synthetic data is multiple_choice" in err.message


def test_an_unclosed_placeholder_is_refused_at_check():
    text = BASE.replace("nli(synthetic(size=30), train", 'nli(local("{d/data.jsonl"), train')
    text = text.replace("experiment contracts\n", 'experiment contracts\nvar d = "x"\n')
    err = only_error(text)
    assert "`{d` is never closed" in err.message
    caret_at(err, text, '"{d/data.jsonl"')


def test_a_split_placeholder_in_a_local_path_compiles_and_is_read(tmp_path):
    from xexp.compiler.graph.contracts import LoadParams
    from xexp.runtime.data.sources import load_rows

    (tmp_path / "train.jsonl").write_text(json.dumps({"premise": "a b", "hypothesis": "a", "label": "entailment"}) + "\n")
    text = BASE.replace("nli(synthetic(size=30), train", f'nli(local("{tmp_path}/{{split}}.jsonl"), train')
    _spec, graph = compile_text(text, "c.xexp")
    load = LoadParams.model_validate(next(n for n in graph.nodes if n.kind == "load" and "src" in n.name).params)
    # lowering fills `{split}` to fingerprint the very file the node reads (compiler/inputs.py)
    assert load.source["path"] == f"{tmp_path}/train.jsonl" and load.split == "train"
    assert len(load.source["sha256"]) == 1
    table = load_rows(load.source, task_type=load.task_type, split=load.split, rows=load.rows, language=load.language)
    assert table.num_rows == 1


QA = """\
experiment qa
model m = tiny()
task squad = extractive_qa(local("q/{lang}.jsonl"), train="train", test="test", doc_stride=STRIDE)
target = squad trained_on squad
languages = [en de]
train target { max_len=128 }
evaluate { max_len=128 }
"""


def test_doc_stride_reaches_training_and_evaluation():
    from xexp.compiler.graph.contracts import EvaluateParams

    _spec, graph = compile_text(QA.replace("STRIDE", "32"), "qa.xexp")
    train = next(n for n in graph.nodes if n.kind == "train")
    # the train op hands the task's params to train(), whose QA windows overlap by doc_stride
    assert TrainParams.model_validate(train.params).task_params["doc_stride"] == 32
    for node in graph.nodes:
        if node.kind == "evaluate":
            assert EvaluateParams.model_validate(node.params).doc_stride == 32


def test_a_doc_stride_wider_than_the_window_allows_is_refused_at_check():
    err = only_error(QA.replace("STRIDE", "100"))
    assert "doc_stride=100" in err.message and "max_len=128" in err.message
    assert "at most 61" in err.hint


def test_the_doc_stride_bound_holds_for_a_real_tokenizer(tmp_path):
    """At the bound the check allows, featurizing a long question and a long context works
    (the tokenizer panics on a stride that leaves a window no new tokens)."""
    import pyarrow as pa
    from transformers import AutoTokenizer

    from xexp.compiler.validate_compat import doc_stride_limit
    from xexp.runtime.learning.models.tiny import build_tiny
    from xexp.runtime.learning.tasks.qa import ExtractiveQA

    tokenizer = AutoTokenizer.from_pretrained(build_tiny(tmp_path / "tiny"))
    table = pa.table({"id": ["0"], "question": ["what is it about " * 20], "context": ["long context " * 80],
                      "answers": [[{"text": "long", "start": 0}]]})
    for max_len in (8, 16, 33, 64, 128):
        features = ExtractiveQA().featurize(table, tokenizer, max_len, training=True,
                                            doc_stride=doc_stride_limit(max_len))
        assert len(features) > 1


def test_tiny_model_rules_are_checked_at_compile_time():
    err = only_error(BASE.replace("tiny()", "tiny(hidden=10, heads=3)"))
    assert "divisible" in err.message
    err = only_error(BASE + "train target { max_len=600 }\n")
    assert "reads at most 512 tokens" in err.message and "max_positions=600" in err.hint
    compile_text(BASE.replace("tiny()", "tiny(max_positions=1024)") + "train target { max_len=600 }\n", "c.xexp")


def test_model_sources_are_described_once(tmp_path):
    from xexp.runtime.learning.models import sources

    assert not hasattr(sources, "SOURCE_KEYS")
    with pytest.raises(ValueError, match="max_position"):
        sources.materialize_model({"source": "tiny", "max_position": 64}, tmp_path / "refused")
    assert not (tmp_path / "refused").exists()  # refused by the registry's schema, before any build
    built = sources.materialize_model({"source": "tiny", "max_positions": 64}, tmp_path / "tiny")
    assert built["source"] == "tiny" and (tmp_path / "tiny" / "config.json").is_file()


# --- `xexp check` reads local inputs -------------------------------------------------------------

LOCAL = """\
experiment local_inputs
var d = "."
model m = tiny()
task src = nli(local("{d}/train.jsonl"), train="train")
task tgt = nli(local("{d}/test.{lang}.jsonl"), test="test")
target = tgt trained_on src
languages = [en de]
"""


def write_rows(path: Path, label: str = "entailment") -> None:
    path.write_text(json.dumps({"premise": "a b c", "hypothesis": "a b", "label": label}) + "\n")


def run_check(tmp_path: Path, text: str, capsys) -> tuple[int, str]:
    spec = tmp_path / "s.xexp"
    spec.write_text(text)
    status = main(["check", str(spec), "--set", f"d={tmp_path}"])
    return status, capsys.readouterr().err


def test_check_passes_when_every_local_input_is_there(tmp_path, capsys):
    for name in ("train.jsonl", "test.en.jsonl", "test.de.jsonl"):
        write_rows(tmp_path / name)
    assert run_check(tmp_path, LOCAL, capsys) == (0, "")


def test_check_finds_a_missing_local_file(tmp_path, capsys):
    write_rows(tmp_path / "train.jsonl")
    write_rows(tmp_path / "test.en.jsonl")
    status, err = run_check(tmp_path, LOCAL, capsys)
    assert status == 2
    assert f"no such file: {tmp_path}/test.de.jsonl" in err and "language de" in err
    assert '^' in err and "hint:" in err


def test_check_reads_the_first_rows_of_local_files(tmp_path, capsys):
    write_rows(tmp_path / "train.jsonl", label="maybe")
    write_rows(tmp_path / "test.en.jsonl")
    write_rows(tmp_path / "test.de.jsonl")
    status, err = run_check(tmp_path, LOCAL, capsys)
    assert status == 2
    assert "train.jsonl, line 1, field 'label': unknown label 'maybe'" in err and "^" in err


def test_check_finds_a_missing_lexicon(tmp_path, capsys):
    for name in ("train.jsonl", "test.en.jsonl", "test.de.jsonl"):
        write_rows(tmp_path / name)
    text = LOCAL + 'perturbations { cs = code_switch(lexicon=muse("{d}/en-{lang}.txt")) in [de] }\n'
    status, err = run_check(tmp_path, text, capsys)
    assert status == 2 and f"no such lexicon file: {tmp_path}/en-de.txt" in err


def run_cli_command(tmp_path: Path, command: str, capsys, *extra: str) -> tuple[int, str]:
    spec = tmp_path / "s.xexp"
    spec.write_text(LOCAL)
    status = main([command, str(spec), "--set", f"d={tmp_path}", *extra])
    return status, capsys.readouterr().err


def test_run_and_plan_look_at_local_inputs_before_anything_starts(tmp_path, capsys):
    """`xexp run` fails as `xexp check` does (exit 2, caret), before Ray or a run record."""
    write_rows(tmp_path / "train.jsonl", label="maybe")
    write_rows(tmp_path / "test.en.jsonl")
    status, err = run_cli_command(tmp_path, "run", capsys)
    assert status == 2
    assert "train.jsonl, line 1, field 'label': unknown label 'maybe'" in err and "^" in err
    assert f"no such file: {tmp_path}/test.de.jsonl" in err
    assert not (tmp_path / ".xexp" / "runs").exists()
    assert run_cli_command(tmp_path, "run", capsys, "--dry-run")[0] == 2
    assert run_cli_command(tmp_path, "plan", capsys)[0] == 2


def test_run_and_plan_can_skip_the_look_at_inputs(tmp_path, capsys):
    status, err = run_cli_command(tmp_path, "run", capsys, "--dry-run", "--no-inputs")
    assert status == 0 and "load:" in err
    assert run_cli_command(tmp_path, "plan", capsys, "--no-inputs")[0] == 0


# --- registry: versions (implementations: tests/test_dispatch.py) ---------------------------------


def test_an_entry_version_redoes_only_that_entrys_nodes(monkeypatch):
    text = BASE + "perturbations {\n  typo = char_noise(p=0.1)\n  drop = word_drop(p=0.1)\n}\n"
    _spec, before = compile_text(text, "c.xexp")
    entry = REGISTRY.get("perturbation", "char_noise")
    monkeypatch.setitem(REGISTRY._entries, ("perturbation", "char_noise"), dataclasses.replace(entry, version=2))
    _spec, after = compile_text(text, "c.xexp")
    changed = [n for n in after.nodes if n.key not in {m.key for m in before.nodes}]
    assert sorted(n.kind for n in changed) == ["evaluate", "evaluate", "perturb", "perturb", "report"]
    assert all(n.labels.get("condition", n.labels.get("perturbation")) == "typo" for n in changed if n.kind != "report")


def test_code_switching_needs_a_target_language_and_lexicons_for_every_language_it_meets():
    text = BASE + "perturbations { cs = code_switch(lexicon=synthetic()) }\n"
    err = only_error(text)
    assert "cannot be applied to en" in err.message and "to=<language>" in err.message
    assert "in [de]" in err.hint
    compile_text(text.replace("lexicon=synthetic()", 'lexicon=synthetic(), to="fr"'), "c.xexp")
    text = BASE.replace("[en de]", "[en de]") + (
        'perturbations { atk = codeswitch_attack(lexicon=muse("x/en-fr.txt"), languages=[fr]) }\n')
    err = only_error(text)
    assert "cannot be applied to de" in err.message and "English-de" in err.message
