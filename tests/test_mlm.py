"""masked_lm: plain-text data, seeded masks and BERT's 80/10/10 rule, the MLM head kept (its
decoder tied to the embeddings never re-initialised), the check that keeps it an intermediate
task, and an end-to-end run with MLM as an intermediate variant on a tiny model."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from xexp.compiler import SpecError, compile_text
from xexp.compiler.graph.contracts import TrainSettings
from xexp.runtime.data.raw import DataError
from xexp.runtime.data.sources import load_rows
from xexp.runtime.learning.tasks import get_task
from xexp.runtime.learning.tasks.mlm import IGNORE, MaskedLm

import needs

XNLI_EN = needs.DATA / "xnli" / "dev.en.jsonl"


def load(path: Path, language: str | None = None, **source) -> pa.Table:
    return load_rows({"source": "local", "path": str(path), **source}, task_type="masked_lm",
                     split=None, rows=None, language=language)


def english_lines(count: int) -> list[str]:
    """Distinct real English sentences (XNLI premises) to write into a temporary text file."""
    needs.data("xnli", "dev.en.jsonl")
    seen: dict[str, None] = {}
    with XNLI_EN.open(encoding="utf-8") as handle:
        for line in handle:
            seen.setdefault(json.loads(line)["premise"].strip(), None)
            if len(seen) == count:
                break
    return list(seen)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict:
    from xexp.runtime.learning.models.sources import materialize_model

    out = tmp_path_factory.mktemp("tiny") / "model"
    return materialize_model({"source": "tiny", "layers": 1, "hidden": 16, "heads": 2, "intermediate": 32}, out)


@pytest.fixture(scope="module")
def tokenizer(tiny):
    from xexp.runtime.learning.models.sources import load_tokenizer

    return load_tokenizer(tiny)


# --- data ---------------------------------------------------------------------------------------


def test_text_format_is_one_example_per_non_empty_line(tmp_path):
    path = tmp_path / "de.txt"
    path.write_bytes("\ufeffErste Zeile.\r\n\n   \nZweite Zeile mit Ümlaut.\nDritte\n".encode("utf-8"))
    table = load(path, language="de")  # .txt -> text, without format=
    assert table.column_names == ["id", "text", "language"]
    assert table.column("text").to_pylist() == ["Erste Zeile.", "Zweite Zeile mit Ümlaut.", "Dritte"]
    assert table.column("id").to_pylist() == ["0", "1", "2"]
    assert table.column("language").to_pylist() == ["de"] * 3
    other = tmp_path / "corpus.data"
    other.write_text("one\ntwo\n")
    assert load(other, format="text").column("text").to_pylist() == ["one", "two"]


def test_text_column_of_jsonl_with_its_own_language_and_a_mapping(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_text('{"text": "Hello there.", "lang": "en"}\n{"text": "Hallo.", "lang": "de"}\n')
    table = load(path, language="fr")
    assert table.column("language").to_pylist() == ["en", "de"]  # the row's own column wins
    mapped = tmp_path / "body.jsonl"
    mapped.write_text('{"body": "Some text."}\n')
    assert load(mapped, columns={"text": "body"}).column("text").to_pylist() == ["Some text."]
    with pytest.raises(DataError, match="field 'text'"):
        load(mapped)


def test_bad_text_line_names_file_and_line(tmp_path):
    path = tmp_path / "en.txt"
    path.write_bytes(b"good line\n\nbad \xff byte\n")
    with pytest.raises(DataError, match=r"en\.txt, line 3: not valid UTF-8"):
        load(path)


def test_check_previews_a_text_file(tmp_path):
    from xexp.preflight import compile_checked

    (tmp_path / "en.txt").write_bytes(b"\xff\xfe broken\n")
    text = spec_text(tmp_path / "{lang}.txt", tmp_path)
    with pytest.raises(SpecError, match=r"en\.txt, line 1: not valid UTF-8"):
        compile_checked(text, "s.xexp", {})


# --- masking ------------------------------------------------------------------------------------


def featurize(tokenizer, lines: list[str], seed: int, ids: list[str] | None = None, mask_prob: float = 0.15):
    table = pa.table({"id": ids or [str(i) for i in range(len(lines))], "text": lines,
                      "language": ["en"] * len(lines)})
    return MaskedLm(mask_prob).featurize(table, tokenizer, 128, training=True, seed=seed)


def test_masks_are_a_function_of_seed_and_example_only(tokenizer):
    lines = english_lines(40)
    first = featurize(tokenizer, lines, seed=3)
    again = featurize(tokenizer, lines, seed=3)
    assert [i["input_ids"] for i in first.items] == [i["input_ids"] for i in again.items]
    assert [i["labels"] for i in first.items] == [i["labels"] for i in again.items]
    other = featurize(tokenizer, lines, seed=4)
    assert [i["labels"] for i in first.items] != [i["labels"] for i in other.items]
    # the same example gets the same masks in any table (reordered, subset): nothing depends
    # on batching or on the other rows, so a resumed training sees the masks it saw before
    picked = [7, 2, 30]
    subset = featurize(tokenizer, [lines[k] for k in picked], seed=3, ids=[str(k) for k in picked])
    assert [i["labels"] for i in subset.items] == [first.items[k]["labels"] for k in picked]
    assert all(any(l != IGNORE for l in i["labels"]) for i in first.items)  # every example counts


def test_bert_80_10_10_split_on_a_few_thousand_tokens(tokenizer):
    lines = english_lines(60)
    features = featurize(tokenizer, lines, seed=11)
    encoded = tokenizer(lines, truncation=True, max_length=128)["input_ids"]
    special = set(tokenizer.all_special_ids)
    chosen = masked = replaced = kept = total = 0
    for item, original in zip(features.items, encoded):
        total += sum(t not in special for t in original)
        for token, label, before in zip(item["input_ids"], item["labels"], original):
            if label == IGNORE:
                assert token == before  # only chosen positions change
                continue
            assert before not in special and label == before
            chosen += 1
            if token == tokenizer.mask_token_id:
                masked += 1
            elif token == before:
                kept += 1
            else:
                assert token not in special
                replaced += 1
    assert total > 4000
    # binomial tolerances of about 4 standard deviations
    assert abs(chosen / total - 0.15) < 4 * np.sqrt(0.15 * 0.85 / total)
    assert abs(masked / chosen - 0.8) < 4 * np.sqrt(0.8 * 0.2 / chosen)
    assert abs(replaced / chosen - 0.1) < 4 * np.sqrt(0.1 * 0.9 / chosen) + 0.01  # a random token may equal the original
    assert abs(kept / chosen - 0.1) < 4 * np.sqrt(0.1 * 0.9 / chosen) + 0.01


def test_mask_prob_is_the_spec_parameter(tokenizer):
    lines = english_lines(40)
    task = get_task("masked_lm").configured({"mask_prob": 0.4})
    table = pa.table({"id": [str(i) for i in range(len(lines))], "text": lines, "language": ["en"] * len(lines)})
    labels = [l for item in task.featurize(table, tokenizer, 128, training=True, seed=0).items for l in item["labels"]]
    share = np.mean([l != IGNORE for l in labels])
    assert 0.3 < share < 0.45  # 0.4 of the non-special tokens, the two specials per line never


# --- model and head -----------------------------------------------------------------------------


def test_build_model_keeps_the_word_embeddings_and_ties_the_decoder(tiny):
    """The tiny checkpoint has no MLM head: the transform is new, the decoder *is* the base's
    word embeddings (re-initialising every head module would overwrite them with noise)."""
    import torch
    from transformers import AutoModel

    from xexp.runtime.learning.training_setup import build_model

    base = AutoModel.from_pretrained(tiny["path_or_id"])
    model = build_model(tiny, get_task("masked_lm"), seed=5)
    assert type(model).__name__ == "BertForMaskedLM"
    embeddings = model.get_input_embeddings().weight
    assert torch.equal(embeddings, base.get_input_embeddings().weight)
    assert model.get_output_embeddings().weight.data_ptr() == embeddings.data_ptr()
    head = model.cls.predictions
    assert torch.equal(head.transform.LayerNorm.weight, torch.ones_like(head.transform.LayerNorm.weight))
    assert torch.count_nonzero(head.bias) == 0
    # the fresh transform is a function of the seed
    again = build_model(tiny, get_task("masked_lm"), seed=5)
    other = build_model(tiny, get_task("masked_lm"), seed=6)
    assert torch.equal(again.cls.predictions.transform.dense.weight, head.transform.dense.weight)
    assert not torch.equal(other.cls.predictions.transform.dense.weight, head.transform.dense.weight)


def test_build_model_keeps_a_pretrained_mlm_head(tiny, tmp_path):
    import torch
    from transformers import AutoModelForMaskedLM

    from xexp.runtime.learning.training_setup import build_model

    pretrained = AutoModelForMaskedLM.from_pretrained(tiny["path_or_id"])
    with torch.no_grad():
        pretrained.cls.predictions.transform.dense.weight.uniform_(-1, 1)
        pretrained.cls.predictions.bias.uniform_(-1, 1)
    pretrained.save_pretrained(tmp_path / "with_head")
    manifest = {**tiny, "path_or_id": str(tmp_path / "with_head")}
    model = build_model(manifest, get_task("masked_lm"), seed=0)
    for name, tensor in pretrained.state_dict().items():
        assert torch.equal(model.state_dict()[name], tensor), name


def test_mlm_training_resumes_to_the_uninterrupted_weights(tiny, tmp_path):
    """A short MLM training scores masked-token accuracy on dev; one interrupted after a
    checkpoint and run again resumes there and ends with the very weights of an uninterrupted
    one (the masks are the same on both runs); the checkpoint loads as a classifier's encoder."""
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForMaskedLM, AutoModelForSequenceClassification

    from xexp.runtime.learning.models.sources import load_model
    from xexp.runtime.learning.training import train

    lines = english_lines(48)
    table = pa.table({"id": [str(i) for i in range(len(lines))], "text": lines, "language": ["en"] * len(lines)})

    class Interrupted(Exception):
        pass

    def interrupt(event: dict) -> None:
        if event["step"] == 5:
            raise Interrupted

    def run(name: str, progress=None) -> dict:
        return train(base=tiny, task_type="masked_lm", train_table=table, dev_table=table.slice(0, 8),
                     hparams=TrainSettings(lr=1e-3, batch=8, epochs=2, max_len=64, checkpoint_every=2),
                     log_every=1, seed=2, out_dir=tmp_path / name, scratch_dir=tmp_path / f"scratch_{name}",
                     progress=progress, task_params={"mask_prob": 0.15})

    whole = run("whole")
    with pytest.raises(Interrupted):
        run("resumed", interrupt)
    resumed = run("resumed")
    assert whole.resumed_from_step is None and resumed.resumed_from_step == 4
    curve = json.loads((tmp_path / "whole" / "curve.json").read_text())
    assert curve["metric"] == "masked_accuracy" and len(curve["dev"]) == 2
    assert 0 <= whole.dev_metric <= 1 and resumed.dev_metric == whole.dev_metric
    weights = [load_file(tmp_path / name / "checkpoint" / "model.safetensors") for name in ("whole", "resumed")]
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    # the decoder tied to the embeddings is written once, and tied again on loading
    assert "cls.predictions.decoder.weight" not in weights[0]
    mlm = load_model({**tiny, "path_or_id": str(tmp_path / "whole" / "checkpoint")}, AutoModelForMaskedLM)
    assert mlm.get_output_embeddings().weight.data_ptr() == mlm.get_input_embeddings().weight.data_ptr()
    assert torch.equal(mlm.get_input_embeddings().weight, weights[0]["bert.embeddings.word_embeddings.weight"])
    assert torch.equal(mlm.cls.predictions.transform.dense.weight, weights[0]["cls.predictions.transform.dense.weight"])
    # the target task reads the MLM-trained encoder (embeddings moved by training), not the base's
    classifier = load_model({**tiny, "path_or_id": str(tmp_path / "whole" / "checkpoint")},
                            AutoModelForSequenceClassification, num_labels=3)
    trained = classifier.get_input_embeddings().weight
    assert torch.equal(trained, weights[0]["bert.embeddings.word_embeddings.weight"])
    base = load_model(tiny, AutoModelForSequenceClassification, num_labels=3)
    assert not torch.equal(base.get_input_embeddings().weight, trained)


def test_dev_metric_is_masked_token_accuracy_and_loss_only_masked_positions(tiny, tokenizer):
    """Decoding yields one row per chosen position; its accuracy and the loss agree with a
    direct computation on the padded batch (the loss ignores every unchosen position)."""
    import torch
    import torch.nn.functional as F

    from xexp.runtime.learning.tasks.base import model_inputs
    from xexp.runtime.learning.tasks.runner import forward_features
    from xexp.runtime.learning.training_setup import build_model

    lines = english_lines(20)
    table = pa.table({"id": [str(i) for i in range(len(lines))], "text": lines, "language": ["en"] * len(lines)})
    task = get_task("masked_lm")
    model = build_model(tiny, task, seed=1).eval()
    features = task.featurize(table, tokenizer, 64, training=False, seed=1)
    predictions = task.decode(table, features, forward_features(model, task, features, batch_size=7, pad_id=0,
                                                                device=torch.device("cpu")), model.config)
    chosen = sum(sum(l != IGNORE for l in item["labels"]) for item in features.items)
    assert predictions.num_rows == chosen and len(set(predictions.column("id").to_pylist())) == chosen

    batch = task.collate(features.items, 0)
    with torch.no_grad():
        outputs = model(**model_inputs(batch, torch.device("cpu")))
    mask = batch["labels"] != IGNORE
    expected = (outputs.logits.argmax(-1)[mask] == batch["labels"][mask]).float().mean().item()
    assert task.metric(predictions) == pytest.approx(expected)
    assert task.loss(outputs, batch).item() == pytest.approx(
        F.cross_entropy(outputs.logits.reshape(-1, outputs.logits.shape[-1]), batch["labels"].reshape(-1),
                        ignore_index=IGNORE).item(), rel=1e-5)
    gold_probs = torch.softmax(outputs.logits[mask], -1).gather(1, batch["labels"][mask][:, None]).squeeze(1)
    assert sorted(p[0] for p in predictions.column("probs").to_pylist()) == pytest.approx(
        sorted(gold_probs.tolist()), rel=1e-4)


# --- check --------------------------------------------------------------------------------------

SPEC = """\
experiment mlm
model t = tiny(layers=1, hidden=16, heads=2, intermediate=32)
task wiki = masked_lm(local("TEXT"), train="train", dev="train[:8]")
task xnli = nli(local("XNLI/dev.{lang}.jsonl"), test="test[:30]")
task mnli = nli(local("XNLI/dev.en.jsonl"), train="train[:60]")
intermediate = [none wiki]
target = xnli trained_on mnli
languages = [en de]
train intermediate { lr=1e-3 batch=8 epochs=1 max_len=64 }
train target { lr=1e-3 batch=8 epochs=1 max_len=64 }
evaluate { batch=32 max_len=64 }
report { bootstrap=100 }
"""


def spec_text(text: Path, xnli: Path) -> str:
    return SPEC.replace("TEXT", str(text)).replace("XNLI", str(xnli))


@pytest.mark.parametrize("target", ["xnli trained_on wiki", "wiki trained_on wiki", "wiki"])
def test_masked_lm_is_never_a_target(target):
    text = spec_text(Path("/nowhere/{lang}.txt"), Path("/nowhere")).replace(
        "target = xnli trained_on mnli", f"target = {target}")
    with pytest.raises(SpecError) as err:
        compile_text(text, "s.xexp")
    rendered = err.value.render()
    assert "task `wiki` is masked_lm, which cannot be a target or `trained_on`" in rendered
    assert "hint: masked_lm is for intermediate training" in rendered and "^^^^" in rendered
    assert rendered.count("cannot be a target") == 1


def test_no_perturbation_declares_masked_lm():
    from xexp.compiler.registry import REGISTRY

    for category in ("perturbation", "attack"):
        for entry in REGISTRY.of(category):
            assert entry.task_types is not None and "masked_lm" not in entry.task_types, entry.name


# --- end to end ---------------------------------------------------------------------------------


def test_mlm_as_an_intermediate_variant_end_to_end(tmp_path, ray_local):
    from xexp.running import run_spec

    text = tmp_path / "en.txt"
    text.write_text("\n".join(english_lines(64)) + "\n", encoding="utf-8")
    spec = tmp_path / "mlm.xexp"
    spec.write_text(spec_text(tmp_path / "{lang}.txt", needs.data("xnli")))
    summary = run_spec(spec, show_progress=False)
    assert summary["failed"] == 0
    store = Path(summary["store"])
    records = {json.loads(p.read_text())["name"]: json.loads(p.read_text()) for p in store.glob("train/*/_complete.json")}
    assert set(records) == {"train:none→xnli/seed1", "train:wiki/seed1", "train:wiki→xnli/seed1"}
    mlm = records["train:wiki/seed1"]["manifest"]
    assert 0 <= mlm["dev_metric"] <= 1
    with (Path(summary["report"]) / "results.csv").open() as f:
        rows = list(csv.DictReader(f))
    variants = {r.get("variant") or r.get("intermediate") for r in rows}
    assert {"none", "wiki"} <= variants, variants


@pytest.mark.slow
def test_packaged_e5_small_gets_a_fresh_mlm_head_over_its_own_embeddings(tmp_path):
    """multilingual-e5-small is an embedding model: its checkpoint has no MLM head. Loaded for
    masked_lm it gets a fresh transform and bias, its decoder is its word embeddings, unchanged."""
    import torch
    from safetensors import safe_open

    from xexp.runtime.learning.models.sources import load_tokenizer, materialize_model
    from xexp.runtime.learning.training_setup import build_model

    manifest = materialize_model({"source": "packaged", "name": "multilingual-e5-small"}, tmp_path / "e5")
    weights = Path(manifest["path_or_id"]) / "model.safetensors"
    with safe_open(str(weights), framework="pt") as handle:
        assert not any("predictions" in name or "lm_head" in name for name in handle.keys())
        name = next(n for n in handle.keys() if n.endswith("word_embeddings.weight"))
        stored = handle.get_tensor(name)
    model = build_model(manifest, get_task("masked_lm"), seed=0)
    assert torch.equal(model.get_input_embeddings().weight, stored)
    assert model.get_output_embeddings().weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    tokenizer = load_tokenizer(manifest)
    table = pa.table({"id": ["0"], "text": ["Der schnelle braune Fuchs springt über den faulen Hund."], "language": ["de"]})
    item = get_task("masked_lm").featurize(table, tokenizer, 64, training=True, seed=0).items[0]
    assert tokenizer.mask_token_id is not None and any(l != IGNORE for l in item["labels"])


def test_an_xlm_r_style_encoder_without_a_head_keeps_its_embeddings(tmp_path):
    """The same for XLM-R's architecture (its head is `lm_head`, its encoder `roberta`)."""
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    from xexp.runtime.learning.training_setup import build_model

    config = XLMRobertaConfig(vocab_size=300, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                              intermediate_size=32, max_position_embeddings=64)
    torch.manual_seed(0)
    XLMRobertaModel(config).save_pretrained(tmp_path / "xlmr")
    manifest = {"path_or_id": str(tmp_path / "xlmr"), "revision": None, "trust_remote_code": False}
    stored = XLMRobertaModel.from_pretrained(tmp_path / "xlmr").get_input_embeddings().weight
    model = build_model(manifest, get_task("masked_lm"), seed=0)
    assert type(model).__name__ == "XLMRobertaForMaskedLM"
    assert torch.equal(model.get_input_embeddings().weight, stored)
    assert model.get_output_embeddings().weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    assert torch.count_nonzero(model.lm_head.bias) == 0
    assert torch.equal(model.lm_head.layer_norm.weight, torch.ones_like(model.lm_head.layer_norm.weight))
