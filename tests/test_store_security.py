"""The store's threat model (docs/architecture.md, "What a store writer can and cannot do"),
one test per line: whoever can write the store cannot decide what code xexp runs.

The model nodes here are real tiny encoders built by the `model` op; the attack is the one of
issue 22: a writer flips `trust_remote_code` in the model's completion record, adds an
`auto_map` to its config.json, drops a module beside it and recomputes every sha256.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from xexp.compiler import compile_text
from xexp.runtime.engine.worker import InputArtifactInvalid, _verified_inputs
from xexp.runtime.engine.provenance import authenticity_problem, model_origin
from xexp.runtime.engine.store import Store, write_json_atomic
from xexp.runtime.manifests.train import TrainManifest

SPEC = (Path(__file__).resolve().parent / "specs" / "concurrent_tiny.xexp").read_text()

#: Imported by transformers only if remote code were trusted: it leaves a file behind.
EVIL_MODULE = '''
import pathlib
pathlib.Path({marker!r}).write_text("ran")
from transformers import BertConfig, BertForSequenceClassification
class EvilConfig(BertConfig):
    model_type = "bert"
class EvilModel(BertForSequenceClassification):
    config_class = EvilConfig
'''


def plant(store: Store, kind: str, key: str, marker: Path, *, flag: bool = True) -> None:
    """The attack: trust flag, auto_map and module, the record's sha256s recomputed."""
    folder = store.artifact_dir(kind, key) / ("model" if kind == "model" else "checkpoint")
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "evil.EvilConfig",
                          "AutoModelForSequenceClassification": "evil.EvilModel"}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "evil.py").write_text(EVIL_MODULE.format(marker=str(marker)))
    record_path = store.record_path(kind, key)
    record = json.loads(record_path.read_text())
    if flag:
        record["manifest"]["trust_remote_code"] = True
    record["files"] = store.list_artifacts(kind, key)
    write_json_atomic(record_path, record)
    assert store.verify(kind, key, hashes=True) == []  # the sha256s protect nothing here


def model_node(graph):
    return next(n for n in graph.nodes if n.kind == "model")


def build_model(store: Store, node) -> None:
    from xexp.runtime.engine.worker import execute_node

    summary = execute_node(node.model_dump(), store.url, "r1", "xexp.runtime.ops.model_op:run", {})
    assert summary["outcome"] == "executed"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A store holding the spec's real tiny model node."""
    _, graph = compile_text(SPEC, "tiny.xexp", {})
    store = Store(tmp_path_factory.mktemp("store"))
    build_model(store, model_node(graph))
    return store, graph


def consumer_of(graph, node):
    return next(n for n in graph.nodes if node.key in n.inputs.values())


def test_an_untouched_model_loads_from_its_own_folder_without_remote_code(built):
    store, graph = built
    node = model_node(graph)
    record = store.read_record("model", node.key)
    assert authenticity_problem(record, "model", node.key) is None
    origin = model_origin(store, "model", node.key, record)
    assert origin.trust_remote_code is False
    assert Path(origin.path_or_id) == store.artifact_dir("model", node.key) / "model"


def test_an_input_carries_the_params_its_key_vouches_for(built):
    """What an op may decide by (perturb: the task family of its `load` input) is the input's
    params as its record holds them, once they hash to its key; never its manifest."""
    store, graph = built
    node = model_node(graph)
    consumer = consumer_of(graph, node).model_copy(update={"inputs": {"base": node.key}})
    assert _verified_inputs(store, consumer, {node.key: "model"})["base"].params == node.params


def copy_store(built, tmp_path) -> tuple[Store, object]:
    store, graph = built
    shutil.copytree(store.root, tmp_path / "store")
    return Store(tmp_path / "store"), graph


@pytest.mark.parametrize("change, says", [
    # the writer flips the flag of the manifest only
    (lambda r: r["manifest"].update(trust_remote_code=True), "the spec says False"),
    # … or the spec's own params in the record too: they no longer hash to the key
    (lambda r: r["params"]["source"].update(source="hf", id="x", trust_remote_code=True), "do not hash to its key"),
    # … or points the model somewhere else, outside the node's folder
    (lambda r: r["manifest"].update(model_dir="../../elsewhere"), "not 'model'"),
    # … or writes a manifest of another shape: a flag that is not a boolean does not read
    (lambda r: r["manifest"].update(trust_remote_code="yes"), "does not read as a ModelManifest"),
    # … or claims to be another node
    (lambda r: r.update(key="0" * 64), "not its folder"),
])
def test_a_writer_cannot_change_where_a_model_comes_from_or_its_trust(built, tmp_path, change, says):
    store, graph = copy_store(built, tmp_path)
    node = model_node(graph)
    path = store.record_path("model", node.key)
    record = json.loads(path.read_text())
    change(record)
    write_json_atomic(path, record)
    consumer = consumer_of(graph, node)
    with pytest.raises(InputArtifactInvalid) as caught:
        _verified_inputs(store, consumer, {node.key: "model"} | {k: "load" for k in consumer.inputs.values()
                                                                  if k != node.key})
    assert says in " ".join(caught.value.problems[node.key])


@pytest.mark.parametrize("what", ["module", "auto_map"])
def test_code_planted_in_an_untrusted_model_folder_is_refused(built, tmp_path, what):
    store, graph = copy_store(built, tmp_path)
    node = model_node(graph)
    folder = store.artifact_dir("model", node.key) / "model"
    if what == "module":
        (folder / "modeling_x.py").write_text("raise SystemExit('ran')\n")
    else:
        config = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps({**config, "auto_map": {"AutoModel": "m.M"}}))
    record = json.loads(store.record_path("model", node.key).read_text())
    record["files"] = store.list_artifacts("model", node.key)
    write_json_atomic(store.record_path("model", node.key), record)
    found = model_origin(store, "model", node.key, store.read_record("model", node.key))
    assert isinstance(found, str) and "the spec does not trust" in found


def test_trust_comes_from_the_spec_through_a_training_chain(built, tmp_path):
    """A training's model inherits the spec's trust of its root model node, not its manifest's."""
    store, graph = copy_store(built, tmp_path)
    model = model_node(graph)
    train = next(n for n in graph.nodes if n.kind == "train")
    attempt = store.begin_attempt("train", train.key)
    shutil.copytree(store.artifact_dir("model", model.key) / "model",
                    store.artifact_dir("train", train.key) / "checkpoint")
    inputs = {role: {"key": key, "kind": "model" if key == model.key else "load"}
              for role, key in train.inputs.items()}
    manifest = TrainManifest(checkpoint="checkpoint", dev_metric=None, best_step=0, steps=0, train_examples=0,
                             seconds=0.0, examples_per_second=0.0, resumed_from_step=None, stopped_early=False,
                             trust_remote_code=True)
    store.write_record(train, manifest=manifest.to_json(),
                       inputs=inputs, started=0, ended=1, attempt=attempt, run_id="r", ray_node_id=None)
    found = model_origin(store, "train", train.key, store.read_record("train", train.key))
    assert isinstance(found, str) and "trust_remote_code=True but the spec says False" in found
    record = json.loads(store.record_path("train", train.key).read_text())
    record["manifest"]["trust_remote_code"] = False
    write_json_atomic(store.record_path("train", train.key), record)
    origin = model_origin(store, "train", train.key, store.read_record("train", train.key))
    assert origin.trust_remote_code is False
    assert Path(origin.path_or_id) == store.artifact_dir("train", train.key) / "checkpoint"


def test_a_spec_that_trusts_remote_code_gets_it(tmp_path):
    """The one way to trust code: the spec says so for that model (a local hf folder here)."""
    folder = tmp_path / "remote"
    folder.mkdir()
    text = SPEC.replace('tiny(layers=1, hidden=16, heads=2, intermediate=32, seed=0)',
                        f'hf("{folder}", trust_remote_code=true)')
    _, graph = compile_text(text, "trusting.xexp", {})
    store = Store(tmp_path / "store")
    node = model_node(graph)
    build_model(store, node)
    origin = model_origin(store, "model", node.key, store.read_record("model", node.key))
    assert origin.trust_remote_code is True and origin.path_or_id == str(folder.resolve())


def test_a_model_whose_code_the_spec_does_not_trust_fails_its_consumer_as_a_model_error(built, tmp_path):
    """A folder the spec names asks for its own code, which the spec does not trust: the training
    refuses to load it (no prompt, no code run) in one line, recorded as the model's problem."""
    from xexp.errors import Category
    from xexp.runtime.engine.worker import NodeFailed, execute_node
    from xexp.runtime.engine.scheduler import DEFAULT_WORK

    store, graph = built
    folder = tmp_path / "remote"
    shutil.copytree(store.artifact_dir("model", model_node(graph).key) / "model", folder)
    marker = tmp_path / "code-ran"
    config = json.loads((folder / "config.json").read_text())
    config.update(model_type="evil", auto_map={"AutoConfig": "evil.EvilConfig",
                                               "AutoModelForSequenceClassification": "evil.EvilModel"})
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "evil.py").write_text(EVIL_MODULE.format(marker=str(marker)))
    text = SPEC.replace('tiny(layers=1, hidden=16, heads=2, intermediate=32, seed=0)', f'hf("{folder}")')
    _, graph = compile_text(text, "untrusted.xexp", {})
    store = Store(tmp_path / "store")
    kinds = {n.key: n.kind for n in graph.nodes}
    train = next(n for n in graph.nodes if n.kind == "train")
    for key in train.inputs.values():
        node = graph.by_key()[key]
        execute_node(node.model_dump(mode="json"), store.url, "r1", DEFAULT_WORK, {})
    with pytest.raises(NodeFailed) as failed:
        execute_node(train.model_dump(mode="json"), store.url, "r1", DEFAULT_WORK,
                     {k: kinds[k] for k in train.inputs.values()})
    failure = store.read_failure("train", train.key)
    assert failed.value.category == failure.category == Category.MODEL and failure.error_type == "ModelError"
    assert failure.message.splitlines() == [failure.message] and "trust_remote_code=True" in failure.message
    assert not marker.exists()


@pytest.mark.slow
def test_the_planted_manifest_attack_runs_no_code_and_the_run_says_the_model_was_altered(ray_local, tmp_path):
    from xexp.running import run_spec

    spec = tmp_path / "tiny.xexp"
    spec.write_text(SPEC)
    first = run_spec(spec, show_progress=False)
    assert first["failed"] == 0
    store = Store(first["store"])
    _, graph = compile_text(SPEC, str(spec), {})
    node = model_node(graph)
    marker = tmp_path / "code-ran"
    plant(store, "model", node.key, marker)

    second = run_spec(spec, force=("train",), show_progress=False)
    assert not marker.exists()
    assert second["failed"] == 0
    events = [json.loads(line) for line in
              (store.runs_dir() / second["run_id"] / "events.jsonl").read_text().splitlines()]
    altered = [e for e in events if e.get("event") == "invalidated" and e.get("key") == node.key]
    assert altered and "the model node was altered" in " ".join(altered[0]["problems"])
    # the model node was built again, clean
    config = json.loads((store.artifact_dir("model", node.key) / "model" / "config.json").read_text())
    assert "auto_map" not in config and store.read_record("model", node.key).manifest.get("trust_remote_code") is False


def test_a_pickle_planted_beside_stored_weights_is_never_loaded(built, tmp_path):
    """A writer drops a pickled `pytorch_model.bin` beside the safetensors: it is not read."""
    import pickle

    from transformers import AutoModelForSequenceClassification

    from xexp.runtime.learning.models.sources import load_model

    store, graph = copy_store(built, tmp_path)
    node = model_node(graph)
    marker = tmp_path / "unpickled"

    class Planted:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    folder = store.artifact_dir("model", node.key) / "model"
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(Planted()))
    origin = model_origin(store, "model", node.key, store.read_record("model", node.key))
    load_model({"path_or_id": origin.path_or_id, "trust_remote_code": origin.trust_remote_code},
               AutoModelForSequenceClassification, num_labels=3)
    assert not marker.exists()
