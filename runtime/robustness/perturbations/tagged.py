"""Perturbing a tagged (token_classification) table so that its tags stay aligned.

A tagged example is a list of words with one tag each, so it is not perturbed as text: each
word is perturbed on its own and must stay one word, which only perturbations declared
`keeps_tokens` promise (compiler/registry/perturbations.py; the compiler refuses the others on
a tagging target). The per-word `changed_tokens` flags let the report pair each word's
prediction with whether that word changed (runtime/data/formats.py, `token_changed_flags`).
"""

from __future__ import annotations

import hashlib

from xexp.runtime.robustness.perturbations import get
from xexp.runtime.robustness.perturbations.base import registry_entry


def perturb_tagged_table(name: str, params: dict, table, lang: str, seed: int):
    """A perturbed copy of a tagged table: each token is perturbed on its own, so the token count
    and the tag sequence stay as they are. Adds `changed` (the sentence changed) and
    `changed_tokens` (per token)."""
    import pyarrow as pa

    if not registry_entry(name).keeps_tokens:
        raise ValueError(f"perturbation {name!r} adds, removes or reorders tokens: the tags of a "
                         "token_classification table would no longer line up")
    perturbation = get(name, params)
    sentences, flags, changed = [], [], []
    for tokens in table.column("tokens").to_pylist():
        context = "\x1f".join(tokens)
        new = [perturbation(token, lang, _token_seed(seed, context, k)) for k, token in enumerate(tokens)]
        for k, token in enumerate(new):
            if not token.strip() or any(ch.isspace() for ch in token):
                raise ValueError(f"{name} turned token {tokens[k]!r} into {token!r}: not one token")
        sentences.append(new)
        flags.append([a != b for a, b in zip(tokens, new)])
        changed.append(any(flags[-1]))
    out = table.set_column(table.column_names.index("tokens"), "tokens", pa.array(sentences, pa.list_(pa.string())))
    for column, values, kind in (("changed", changed, pa.bool_()), ("changed_tokens", flags, pa.list_(pa.bool_()))):
        if column in out.column_names:
            out = out.drop_columns([column])
        out = out.append_column(column, pa.array(values, kind))
    return out


def _token_seed(seed: int, context: str, position: int) -> int:
    """A seed per token from the sentence and position, so a frequent word is not perturbed the
    same way (or spared) in every sentence, and the result depends on nothing else."""
    digest = hashlib.sha256(f"{seed}|{context}|{position}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")
