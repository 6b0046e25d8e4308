"""`variant NAME = mix([TASK ...], …)`: what `xexp check` refuses (with caret and hint), what the
spec and the graph say about a mix, and that single-task trainings keep their keys."""

from __future__ import annotations

import pytest

from test_errors import FILE, check, errors_of
from xexp.compiler import compile_text
from xexp.compiler.fmt import format_text
from xexp.compiler.graph.contracts import Sampling, TrainParams, member_input
from xexp.compiler import parse

MIX = """\
experiment mixes
var data = "data"
model enc = tiny(layers=1, hidden=32, heads=2, intermediate=64)
task mnli   = nli(synthetic("nli", size=48), train="train", dev="dev")
task squad  = extractive_qa(local("{data}/squad.json", format="squad_json"), train="train")
task choice = multiple_choice(synthetic("multiple_choice", size=24), train="train", dev="dev")
task mnli_mt = nli(local("{data}/mnli.{lang}.jsonl"), train="train", dev="dev")
task xnli   = nli(local("{data}/xnli.{lang}.jsonl"), test="test")
variant multi = mix([mnli squad choice], sampling="temperature", temperature=2.0)
variant translated = mix([mnli_mt], languages=[en de fr])
intermediate = [none mnli multi translated]
target = xnli trained_on mnli
languages = [en de]
train intermediate { lr=1e-3 batch=8 }
train multi { epochs=3 }
report { baseline=multi }
"""


def edit(old: str, new: str, text: str = MIX) -> str:
    assert text.count(old) == 1, f"{old!r} must occur exactly once"
    return text.replace(old, new)


def train_nodes(graph) -> dict[str, object]:
    return {n.name: n for n in graph.nodes if n.kind == "train"}


# --- the spec and the graph ---------------------------------------------------------------------

def test_a_mix_is_a_typed_variant_with_its_own_settings():
    spec, _ = compile_text(MIX, FILE)
    multi = spec.variants["multi"]
    assert multi.members == ["mnli", "squad", "choice"]
    assert multi.sampling == Sampling(kind="temperature", temperature=2.0)
    assert multi.languages == ["en"] and spec.variants["translated"].languages == ["en", "de", "fr"]
    assert spec.intermediate == ["none", "mnli", "multi", "translated"] and spec.report.baseline == "multi"
    assert spec.train_settings("intermediate", "multi").epochs == 3  # `train multi {…}` refines
    assert spec.train_settings("intermediate", "translated").epochs == 2
    assert spec.train_settings("intermediate", "multi").lr == 1e-3


def test_a_mix_reads_the_same_load_nodes_as_its_members_alone():
    _, graph = compile_text(MIX, FILE)
    trains = train_nodes(graph)
    single, multi = trains["train:mnli/seed1"], trains["train:multi/seed1"]
    assert multi.inputs["base"] == single.inputs["base"]
    assert multi.inputs[member_input("train", 0, "en")] == single.inputs["train"]
    assert multi.inputs[member_input("dev", 0, "en")] == single.inputs["dev"]
    assert set(multi.inputs) == {"base", "train0.en", "dev0.en", "train1.en", "train2.en", "dev2.en"}
    params = TrainParams.model_validate(multi.params)
    assert [m.task_type for m in params.members or []] == ["nli", "extractive_qa", "multiple_choice"]
    assert params.hparams.epochs == 3 and params.sampling == Sampling(kind="temperature", temperature=2.0)
    assert multi.labels["members"] == ["mnli", "squad", "choice"]
    # single-task trainings keep the params they always had: no mix fields, so no new keys
    assert set(single.params) == {"task_type", "task_params", "hparams", "seed"}


def test_a_member_whose_source_has_lang_is_read_in_every_language_of_the_mix():
    _, graph = compile_text(MIX, FILE)
    translated = train_nodes(graph)["train:translated/seed1"]
    nodes = {n.key: n for n in graph.nodes}
    for split in ("train", "dev"):
        for lang in ("en", "de", "fr"):
            load = nodes[translated.inputs[member_input(split, 0, lang)]]
            assert load.params["language"] == lang and load.params["source"]["path"].endswith(f"mnli.{lang}.jsonl")
    member = TrainParams.model_validate(translated.params).members[0]
    assert member.languages == member.dev_languages == ["en", "de", "fr"]
    # the mix's variant reaches the report and the target training like any other
    assert "train:translated→xnli/seed1" in train_nodes(graph)


def test_the_formatter_round_trips_a_variant():
    text = MIX.replace("mix([mnli squad choice], sampling=", "mix( [ mnli ,squad, choice ] ,sampling =")
    formatted = format_text(text)
    assert '= mix([mnli squad choice], sampling="temperature", temperature=2.0)\n' in formatted
    assert parse(formatted) == parse(MIX) and format_text(formatted) == formatted


# --- what check refuses ---------------------------------------------------------------------------

def test_unknown_member():
    check(edit("mix([mnli squad choice]", "mix([mnli squadd choice]"), "unknown task `squadd` in the mix",
          "squadd", hint="did you mean `squad`")


def test_empty_mix():
    check(edit("mix([mnli squad choice], ", "mix([], "), "a mix lists at least one task", "[]",
          hint="mix([mnli squad hellaswag])")


def test_cap_without_capped():
    check(edit('sampling="temperature", temperature=2.0', "cap=100"),
          '`cap` of `mix`: `cap` only applies with sampling="capped"', "100", hint="usage: mix(")


def test_capped_needs_a_cap_and_a_positive_one():
    check(edit('sampling="temperature", temperature=2.0', 'sampling="capped"'),
          'sampling="capped" needs `cap=N`', '"capped"')
    check(edit('sampling="temperature", temperature=2.0', 'sampling="capped", cap=0'),
          "`cap` of `mix`: Input should be greater than or equal to 1", "0)", width=1)


def test_temperature_needs_a_positive_temperature():
    check(edit("temperature=2.0", "temperature=0"), "`temperature` of `mix`: Input should be greater than 0",
          "0)\n", width=1)


def test_unknown_sampling():
    check(edit('sampling="temperature", temperature=2.0', 'sampling="propotional"'),
          "unknown sampling `propotional`", '"propotional"', hint="did you mean `proportional`")


def test_nested_variants():
    check(edit("variant translated = mix([mnli_mt]", "variant translated = mix([mnli_mt multi]"),
          "`multi` is a variant: a mix lists tasks, not other mixes", "multi]", width=5)


def test_member_listed_twice():
    check(edit("mix([mnli squad choice]", "mix([mnli squad mnli]"), "task `mnli` is listed twice in the mix",
          "mnli]", width=4)


def test_member_without_a_train_split():
    check(edit("mix([mnli squad choice]", "mix([mnli xnli]"), "task `xnli` has no `train=` split", "xnli]",
          width=4)


def test_a_variant_may_not_share_a_task_name():
    check(MIX + "variant squad = mix([mnli])\n", "`squad` is both a task and a variant", "squad = mix", width=5,
          hint="rename the variant")


def test_only_mix_defines_a_variant():
    check(edit("mix([mnli squad choice], sampling", "blend([mnli squad choice], sampling"),
          "a variant is defined by `mix([TASK ...], …)`", "blend", hint="usage: mix(")


def test_languages_need_a_member_that_depends_on_lang():
    check(edit("mix([mnli_mt], languages=[en de fr])", "mix([squad], languages=[en de fr])"),
          "no member's does", "[en de fr])", width=10, hint="put `{lang}` in a member's path")


def test_unknown_language_of_a_mix():
    check(edit("languages=[en de fr]", "languages=[en de xx]"), "unknown language code `xx`", "xx")


def test_a_target_is_not_trained_on_a_variant():
    check(edit("target = xnli trained_on mnli", "target = xnli trained_on multi"),
          "`multi` is a variant, an intermediate training", "multi\n", width=5)


def test_train_block_of_an_unknown_variant_still_fails():
    errors = errors_of(MIX + "train mutli { epochs=1 }\n")
    assert [e.message for e in errors] == ["`train mutli`: no phase or task named `mutli`"]
    assert errors[0].hint is not None and "`multi`" in errors[0].hint


@pytest.mark.parametrize("baseline", ["translated", "none"])
def test_the_report_baseline_may_be_a_variant(baseline):
    spec, _ = compile_text(edit("report { baseline=multi }", f"report {{ baseline={baseline} }}"), FILE)
    assert spec.report.baseline == baseline


def test_the_plan_lists_a_mix_with_its_members(tmp_path):
    from xexp.planning import plan_rows

    _, graph = compile_text(MIX, FILE)
    rows = {row["name"]: row for row in plan_rows(graph, tmp_path / "store")}
    assert rows["train:multi/seed1"]["members"] == ["mnli", "squad", "choice"]
    assert rows["train:multi/seed1"]["inputs"]["train1.en"] == "load:squad/train"
    assert "members" not in rows["train:mnli/seed1"]


def test_check_looks_at_every_language_a_translated_member_is_read_in(tmp_path, capsys):
    from xexp.cli import main

    for name in ("mnli.en.jsonl", "mnli.de.jsonl", "xnli.en.jsonl", "xnli.de.jsonl"):  # no mnli.fr.jsonl
        (tmp_path / name).write_text('{"premise": "a", "hypothesis": "b", "label": "neutral"}\n')
    (tmp_path / "squad.json").write_text('{"data": []}')
    spec = tmp_path / "mix.xexp"
    spec.write_text(MIX)
    status = main(["check", str(spec), "--set", f"data={tmp_path}"])
    err = capsys.readouterr().err
    assert status == 2 and f"no such file: {tmp_path}/mnli.fr.jsonl (task `mnli_mt`, split train, language fr)" in err
