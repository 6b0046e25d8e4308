"""Inputs identified by content (issue 14, item 2).

- editing a local data file or a lexicon changes the keys of exactly the nodes that depend on
  it; `xexp plan` says "input file changed" for the readers, the rerun executes exactly those
  nodes and the report changes; a `touch` reruns nothing;
- relative paths mean the spec's folder: the same spec planned from two working directories
  has the same keys, and a path's folder does not matter, only the file's content and name;
- a file edited after planning fails its load instead of storing other content under the key;
- hub sources: the plan notes unpinned ones, and a model node records the commit it resolved to.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import needs

import pytest

from xexp.cli import main as xexp_main
from xexp.compiler import compile_file, compile_text
from xexp.planning import plan_rows, render_table

DATA = needs.DATA

SPEC = """\
experiment inputs_by_content
var data = "data"
model tiny = tiny(layers=1, hidden=32, heads=2, intermediate=64, seed=0)
task mnli = nli(local("{data}/mnli.jsonl"), train="train[:64]", dev="train[64:96]")
task xnli = nli(local("{data}/xnli/dev.{lang}.jsonl"), test="test")
intermediate = [none]
target = xnli trained_on mnli
languages = [en de]
perturbations {
  codemix = code_switch(p=0.5, lexicon=muse("{data}/muse/en-{lang}.txt")) in [de]
}
train target { lr=5e-4 batch=32 epochs=1 max_len=32 }
evaluate { batch=32 max_len=32 }
report { bootstrap=100 }
"""

#: The nodes that read the German XNLI file, directly or through another node.
DEPEND_ON_GERMAN_DATA = {"load:xnli/test/de", "perturb:codemix/de/seed1", "evaluate:none→xnli/de/clean/seed1",
                         "evaluate:none→xnli/de/codemix/seed1", "report:inputs_by_content"}
#: The nodes that read the English-German lexicon, directly or through another node.
DEPEND_ON_LEXICON = {"perturb:codemix/de/seed1", "evaluate:none→xnli/de/codemix/seed1", "report:inputs_by_content"}


def lines_of(path: Path, count: int) -> str:
    with open(path, encoding="utf-8") as handle:
        return "".join(next(handle) for _ in range(count))


@pytest.fixture
def study(tmp_path, monkeypatch) -> Path:
    """A spec beside a small folder of real data: MNLI rows, XNLI en/de rows, an en-de lexicon."""
    needs.data()
    monkeypatch.setenv("XEXP_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "study"
    (folder / "data" / "xnli").mkdir(parents=True)
    (folder / "data" / "muse").mkdir()
    (folder / "data" / "mnli.jsonl").write_text(lines_of(DATA / "mnli" / "dev_matched.jsonl", 96), encoding="utf-8")
    for lang in ("en", "de"):
        (folder / "data" / "xnli" / f"dev.{lang}.jsonl").write_text(
            lines_of(DATA / "xnli" / f"dev.{lang}.jsonl", 24), encoding="utf-8")
    (folder / "data" / "muse" / "en-de.txt").write_text(lines_of(DATA / "muse" / "en-de.txt", 4000),
                                                        encoding="utf-8")
    (folder / "study.xexp").write_text(SPEC, encoding="utf-8")
    return folder / "study.xexp"


def keys_by_name(spec: Path) -> dict[str, str]:
    return {n.name: n.key for n in compile_file(spec).nodes}


def changed_names(before: dict[str, str], after: dict[str, str]) -> set[str]:
    assert before.keys() == after.keys()
    return {name for name in before if before[name] != after[name]}


def flip_labels(path: Path) -> None:
    """Every label replaced by another one: the same rows, other gold answers."""
    flipped = {"entailment": "contradiction", "contradiction": "neutral", "neutral": "entailment"}
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    path.write_text("".join(json.dumps({**r, "label": flipped[r["label"]]}, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")


def replace_lexicon(path: Path) -> None:
    """Another en-de dictionary: every German word now translates back to a made-up English one."""
    pairs = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if "\t" in line]
    path.write_text("".join(f"zz{english}\t{german}\n" for english, german in pairs), encoding="utf-8")


# --- keys ------------------------------------------------------------------------------------


def test_editing_the_data_file_changes_exactly_the_keys_that_depend_on_it(study):
    before = keys_by_name(study)
    flip_labels(study.parent / "data" / "xnli" / "dev.de.jsonl")
    assert changed_names(before, keys_by_name(study)) == DEPEND_ON_GERMAN_DATA


def test_replacing_the_lexicon_changes_exactly_the_keys_that_depend_on_it(study):
    before = keys_by_name(study)
    replace_lexicon(study.parent / "data" / "muse" / "en-de.txt")
    assert changed_names(before, keys_by_name(study)) == DEPEND_ON_LEXICON


def test_touch_changes_no_key_and_a_big_file_is_hashed_once(study, tmp_path):
    data_file = study.parent / "data" / "mnli.jsonl"
    before = keys_by_name(study)
    cache = json.loads((tmp_path / "cache" / "inputs" / "sha256-v1.json").read_text())
    assert str(data_file) in cache  # the digest is remembered by path, size and times
    stat = data_file.stat()
    os.utime(data_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert keys_by_name(study) == before


def test_the_same_spec_planned_from_two_working_directories_has_the_same_keys(study, tmp_path):
    """Relative paths mean the spec's folder: a `data/` folder beside the current directory,
    with other content, changes nothing."""
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(study.parent / "data", elsewhere / "data")
    flip_labels(elsewhere / "data" / "xnli" / "dev.de.jsonl")
    outputs = []
    for cwd in (study.parent, elsewhere):
        done = subprocess.run([sys.executable, "-m", "xexp.cli", "plan", "--json", str(study)], cwd=cwd,
                              capture_output=True, text=True, check=True, env=dict(os.environ))
        outputs.append({n["name"]: n["key"] for n in json.loads(done.stdout)["nodes"]})
    assert outputs[0] == outputs[1]
    load = next(n for n in compile_file(study).nodes if n.name == "load:xnli/test/de")
    assert load.params["source"]["path"] == str(study.parent / "data" / "xnli" / "dev.de.jsonl")


def test_a_relative_path_given_with_set_means_the_current_directory(study, tmp_path, capsys, monkeypatch):
    """On the command line `--set data=./elsewhere/data` is where the user stands, not the spec's folder."""
    shutil.copytree(study.parent / "data", tmp_path / "elsewhere" / "data")
    flip_labels(tmp_path / "elsewhere" / "data" / "xnli" / "dev.de.jsonl")  # other content, other keys
    monkeypatch.chdir(tmp_path)
    assert xexp_main(["plan", "--json", str(study), "--set", "data=./elsewhere/data"]) == 0
    nodes = json.loads(capsys.readouterr().out)["nodes"]
    load = next(n for n in compile_file(study, {"data": str(tmp_path / "elsewhere" / "data")}).nodes
                if n.name == "load:xnli/test/de")
    assert next(n["key"] for n in nodes if n["name"] == "load:xnli/test/de") == load.key
    assert load.params["source"]["path"] == str(tmp_path / "elsewhere" / "data" / "xnli" / "dev.de.jsonl")


def test_keys_follow_content_not_the_folder_a_file_lies_in(study, tmp_path):
    """A copy of the study in another folder has the same keys; the same text beside other
    content does not."""
    copy = tmp_path / "copy"
    shutil.copytree(study.parent, copy)
    assert keys_by_name(copy / "study.xexp") == keys_by_name(study)
    flip_labels(copy / "data" / "xnli" / "dev.de.jsonl")
    assert changed_names(keys_by_name(study), keys_by_name(copy / "study.xexp")) == DEPEND_ON_GERMAN_DATA


def test_a_file_edited_after_planning_fails_its_load(study):
    from xexp.runtime.data.raw import DataError
    from xexp.runtime.data.sources import load_rows

    load = next(n for n in compile_file(study).nodes if n.name == "load:xnli/test/de")
    path = Path(load.params["source"]["path"])
    p = load.params
    table = load_rows(p["source"], task_type=p["task_type"], split=p["split"], rows=None, language=p["language"])
    assert table.num_rows == 24
    flip_labels(path)
    with pytest.raises(DataError, match="changed after the run was planned"):
        load_rows(p["source"], task_type=p["task_type"], split=p["split"], rows=None, language=p["language"])

    # the load node itself fails as bad data, in one line, and records it so
    from xexp.errors import Category
    from xexp.runtime.engine.worker import NodeFailed, execute_node
    from xexp.runtime.engine.scheduler import DEFAULT_WORK
    from xexp.runtime.engine.store import Store

    store = Store(study.parent / "store")
    with pytest.raises(NodeFailed) as failed:
        execute_node(load.model_dump(mode="json"), store.url, "r1", DEFAULT_WORK, {})
    failure = store.read_failure("load", load.key)
    assert failed.value.category == failure.category == Category.DATA and failure.error_type == "DataError"
    assert failure.message.splitlines() == [failure.message] and "changed after the run was planned" in failure.message


def test_a_missing_file_keeps_its_path_in_the_key_and_lowering_still_works(tmp_path, monkeypatch):
    monkeypatch.setenv("XEXP_CACHE", str(tmp_path / "cache"))
    spec = tmp_path / "s.xexp"
    spec.write_text(SPEC, encoding="utf-8")
    load = next(n for n in compile_file(spec).nodes if n.name == "load:xnli/test/de")
    assert "sha256" not in load.params["source"]
    assert load.params["source"]["path"] == str(tmp_path / "data" / "xnli" / "dev.de.jsonl")


# --- hub sources -----------------------------------------------------------------------------

HUB_SPEC = """\
experiment hub
model xlmr = hf("FacebookAI/xlm-roberta-base"{model_revision})
task mnli = nli(hf("nyu-mll/glue", "mnli"{data_revision}), train="train", dev="validation_matched")
task xnli = nli(hf("facebook/xnli", "{{lang}}"{data_revision}), test="test")
intermediate = [none]
target = xnli trained_on mnli
languages = [en]
"""


def test_the_plan_notes_unpinned_hub_sources():
    _, unpinned = compile_text(HUB_SPEC.format(model_revision="", data_revision=""))
    table = render_table(unpinned, plan_rows(unpinned, None))
    note = next(line for line in table.splitlines() if line.startswith("note: unpinned"))
    assert "FacebookAI/xlm-roberta-base" in note and "nyu-mll/glue" in note and "facebook/xnli" in note
    pinned_text = HUB_SPEC.format(model_revision=f', revision="{"a" * 40}"', data_revision=', revision="v1"')
    _, pinned = compile_text(pinned_text)
    assert "note: unpinned" not in render_table(pinned, plan_rows(pinned, None))


def test_plan_json_carries_the_notes(tmp_path, capsys):
    spec = tmp_path / "hub.xexp"
    spec.write_text(HUB_SPEC.format(model_revision="", data_revision=""), encoding="utf-8")
    capsys.readouterr()
    assert xexp_main(["plan", "--json", str(spec)]) == 0
    notes = json.loads(capsys.readouterr().out)["notes"]
    assert len(notes) == 1 and notes[0].startswith("note: unpinned hub sources FacebookAI/xlm-roberta-base")


def test_a_hub_model_records_the_commit_its_revision_resolved_to(tmp_path):
    """Offline, from the local hub cache's refs: `main` and a branch name resolve to commits."""
    cache = tmp_path / "hub"
    refs = cache / "models--org--encoder" / "refs"
    refs.mkdir(parents=True)
    (refs / "main").write_text("1" * 40)
    (refs / "v2").write_text("2" * 40)
    code = ("import json; from xexp.runtime.learning.models.sources import materialize_model as m; "
            "print(json.dumps([m({'source': 'hf', 'id': 'org/encoder'}, '.'), "
            "m({'source': 'hf', 'id': 'org/encoder', 'revision': 'v2'}, '.'), "
            "m({'source': 'hf', 'id': 'org/unknown'}, '.')]))")
    env = {**os.environ, "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    main, branch, unknown = json.loads(done.stdout)
    assert main["resolved_revision"] == main["revision"] == "1" * 40  # consumers load this commit
    assert branch["resolved_revision"] == branch["revision"] == "2" * 40
    assert unknown["resolved_revision"] is None and unknown["revision"] is None


# --- end to end: plan, rerun, report -----------------------------------------------------------


def lexicon_matching_nothing(path: Path) -> None:
    """A dictionary none of whose words occur in the data: code-switching then changes nothing."""
    path.write_text("qqqq\tzzzz\n", encoding="utf-8")


def codemix_changed(rows: list[dict]) -> list[float]:
    """The share of German examples code-switching changed, per report row."""
    return [float(r["changed"]) for r in rows if r["language"] == "de" and r["perturbation"] == "codemix"]


def plan_of(spec: Path, capsys) -> dict[str, tuple[str, str]]:
    capsys.readouterr()
    assert xexp_main(["plan", "--json", str(spec)]) == 0
    return {n["name"]: (n["state"], n["reason"]) for n in json.loads(capsys.readouterr().out)["nodes"]}


def executed_names(summary: dict) -> set[str]:
    from xexp.runtime.engine.runs import read_events, run_dir
    from xexp.runtime.engine.store import Store

    path = run_dir(Store(summary["store"]), summary["run_id"]) / "events.jsonl"
    events, _ = read_events(path)
    return {e["name"] for e in events if e.get("event") == "finished"}


def predictions_of(spec: Path, summary: dict, name: str) -> dict[int, str]:
    """Row number -> the label a stored evaluation predicted."""
    import pyarrow.parquet as pq

    from xexp.runtime.engine.store import Store

    node = next(n for n in compile_file(spec).nodes if n.name == name)
    table = pq.read_table(Store(summary["store"]).artifact_dir(node.kind, node.key) / "predictions.parquet")
    return {int(i): p for i, p in zip(table.column("id").to_pylist(), table.column("predicted").to_pylist())}


def flip_labels_against(path: Path, predicted: dict[int, str]) -> None:
    """Every label replaced by another one, chosen so that the clean accuracy must change: a
    label the model did not predict (accuracy 0), or, if it was 0 already, the predicted one."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    was_zero = all(predicted[i] != r["label"] for i, r in enumerate(rows))
    labels = ("entailment", "neutral", "contradiction")
    for i, row in enumerate(rows):
        if was_zero:
            row["label"] = predicted[i]
        else:
            row["label"] = next(lab for lab in labels if lab not in (row["label"], predicted[i]))
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def results(summary: dict) -> list[dict]:
    text = (Path(summary["report"]) / "results.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def test_edited_inputs_are_planned_rerun_and_change_the_report(study, ray_local, capsys):
    from xexp.running import run_spec

    first = run_spec(study, show_progress=False)
    assert first["failed"] == 0 and first["executed"] == first["nodes"] == 11
    report = results(first)

    for path in (study.parent / "data").rglob("*.*"):  # only the times change: nothing to do
        os.utime(path)
    assert {state for state, _ in plan_of(study, capsys).values()} == {"cached"}

    german = study.parent / "data" / "xnli" / "dev.de.jsonl"
    flip_labels_against(german, predictions_of(study, first, "evaluate:none→xnli/de/clean/seed1"))
    plan = plan_of(study, capsys)
    assert {name for name, (state, _) in plan.items() if state == "run"} == DEPEND_ON_GERMAN_DATA
    assert plan["load:xnli/test/de"][1] == f"input file changed: {german}"
    second = run_spec(study, show_progress=False)
    assert second["failed"] == 0 and executed_names(second) == DEPEND_ON_GERMAN_DATA
    after_data = results(second)
    german_rows = lambda rows: [r for r in rows if r["language"] == "de"]  # noqa: E731
    assert german_rows(after_data) != german_rows(report)
    assert [r for r in after_data if r["language"] == "en"] == [r for r in report if r["language"] == "en"]

    lexicon = study.parent / "data" / "muse" / "en-de.txt"
    assert codemix_changed(after_data) and all(share > 0 for share in codemix_changed(after_data))
    lexicon_matching_nothing(lexicon)
    plan = plan_of(study, capsys)
    assert {name for name, (state, _) in plan.items() if state == "run"} == DEPEND_ON_LEXICON
    assert plan["perturb:codemix/de/seed1"][1] == f"input file changed: {lexicon}"
    third = run_spec(study, show_progress=False)
    assert third["failed"] == 0 and executed_names(third) == DEPEND_ON_LEXICON
    assert codemix_changed(results(third)) == [0.0] * len(codemix_changed(after_data))


def test_digest_cache_survives_an_unwritable_folder(tmp_path):
    """Planning never fails for want of a cache: an unwritable cache folder just is not kept."""
    from xexp.compiler.inputs import DigestCache

    target = tmp_path / "file.txt"
    target.write_text("content", encoding="utf-8")
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder should be", encoding="utf-8")
    cache = DigestCache(blocked / "inputs" / "sha256-v1.json")
    assert cache.digest(target) == hashlib.sha256(b"content").hexdigest()
    cache.save()
    assert blocked.is_file()


def test_the_digest_cache_keeps_the_newest_entries(tmp_path, monkeypatch):
    from xexp.compiler import inputs

    monkeypatch.setattr(inputs, "CACHE_ENTRIES", 2)
    files = []
    for i in range(3):
        files.append(tmp_path / f"f{i}.txt")
        files[-1].write_text(f"file {i}", encoding="utf-8")
    cache = inputs.DigestCache(tmp_path / "cache" / "sha256-v1.json")
    for path in files:
        cache.digest(path)
    cache.save()
    kept = json.loads((tmp_path / "cache" / "sha256-v1.json").read_text())
    assert list(kept) == [str(files[1]), str(files[2])]


def german_table(spec: Path):
    from xexp.runtime.data.sources import load_rows

    p = next(n for n in compile_file(spec).nodes if n.name == "load:xnli/test/de").params
    return load_rows(p["source"], task_type=p["task_type"], split=p["split"], rows=None, language=p["language"])


def codemixed(spec: Path, params: dict | None = None) -> tuple[list[str], dict]:
    """The German rows code-switched as the spec's perturb node would (by default its own params)."""
    from xexp.runtime.robustness.perturbations import perturb_table

    q = params or next(n for n in compile_file(spec).nodes if n.name == "perturb:codemix/de/seed1").params
    out = perturb_table(q["perturbation"], q["params"], q["field"], german_table(spec), q["language"], q["seed"])
    return out.column("premise").to_pylist() + out.column("hypothesis").to_pylist(), q


def test_a_lexicon_is_served_by_content_in_a_long_lived_process(study):
    """A worker outlives a run: after the lexicon is replaced, a perturbation keyed by the new
    content reads the new file; one keyed by the old content gets the old lexicon it was keyed
    by from memory, and a fresh process refuses to serve it from the new file."""
    from xexp.runtime.robustness.perturbations import lexicon

    before, old_params = codemixed(study)
    replace_lexicon(study.parent / "data" / "muse" / "en-de.txt")
    after, _ = codemixed(study)
    assert after != before and any("zz" in text for text in after)
    assert codemixed(study, old_params)[0] == before
    lexicon.load_muse.cache_clear()
    lexicon._reverse_cached.cache_clear()
    with pytest.raises(ValueError, match="changed after the run was planned"):
        codemixed(study, old_params)
