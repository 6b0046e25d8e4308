"""The tiny byte-level BERT: loads through every Auto class, covers every script, deterministic."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch
from transformers import (
    AutoModel,
    AutoModelForMultipleChoice,
    AutoModelForQuestionAnswering,
    AutoModelForSequenceClassification,
    AutoTokenizer,
)

from xexp.errors import ModelError
from xexp.runtime.learning.models.tiny import build_tiny

PAIRS = {
    "en": ("The cat sat on the mat.", "A cat is sitting."),
    "hi": ("बिल्ली चटाई पर बैठी थी।", "एक बिल्ली बैठी है।"),
    "zh": ("猫坐在垫子上。", "一只猫坐着。"),
    "ar": ("جلست القطة على السجادة.", "القطة جالسة."),
}


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    return build_tiny(tmp_path_factory.mktemp("tiny") / "model", seed=0)


@pytest.fixture(scope="module")
def tokenizer(tiny_dir):
    return AutoTokenizer.from_pretrained(tiny_dir)


def _digest(path: Path) -> str:
    return hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest()


def test_directory_holds_weights_config_and_tokenizer(tiny_dir):
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        assert (tiny_dir / name).is_file(), name


def test_pairs_are_cls_a_sep_b_sep_with_segment_ids(tokenizer):
    a, b = PAIRS["en"]
    enc = tokenizer(a, b)
    ids, types = enc["input_ids"], enc["token_type_ids"]
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    len_a, len_b = len(a.encode("utf-8")), len(b.encode("utf-8"))
    assert len(ids) == len_a + len_b + 3
    assert ids[0] == cls and ids[len_a + 1] == sep and ids[-1] == sep
    assert types == [0] * (len_a + 2) + [1] * (len_b + 1)


@pytest.mark.parametrize("lang", sorted(PAIRS))
def test_offsets_point_at_the_original_characters(tokenizer, lang):
    """Every byte token maps back to the whole character it is part of, in both segments."""
    a, b = PAIRS[lang]
    enc = tokenizer(a, b, return_offsets_mapping=True)
    assert tokenizer.unk_token_id not in enc["input_ids"]
    rebuilt = {0: [], 1: []}
    for (start, end), segment, special in zip(
        enc["offset_mapping"], enc["token_type_ids"],
        tokenizer.get_special_tokens_mask(enc["input_ids"], already_has_special_tokens=True),
    ):
        if special:
            assert (start, end) == (0, 0)
            continue
        text = a if segment == 0 else b
        char = text[start:end]
        assert end - start == 1, (lang, start, end)
        # consecutive byte tokens of one character share its offsets: collapse them
        if not rebuilt[segment] or rebuilt[segment][-1][0] != start:
            rebuilt[segment].append((start, char))
    assert "".join(c for _, c in rebuilt[0]) == a
    assert "".join(c for _, c in rebuilt[1]) == b


def test_round_trip_decode_in_every_script(tokenizer):
    for a, b in PAIRS.values():
        for text in (a, b):
            ids = tokenizer(text)["input_ids"]
            assert tokenizer.decode(ids, skip_special_tokens=True) == text


def test_truncation_and_padding(tokenizer):
    firsts = [a for a, _ in PAIRS.values()]
    seconds = [b for _, b in PAIRS.values()]
    batch = tokenizer(firsts, seconds, truncation="longest_first", max_length=24,
                      padding="max_length", return_tensors="pt")
    assert batch["input_ids"].shape == (4, 24)
    lengths = batch["attention_mask"].sum(dim=1).tolist()
    assert max(lengths) == 24
    assert (batch["input_ids"][batch["attention_mask"] == 0] == tokenizer.pad_token_id).all()


def test_forward_pass_through_every_auto_class(tiny_dir, tokenizer):
    firsts = [a for a, _ in PAIRS.values()]
    seconds = [b for _, b in PAIRS.values()]
    batch = tokenizer(firsts, seconds, padding=True, truncation=True, max_length=64,
                      return_tensors="pt")
    with torch.no_grad():
        hidden = AutoModel.from_pretrained(tiny_dir).eval()(**batch).last_hidden_state
        assert hidden.shape == (4, batch["input_ids"].shape[1], 64)
        assert torch.isfinite(hidden).all()
        logits = AutoModelForSequenceClassification.from_pretrained(
            tiny_dir, num_labels=3).eval()(**batch).logits
        assert logits.shape == (4, 3)
        qa = AutoModelForQuestionAnswering.from_pretrained(tiny_dir).eval()(**batch)
        assert qa.start_logits.shape == qa.end_logits.shape == batch["input_ids"].shape
        choices = {k: v.unsqueeze(0) for k, v in batch.items()}  # 1 example, 4 endings
        mc = AutoModelForMultipleChoice.from_pretrained(tiny_dir).eval()(**choices).logits
        assert mc.shape == (1, 4)


def test_same_seed_same_weights_other_seed_other_weights(tiny_dir, tmp_path):
    torch.manual_seed(12345)
    before = torch.rand(1)
    torch.manual_seed(12345)
    again = build_tiny(tmp_path / "again", seed=0)
    assert torch.rand(1) == before, "build_tiny must not touch the global torch RNG"
    other = build_tiny(tmp_path / "other", seed=1)
    assert _digest(again) == _digest(tiny_dir)
    assert _digest(other) != _digest(tiny_dir)


def test_bad_shape_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="divisible by heads"):
        build_tiny(tmp_path / "bad", hidden=30, heads=4)
    with pytest.raises(ValueError, match="layers"):
        build_tiny(tmp_path / "bad", layers=0)


# --- model sources (the `model` node) on real tiny directories -----------------------------

from xexp.runtime.learning.models.sources import load_model, load_tokenizer, materialize_model  # noqa: E402

REMOTE_CODE = '''
from transformers import BertConfig, BertModel


class RemoteBertConfig(BertConfig):
    model_type = "remote_bert"


class RemoteBertModel(BertModel):
    config_class = RemoteBertConfig
'''


def test_tiny_source_builds_into_out_dir_and_loads(tmp_path):
    manifest = materialize_model(
        {"source": "tiny", "layers": 1, "hidden": 32, "heads": 2, "intermediate": 64, "seed": 3},
        tmp_path / "node")
    assert manifest["path_or_id"] == str((tmp_path / "node").resolve())
    assert manifest["trust_remote_code"] is False
    tokenizer = load_tokenizer(manifest)
    model = load_model(manifest, AutoModelForSequenceClassification, num_labels=3).eval()
    assert model.config.num_hidden_layers == 1 and model.config.hidden_size == 32
    batch = tokenizer(["नमस्ते"], ["你好"], return_tensors="pt")
    with torch.no_grad():
        assert model(**batch).logits.shape == (1, 3)


def test_hf_source_keeps_hub_ids_and_resolves_local_directories(tiny_dir, tmp_path, monkeypatch):
    hub = materialize_model({"source": "hf", "id": "FacebookAI/xlm-roberta-large",
                             "revision": "abc123", "trust_remote_code": False}, tmp_path / "unused")
    assert hub == {"source": "hf", "path_or_id": "FacebookAI/xlm-roberta-large",
                   "revision": "abc123", "resolved_revision": None, "trust_remote_code": False}
    assert not (tmp_path / "unused").exists(), "an hf source must not write anything"
    monkeypatch.chdir(tiny_dir.parent)
    local = materialize_model({"source": "hf", "id": tiny_dir.name}, tmp_path / "unused")
    assert local["path_or_id"] == str(tiny_dir.resolve())
    assert local["trust_remote_code"] is False and local["revision"] is None
    model = load_model(local, AutoModel)
    assert model.config.hidden_size == 64


def test_remote_code_runs_only_when_the_manifest_trusts_it(tiny_dir, tmp_path):
    import json
    import shutil

    remote = tmp_path / "remote"
    shutil.copytree(tiny_dir, remote)
    (remote / "remote_bert.py").write_text(REMOTE_CODE)
    config = json.loads((remote / "config.json").read_text())
    config["model_type"] = "remote_bert"
    config["auto_map"] = {"AutoConfig": "remote_bert.RemoteBertConfig",
                          "AutoModel": "remote_bert.RemoteBertModel"}
    (remote / "config.json").write_text(json.dumps(config))

    untrusted = materialize_model({"source": "hf", "id": str(remote)}, tmp_path / "unused")
    with pytest.raises(ModelError, match="trust_remote_code") as refused:
        load_model(untrusted, AutoModel)
    assert "\n" not in str(refused.value)  # one line, whatever transformers wrote
    trusted = materialize_model({"source": "hf", "id": str(remote), "trust_remote_code": True},
                                tmp_path / "unused")
    assert type(load_model(trusted, AutoModel)).__name__ == "RemoteBertModel"


def test_load_model_refuses_to_override_the_manifest(tiny_dir):
    manifest = {"source": "hf", "path_or_id": str(tiny_dir), "revision": None,
                "trust_remote_code": False}
    with pytest.raises(ValueError, match="trust_remote_code"):
        load_model(manifest, AutoModel, trust_remote_code=True)


@pytest.mark.parametrize("source, message", [
    ({"source": "ftp", "id": "x"}, "unknown model source 'ftp'"),
    ({"source": "hf"}, "missing id"),
    ({"source": "hf", "id": "x", "trust_remote_code": "yes"}, "trust_remote_code must be"),
    ({"source": "tiny", "layers": 1, "width": 3}, "unknown parameter.*width"),
    ({"source": "packaged", "name": "bert-base"}, "name must be 'multilingual-e5-small'"),
    ({"id": "x"}, "'source' key"),
])
def test_bad_sources_are_clear_errors(source, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        materialize_model(source, tmp_path / "node")
