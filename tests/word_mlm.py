"""A tiny word-level masked LM trained in seconds on real sentences: the `mlm=` of word_attack in
tests/test_word_attack.py and bench/word_attack.py (no multilingual MLM is on disk here, and the
hub cannot be reached)."""

from __future__ import annotations

import random
from pathlib import Path


def train_word_mlm(sentences: list[str], out: Path, epochs: int = 3) -> Path:
    """A one-layer word-level BERT MLM, saved as transformers weights plus a tokenizer.json."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertForMaskedLM, PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    core = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    core.normalizer = normalizers.Lowercase()
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    core.train_from_iterator(sentences, trainers.WordLevelTrainer(special_tokens=specials, min_frequency=2))
    core.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[(t, core.token_to_id(t)) for t in ("[CLS]", "[SEP]")])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, pad_token="[PAD]", unk_token="[UNK]",
                                        cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    torch.manual_seed(0)
    model = BertForMaskedLM(BertConfig(vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=1,
                                       num_attention_heads=2, intermediate_size=128, max_position_embeddings=64))
    encoded = [tokenizer(s, truncation=True, max_length=48)["input_ids"] for s in sentences]
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    rng = random.Random(0)
    model.train()
    for _ in range(epochs):
        order = list(range(len(encoded)))
        rng.shuffle(order)
        for start in range(0, len(order), 32):
            batch = tokenizer.pad({"input_ids": [encoded[i] for i in order[start:start + 32]]}, return_tensors="pt")
            ids = batch["input_ids"].clone()
            chosen = (torch.rand(ids.shape) < 0.2) & (ids > 4)
            labels = torch.where(chosen, ids, torch.full_like(ids, -100))
            ids[chosen] = tokenizer.mask_token_id
            loss = model(input_ids=ids, attention_mask=batch["attention_mask"], labels=labels).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
