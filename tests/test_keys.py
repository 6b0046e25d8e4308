"""Content-addressed keys (issue 3, point 5): equal work gets equal keys, and only what
determines a node's output enters its key.

- the direct baseline and every intermediate variant share the `load` and `perturb` nodes;
- an intermediate training has the same key in two specs that use it the same way, whatever
  else differs (experiment, target task, languages, perturbations, the task's name);
- target-only settings never change an intermediate training's key; intermediate settings do;
- changing one perturbation's parameter changes exactly its own perturb/evaluate nodes and the report.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

from xexp.compiler import compile_text
from xexp.compiler.graph import Graph, Node

SPEC_A = """\
experiment sharing_a
model xlmr = hf("FacebookAI/xlm-roberta-base")
task mnli  = nli(hf("nyu-mll/glue", "mnli"), train="train", dev="validation_matched")
task squad = extractive_qa(hf("rajpurkar/squad_v2"), train="train", dev="validation")
task xnli  = nli(hf("facebook/xnli", "{lang}"), test="test")
intermediate = [none, mnli, squad]
target = xnli trained_on mnli
languages = [en de fr]
seeds = [1 2]
perturbations {
  typo = char_noise(p=0.05)
  neg  = stress("negation") on hypothesis
  atk  = char_attack(max_edits=2)
}
train intermediate { lr=1e-5 batch=32 epochs=2 max_len=256 }
train target { lr=2e-5 batch=32 epochs=2 }
evaluate { batch=64 }
report { baseline=none }
"""

# Another study that uses MNLI as its intermediate task the same way: different experiment,
# model name, task name, target task and type, languages, seeds, perturbations and resources.
SPEC_B = """\
experiment sharing_b
model encoder = hf("FacebookAI/xlm-roberta-base")
task glue_mnli = nli(hf("nyu-mll/glue", "mnli"), train="train", dev="validation_matched")
task paws_en   = paraphrase(hf("google-research-datasets/paws-x", "en"), train="train")
task paws      = paraphrase(hf("google-research-datasets/paws-x", "{lang}"), test="test")
intermediate = [glue_mnli]
target = paws trained_on paws_en
languages = [es en]
seeds = [1]
perturbations { order = word_shuffle(window=4) }
train intermediate { lr=1e-5 batch=32 epochs=2 max_len=256 }
train target { lr=5e-5 }
resources { train.gpus=1 evaluate.gpus=0.5 }
report { baseline=glue_mnli bootstrap=500 }
"""


def graph_of(text: str, name: str = "keys.xexp") -> Graph:
    return compile_text(text, name)[1]


def edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def nodes(graph: Graph, kind: str, **labels) -> list[Node]:
    return [n for n in graph.nodes if n.kind == kind and all(n.labels.get(k) == v for k, v in labels.items())]


def one(graph: Graph, kind: str, **labels) -> Node:
    found = nodes(graph, kind, **labels)
    assert len(found) == 1, (kind, labels, [n.name for n in found])
    return found[0]


def intermediate_training(graph: Graph, seed: int = 1, task: str = "mnli") -> Node:
    return one(graph, "train", phase="intermediate", task=task, seed=seed)


# --- the key itself --------------------------------------------------------------------------


def test_a_key_is_the_sha256_of_the_canonical_json_of_kind_version_params_inputs():
    graph = graph_of(SPEC_A)
    for node in (intermediate_training(graph), graph.nodes[0], graph.nodes[-1]):
        payload = {"kind": node.kind, "version": node.version, "params": node.params, "inputs": node.inputs}
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        assert node.key == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        assert len(node.key) == 64 and set(node.key) <= set("0123456789abcdef")


def test_graph_is_topologically_ordered_and_closed():
    graph = graph_of(SPEC_A)
    seen: set[str] = set()
    for node in graph.nodes:
        assert set(node.inputs.values()) <= seen, f"{node.name} comes before one of its inputs"
        assert node.key not in seen
        seen.add(node.key)


def test_keys_do_not_depend_on_the_process(tmp_path):
    """Same spec, fresh interpreters with different hash seeds: the same keys in the same order."""
    spec = tmp_path / "a.xexp"
    spec.write_text(SPEC_A, encoding="utf-8")
    code = ("import sys; from xexp.compiler import compile_file; "
            "print('\\n'.join(n.key for n in compile_file(sys.argv[1]).nodes))")
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", code, str(spec)], capture_output=True, text=True, env=env,
                              check=True)
        outputs.append(done.stdout.split())
    assert outputs[0] == outputs[1] == [n.key for n in graph_of(SPEC_A).nodes]


# --- (a) variants share loads and perturbations ------------------------------------------------


def test_baseline_and_intermediate_variants_evaluate_the_same_data_nodes():
    graph = graph_of(SPEC_A)
    by_key = graph.by_key()
    evaluations = nodes(graph, "evaluate") + nodes(graph, "attack")
    cells: dict[tuple, set[str]] = {}
    for node in evaluations:
        cell = (node.labels["language"], node.labels["condition"], node.labels["seed"])
        cells.setdefault(cell, set()).add(node.inputs["data"])
    variants = {n.labels["variant"] for n in evaluations}
    assert variants == {"none", "mnli", "squad"}
    for cell, data_keys in cells.items():
        assert len(data_keys) == 1, f"variants read different data for {cell}"
        assert by_key[next(iter(data_keys))].kind in ("load", "perturb")
    # and each variant has its own evaluation of that shared data
    assert len(evaluations) == len(cells) * len(variants)


def test_adding_variants_adds_no_load_or_perturb_of_the_target():
    alone = graph_of(edit(SPEC_A, "intermediate = [none, mnli, squad]", "intermediate = [none]"))
    full = graph_of(SPEC_A)
    assert {n.key for n in nodes(alone, "perturb")} == {n.key for n in nodes(full, "perturb")}
    target_loads = lambda g: {n.key for n in nodes(g, "load", task="xnli")}  # noqa: E731
    assert target_loads(alone) == target_loads(full)
    spec = compile_text(SPEC_A, "a.xexp")[0]
    agnostic = [p for p in spec.perturbations if p.category == "perturbation"]  # typo, neg (atk is an attack)
    assert len(nodes(full, "perturb")) == len(spec.languages) * len(spec.seeds) * len(agnostic)


def test_the_target_training_source_is_loaded_once_for_every_variant():
    graph = graph_of(SPEC_A)
    mnli_train = one(graph, "load", task="mnli", split="train")
    readers = [n for n in nodes(graph, "train") if n.inputs.get("train") == mnli_train.key]
    # target training of all three variants × 2 seeds, plus mnli as intermediate × 2 seeds
    assert len(readers) == 3 * 2 + 2


# --- (b) sharing across specs ------------------------------------------------------------------


def test_intermediate_training_has_the_same_key_in_two_specs_that_use_it_the_same_way():
    a, b = graph_of(SPEC_A, "a.xexp"), graph_of(SPEC_B, "b.xexp")
    in_a, in_b = intermediate_training(a), intermediate_training(b, task="glue_mnli")
    assert in_a.name != in_b.name  # described differently …
    assert in_a.key == in_b.key    # … but the same work
    assert in_a.inputs == in_b.inputs
    shared = {n.key for n in a.nodes} & {n.key for n in b.nodes}
    # exactly the model, MNLI's two loads and the seed-1 intermediate training are common
    assert shared == {in_a.key, *in_a.inputs.values()}


def test_the_seed_is_part_of_the_key():
    graph = graph_of(SPEC_A)
    assert intermediate_training(graph, seed=1).key != intermediate_training(graph, seed=2).key


# --- (c) what changes an intermediate training's key, and what does not ------------------------

TARGET_ONLY_EDITS = [
    ("train target { lr=2e-5 batch=32 epochs=2 }", "train target { lr=3e-5 batch=16 epochs=3 warmup=0 }"),
    ("evaluate { batch=64 }", "evaluate { batch=8 max_len=64 limit=100 }"),
    ("typo = char_noise(p=0.05)", "typo = char_noise(p=0.2)"),
    ("  atk  = char_attack(max_edits=2)\n", ""),
    ("languages = [en de fr]", "languages = [en ar hi zh]"),
    ("seeds = [1 2]", "seeds = [1]"),
    ("report { baseline=none }", "report { baseline=none ci=0.9 bootstrap=5000 }"),
    ("experiment sharing_a", "experiment renamed"),
    ('task xnli  = nli(hf("facebook/xnli", "{lang}"), test="test")',
     'task xnli  = nli(hf("facebook/xnli", "{lang}"), dev="validation")'),
    ("evaluate { batch=64 }", "evaluate { batch=64 }\nresources { train.gpus=2 train.cpus=8 }"),
    ("task mnli ", "task mnli_renamed "),
]


def test_target_only_settings_do_not_change_the_intermediate_training_key():
    reference = intermediate_training(graph_of(SPEC_A)).key
    for old, new in TARGET_ONLY_EDITS:
        text = edit(SPEC_A, old, new)
        if old.startswith("task mnli"):
            text = text.replace("[none, mnli, squad]", "[none, mnli_renamed, squad]").replace(
                "trained_on mnli", "trained_on mnli_renamed")
            assert intermediate_training(graph_of(text), task="mnli_renamed").key == reference, new
        else:
            assert intermediate_training(graph_of(text)).key == reference, new


INTERMEDIATE_EDITS = [
    ("train intermediate { lr=1e-5 batch=32 epochs=2 max_len=256 }",
     "train intermediate { lr=2e-5 batch=32 epochs=2 max_len=256 }"),
    ("train intermediate { lr=1e-5 batch=32 epochs=2 max_len=256 }",
     "train intermediate { lr=sweep[1e-5, 2e-5] batch=32 epochs=2 max_len=256 }"),
    ("report { baseline=none }", "report { baseline=none }\ntrain mnli { epochs=3 }"),
    ('dev="validation_matched"', 'dev="validation_mismatched"'),
    ('hf("FacebookAI/xlm-roberta-base")', 'hf("FacebookAI/xlm-roberta-large")'),
]


def test_intermediate_settings_change_the_intermediate_training_key():
    reference = graph_of(SPEC_A)
    for old, new in INTERMEDIATE_EDITS:
        changed = graph_of(edit(SPEC_A, old, new))
        assert intermediate_training(changed).key != intermediate_training(reference).key, new


def test_intermediate_settings_change_the_variant_chain_but_not_the_baseline():
    reference = graph_of(SPEC_A)
    old, new = INTERMEDIATE_EDITS[0]
    changed = graph_of(edit(SPEC_A, old, new))
    target = lambda g, variant: one(g, "train", phase="target", variant=variant, seed=1).key  # noqa: E731
    assert target(changed, "mnli") != target(reference, "mnli")      # downstream of the change
    assert target(changed, "squad") != target(reference, "squad")    # squad is an intermediate task too
    assert target(changed, "none") == target(reference, "none")      # direct fine-tuning never sees it
    baseline_evals = lambda g: {n.key for n in nodes(g, "evaluate", variant="none")}  # noqa: E731
    assert baseline_evals(changed) == baseline_evals(reference)


def test_changing_one_perturbation_changes_only_its_nodes_and_the_report():
    spec, before = compile_text(SPEC_A, "a.xexp")
    _, after = compile_text(edit(SPEC_A, "typo = char_noise(p=0.05)", "typo = char_noise(p=0.06)"), "a.xexp")
    assert len(before.nodes) == len(after.nodes)
    changed = [n for n in after.nodes if n.key not in {m.key for m in before.nodes}]
    kinds = sorted(n.kind for n in changed)
    languages, seeds, variants = len(spec.languages), len(spec.seeds), len(spec.intermediate)
    assert kinds.count("perturb") == languages * seeds
    assert kinds.count("evaluate") == languages * seeds * variants
    assert kinds.count("report") == 1
    assert len(changed) == languages * seeds * (1 + variants) + 1
    for node in changed:
        if node.kind == "perturb":
            assert node.labels["perturbation"] == "typo"
        elif node.kind == "evaluate":
            assert node.labels["condition"] == "typo"


def test_names_resources_and_labels_stay_out_of_keys():
    reference = {n.key for n in graph_of(SPEC_A).nodes if n.kind != "report"}
    renamed = edit(SPEC_A, "model xlmr =", "model encoder =")
    renamed = edit(renamed, "typo = char_noise", "noise = char_noise")
    renamed = edit(renamed, "evaluate { batch=64 }", "evaluate { batch=64 }\nresources { evaluate.gpus=0.25 }")
    # the report lists its cells by name, so only it changes
    assert {n.key for n in graph_of(renamed).nodes if n.kind != "report"} == reference


def test_report_cells_have_one_description_per_condition_even_with_lang_placeholders():
    """`muse("…/en-{lang}.txt")` differs per language in the perturb nodes, but the report
    groups cells by condition and needs one description for each."""
    from pathlib import Path

    from xexp.compiler import compile_text

    path = Path(__file__).resolve().parents[1] / "specs" / "xnli_local.xexp"
    _spec, graph = compile_text(path.read_text(), str(path), {"data": "/data"})
    report = next(n for n in graph.nodes if n.kind == "report")
    descriptions: dict[str, set[str]] = {}
    for cell in report.params["cells"]:
        descriptions.setdefault(cell["condition"], set()).add(cell["description"])
    assert all(len(d) == 1 for d in descriptions.values()), descriptions
    perturb_paths = {n.params["params"]["lexicon"]["path"] for n in graph.nodes
                     if n.kind == "perturb" and n.params["perturbation"] == "code_switch"}
    assert "/data/muse/en-de.txt" in perturb_paths and len(perturb_paths) == 12  # per language


def test_a_file_known_by_its_sha256_is_keyed_by_content_and_name_not_folder():
    """Lowering adds `sha256` to every local file reference (compiler/inputs.py): the key then
    holds the digest and the file's name, so moving the data keeps keys and editing it does not."""
    def load(path: str, digest: str | None) -> Node:
        source = {"source": "local", "path": path, "format": None}
        if digest is not None:
            source["sha256"] = [digest]
        return Node.make("load", "load:x", {"task_type": "nli", "source": source, "split": "test"})

    here, moved = load("/a/data/dev.de.jsonl", "1" * 64), load("/b/elsewhere/dev.de.jsonl", "1" * 64)
    assert here.key == moved.key
    assert load("/a/data/dev.de.jsonl", "2" * 64).key != here.key  # other content
    assert load("/a/data/dev.fr.jsonl", "1" * 64).key != here.key  # other name (it picks reader, language)
    # without a digest (a file missing when planned) the whole path stays in the key
    assert load("/a/data/dev.de.jsonl", None).key != load("/b/data/dev.de.jsonl", None).key
    keyed_params = {**here.params, "source": {**here.params["source"], "path": "dev.de.jsonl"}}
    payload = {"kind": "load", "version": here.version, "params": keyed_params, "inputs": {}}
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    assert here.key == hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_the_key_is_the_sha256_of_the_canonical_json_of_its_payload():
    """node_key writes its payload out by hand (speed: a paper grid has thousands of nodes);
    the bytes must be exactly canonical_json's, or every stored node would run again."""
    import hashlib

    from xexp.compiler.graph.node import KIND_VERSIONS, canonical_json, keyed, node_key

    params = {"b": [1, 2.5, None, True], "a": {"path": "/data/ü/x.jsonl", "sha256": "ab" * 32}, "é": "ÿ\"\\\n"}
    inputs = {"train0.de": "f" * 64, "base": "0" * 64, "dev\u00e9": "1" * 64}
    payload = {"kind": "train", "version": KIND_VERSIONS["train"], "params": keyed(params), "inputs": inputs}
    expected = hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()
    assert node_key("train", params, inputs) == expected
    assert node_key("train", params, inputs, params_json=canonical_json(keyed(params))) == expected
    assert node_key("train", params, {}) != expected
