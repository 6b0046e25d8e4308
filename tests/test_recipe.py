"""The authors' recipe, exactly (issue 24, item 5): which checkpoint a training hands on
(`select=last|best`), SQuAD's length alone and inside a mix (a member keeps its own
`train TASK { max_len }`), and a `train X {…}` block that changes no training refused.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

import needs
from xexp.compiler import compile_text
from xexp.compiler.errors import SpecError
from xexp.compiler.graph.contracts import TrainSettings
from xexp.runtime.data.sources import load_rows
from xexp.runtime.learning.training import train

torch.set_num_threads(1)

HPARAMS = TrainSettings(batch=8, epochs=3, max_len=64, lr=1e-2, eval_every=1, checkpoint_every=1)

MIX_SPEC = """\
experiment recipe
model m = tiny()
task mnli  = nli(synthetic("nli", size=60), train="train", dev="dev")
task squad = extractive_qa(local("squad.json", format="squad_json"), train="train", dev="train[:4]")
task xnli  = nli(synthetic("nli", size=60), test="test")
variant multi = mix([mnli squad])
intermediate = [none squad multi]
target = xnli trained_on mnli
languages = [en de]
train intermediate { max_len=256 }
train squad { max_len=384 }
"""


def graph_of(text: str):
    return compile_text(text, "recipe.xexp")[1]


def trains(graph, task: str) -> list:
    return [n for n in graph.nodes if n.kind == "train" and n.labels.get("task") == task]


# --- select=last|best ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def table():
    path = needs.data("mnli", "dev_matched.jsonl")
    return load_rows({"source": "local", "path": str(path)}, task_type="nli", split=None, rows=(0, 48), language=None)


def tensors(out: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(out / "checkpoint" / "model.safetensors"))


@pytest.mark.needs_data
def test_select_last_hands_on_the_final_weights_and_best_the_best_dev_step(tiny_base, table, tmp_path):
    """jiant's intermediate runs keep the final model (`eval_every_steps=0`). With `select=last`
    the checkpoint is bit for bit the one of the same training with no dev set at all (scoring
    dev draws no randomness), and its dev score is the last point of the curve; `best` reloads
    the best point. The data must make them differ, or the test shows nothing."""
    common = dict(base=tiny_base, task_type="nli", train_table=table, seed=5, log_every=1)
    last = train(**common, dev_table=table.slice(0, 16), hparams=HPARAMS.model_copy(update={"select": "last"}),
                 out_dir=tmp_path / "last", scratch_dir=tmp_path / "last" / "s")
    best = train(**common, dev_table=table.slice(0, 16), hparams=HPARAMS,
                 out_dir=tmp_path / "best", scratch_dir=tmp_path / "best" / "s")
    blind = train(**common, dev_table=None, hparams=HPARAMS.model_copy(update={"select": "last"}),
                  out_dir=tmp_path / "blind", scratch_dir=tmp_path / "blind" / "s")
    assert best.best_step < best.steps, "the best dev step must come before the end"
    final, kept, chosen = tensors(tmp_path / "last"), tensors(tmp_path / "blind"), tensors(tmp_path / "best")
    assert final.keys() == kept.keys() and all(torch.equal(final[k], kept[k]) for k in final)
    assert any(not torch.equal(final[k], chosen[k]) for k in final)
    import json
    dev = json.loads((tmp_path / "last" / "curve.json").read_text())["dev"]
    assert last.dev_metric == dev[-1]["accuracy"] and last.select == "last"
    assert best.dev_metric == max(p["accuracy"] for p in dev)


def test_select_is_left_out_of_keys_at_best_and_changes_the_training_key_at_last():
    spec = MIX_SPEC.replace('local("squad.json", format="squad_json")', 'synthetic("nli", size=60)') \
        .replace("extractive_qa", "nli")
    plain = {n.key for n in graph_of(spec).nodes}
    assert {n.key for n in graph_of(spec.replace("max_len=256 }", "max_len=256 select=best }")).nodes} == plain
    changed = graph_of(spec.replace("max_len=256 }", "max_len=256 select=last }"))
    for node in trains(changed, "squad") + trains(changed, "multi"):
        assert node.params["hparams"]["select"] == "last" and node.key not in plain
    assert all("select" not in n.params["hparams"] for n in trains(changed, "mnli"))  # the target's phase


# --- SQuAD's length inside a mix -----------------------------------------------------------------


def test_a_member_keeps_its_own_max_len_inside_a_mix(tmp_path):
    """`train squad { max_len=384 }` gives SQuAD 384 tokens alone (256 is the phase's) and as a
    member of `multi`; MNLI, with no block of its own, reads the mix's 256."""
    (tmp_path / "squad.json").write_text('{"data": []}')
    graph = compile_text(MIX_SPEC, str(tmp_path / "recipe.xexp"))[1]
    (alone,) = trains(graph, "squad")
    assert alone.params["hparams"]["max_len"] == 384
    (mix,) = trains(graph, "multi")
    assert mix.params["hparams"]["max_len"] == 256
    assert [m.get("max_len") for m in mix.params["members"]] == [None, 384]
    # without the member's block, the mix's params are what they always were
    bare = compile_text(MIX_SPEC.replace("train squad { max_len=384 }\n", ""), str(tmp_path / "recipe.xexp"))[1]
    assert all("max_len" not in m for m in trains(bare, "multi")[0].params["members"])


@pytest.mark.needs_data
def test_a_member_featurizes_at_its_own_length(tiny_base):
    from xexp.runtime.learning.models.sources import load_tokenizer
    from xexp.runtime.learning.tasks import get_task
    from xexp.runtime.learning.training import Member

    rows = load_rows({"source": "local", "path": str(needs.data("xquad", "xquad.en.json")), "format": "squad_json"},
                     task_type="extractive_qa", split=None, rows=(0, 6), language=None)
    tokenizer = load_tokenizer(tiny_base)
    task = get_task("extractive_qa").for_data(rows)
    hp = TrainSettings(max_len=64)
    short, own = Member(task, rows, None, None), Member(task, rows, None, None, max_len=256)
    short.featurize(tokenizer, hp, 0)
    own.featurize(tokenizer, hp, 0)
    assert short.features.lengths.max() <= 64
    assert own.features.lengths.max() > 64
    assert len(own.features) < len(short.features)  # longer windows: fewer of them


# --- a setting that changes nothing --------------------------------------------------------------


def test_a_train_block_that_applies_to_no_training_fails_check_with_exit_2(tmp_path):
    spec = tmp_path / "bad.xexp"
    spec.write_text(MIX_SPEC.replace('local("squad.json", format="squad_json")', 'synthetic("nli", size=60)')
                    .replace("extractive_qa", "nli").replace("intermediate = [none squad multi]", "intermediate = [none multi]")
                    .replace("train squad { max_len=384 }", "train squad { max_len=384 lr=3e-5 }")
                    + "task spare = nli(synthetic(\"nli\", size=60), train=\"train\")\ntrain spare { lr=2e-5 }\n")
    done = subprocess.run([sys.executable, "-m", "xexp.cli", "check", str(spec)], capture_output=True, text=True)
    assert done.returncode == 2, done.stdout + done.stderr
    out = done.stdout + done.stderr
    assert "bad.xexp:13:7: error: `train spare` applies to no training" in out
    assert "hint: it would apply with `intermediate = [... spare]` or a target `… trained_on spare`" in out
    # inside a mix, only a member's max_len is its own: lr would change nothing
    assert "setting `lr` of `train squad` applies to no training: `squad` trains only inside the mix `multi`" in out
    assert "hint: set it for the whole mix: `train multi { lr=… }`" in out


def test_a_block_for_an_unlisted_mix_names_it():
    text = MIX_SPEC.replace('local("squad.json", format="squad_json")', 'synthetic("nli", size=60)') \
        .replace("extractive_qa", "nli").replace("intermediate = [none squad multi]", "intermediate = [none]") \
        .replace("train squad { max_len=384 }", "train multi { lr=2e-5 }")
    with pytest.raises(SpecError) as err:
        compile_text(text, "recipe.xexp")
    assert "`train multi` applies to no training: the mix `multi` is not in `intermediate`" in str(err.value)


# --- one task from several sources (ANLI+) -------------------------------------------------------

SEVERAL = """\
experiment anli_plus
var data = "."
model m = tiny()
task anli = nli(local("{data}/mnli/dev_matched.jsonl"), train=["train[:40]", local("{data}/xnli/dev.en.jsonl"), "train[100:120]"], dev="train[200:220]")
task xnli = nli(local("{data}/xnli/dev.{lang}.jsonl"), test="test[:20]")
intermediate = [none anli]
target = xnli trained_on anli
languages = [en de]
"""


@pytest.mark.needs_data
def test_a_split_may_read_several_sources_as_one_task_with_one_head():
    """ANLI+ in jiant is one NLI task (A1-A3 + MNLI + SNLI) with one head: a split written as a
    list is one load node whose rows are every part's, in order, ids kept apart by part."""
    from xexp.compiler.graph.contracts import LoadParams
    from xexp.runtime.ops.load_op import _concatenated

    data = needs.data()
    graph = compile_text(SEVERAL, "anli.xexp", {"data": str(data)})[1]
    (training,) = [n for n in graph.nodes if n.kind == "train" and n.labels["phase"] == "intermediate"]
    assert training.params["task_type"] == "nli" and "members" not in training.params  # one task, one head
    load = next(n for n in graph.nodes if n.key == training.inputs["train"])
    params = LoadParams.model_validate(load.params)
    assert [(p.split, p.rows) for p in params.parts or []] == [("train", (0, 40)), ("train", None), ("train", (100, 120))]
    table = _concatenated(params)
    xnli_en = load_rows({"source": "local", "path": str(data / "xnli" / "dev.en.jsonl")}, task_type="nli",
                        split=None, rows=None, language=None)
    assert table.num_rows == 40 + xnli_en.num_rows + 20
    ids = table.column("id").to_pylist()
    assert len(set(ids)) == len(ids) and ids[0].startswith("0:") and ids[-1].startswith("2:")
    assert table.column("premise").to_pylist()[40:40 + xnli_en.num_rows] == xnli_en.column("premise").to_pylist()
    # a one-source split keeps the params (and keys) it always had
    dev = next(n for n in graph.nodes if n.key == training.inputs["dev"])
    assert "parts" not in dev.params
