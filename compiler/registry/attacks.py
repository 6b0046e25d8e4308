"""Declarations of the model-aware attacks a spec may name.

Both attacks share one greedy search (rank words by how much the gold label's probability drops
when the word is removed, then replace the most important words one at a time until the
prediction flips or the budget is spent); they differ in what replaces a word. Implementations
live in `xexp.runtime.robustness.attacks` and run inside evaluation, one batched model call per round.

Default field: the hypothesis. NLI attacks in the literature (TextFooler, BERT-Attack, the
TextAttack NLI recipes' `InputColumnModification`) keep the premise fixed and attack the
hypothesis, so that the example still asks the same question about the same context. "premise"
and "both" remain available; with "both", the hypothesis's words are ranked and tried first and
the premise's only if that fails (`runtime/robustness/attacks/search.field_stages` says why).

Task types: every target with text. The search lowers a score per task type until its own
success rule holds (runtime/robustness/attacks/targets.py): sentence pairs, the gold label's probability
(success: the prediction leaves it); multiple choice, on the context or each ending with the
label kept (success: right becomes wrong); extractive QA, on the question or the context with
the gold answer spans left as they are, so they stay spans of the perturbed context (success:
exact match lost; F1 recorded); token classification, edits inside tokens only, so each word
keeps its tag (success: any word tagged right on the clean sentence is tagged wrong).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator

from xexp.compiler.languages import KNOWN_LANGUAGES
from xexp.compiler.registry.base import FIELDS, Params, register
from xexp.compiler.registry.sources import PAIR_TASKS
from xexp.compiler.registry.perturbations import LexiconRef

_RUNTIME = "xexp.runtime.robustness.attacks"

#: The task types an attack works on: those whose examples have text to attack.
ATTACKED_TASKS: tuple[str, ...] = PAIR_TASKS + ("extractive_qa", "multiple_choice", "token_classification")


#: Attacks cost up to `max_queries` model calls per example, so a study may attack a subset.
EXAMPLES_DOC = "attack only the first `examples` examples (by id) of each eval set; all by default"


@register("char_attack", "attack", task_types=ATTACKED_TASKS, implementation=f"{_RUNTIME}.char:char_attack",
          positional=("max_edits",), default_field="hypothesis", fields=FIELDS)
class CharAttackParams(Params):
    """Greedy character-level attack in the style of DeepWordBug (Gao et al. 2018): words are
    ranked by the drop in the gold label's probability when the word gets one of its edits
    (`score` = "edit", the default: each ranking query is also an attempt, and it measures the
    effect the attack will use), when it is deleted ("delete") or replaced by the unknown token
    ("mask"); then the most important words get one grapheme edit each (`edit` = swap,
    substitute, delete, insert, or "mixed": the best of one of each) until the prediction
    leaves the gold label, `max_edits` words are changed or `max_queries` model queries (the
    clean one included) are spent. Edits never split a grapheme cluster and bring in only
    clusters of the example's own text, so they work in every script. `examples` caps how many
    examples of each eval set are attacked (all by default)."""

    max_edits: int = Field(4, ge=1, le=1000)
    max_queries: int = Field(200, ge=2, le=1_000_000)
    edit: Literal["swap", "substitute", "delete", "insert", "mixed"] = "mixed"
    score: Literal["edit", "delete", "mask"] = "edit"
    examples: int | None = Field(None, ge=1, description=EXAMPLES_DOC)


def _as_tuple(value):
    """A single lexicon or language may be given where a list is expected."""
    if isinstance(value, (dict, str, LexiconRef)):
        return (value,)
    return tuple(value) if isinstance(value, list) else value


@register("codeswitch_attack", "attack", task_types=ATTACKED_TASKS,
          implementation=f"{_RUNTIME}.codeswitch:codeswitch_attack",
          positional=("languages",), default_field="hypothesis", fields=FIELDS)
class CodeSwitchAttackParams(Params):
    """Greedy code-switching attack in the style of PolyGloss (Tan & Joty 2021): the words that
    matter most to the prediction (ranked as in char_attack: `score` = "edit" probes each word
    with its first translation, "delete" or "mask" remove it) are replaced one at a time by a
    dictionary translation into one of `languages` (up to `max_words` words and `max_queries`
    model queries, the clean one included). `lexicon` is one lexicon or a list:
    MUSE files named en-<lang>.txt (`{lang}` in a path is the evaluated language) or the
    synthetic lexicon. English text is translated with en-X directly; text in a language L is
    translated into English by reading en-L backwards, and into X ≠ en by pivoting through
    English (L → en → X), so L and every X named need their lexicon, e.g.
    `lexicon=[muse("muse/en-{lang}.txt"), muse("muse/en-de.txt")], languages=[en de]`."""

    max_words: int = Field(4, ge=1, le=1000)
    max_queries: int = Field(200, ge=2, le=1_000_000)
    lexicon: Annotated[tuple[LexiconRef, ...], BeforeValidator(_as_tuple)] = Field(min_length=1)
    languages: Annotated[tuple[str, ...], BeforeValidator(_as_tuple)] = Field(min_length=1)
    score: Literal["edit", "delete", "mask"] = "edit"
    examples: int | None = Field(None, ge=1, description=EXAMPLES_DOC)

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [code for code in value if code not in KNOWN_LANGUAGES]
        if unknown:
            raise ValueError(f"unknown language code(s) {unknown} in 'languages'")
        return tuple(dict.fromkeys(value))

    def language_problem(self, lang: str) -> str | None:
        """Text in `lang` is switched into every other language of `languages`; each needs an
        English-X lexicon, and non-English text its own (runtime/robustness/attacks/codeswitch.py)."""
        targets = [t for t in self.languages if t != lang]
        if not targets:
            return f"languages={list(self.languages)} leave nothing to switch {lang} text into"
        needed = [t for t in targets if t != "en"] + ([lang] if lang != "en" else [])
        for foreign in needed:
            if not any(ref.holds(foreign, lang, by_name_only=True) for ref in self.lexicon):
                return f"no lexicon holds English-{foreign} pairs (a MUSE file is named en-{foreign}.txt)"
        return None


#: Parameters of an attack that name a declared `model` (not trained: used as a tool).
MODEL_PARAMS = ("mlm", "encoder")


@register("word_attack", "attack", task_types=ATTACKED_TASKS, implementation=f"{_RUNTIME}.word:word_attack",
          positional=("mlm",), default_field="hypothesis", fields=FIELDS, model_params=MODEL_PARAMS)
class WordAttackParams(Params):
    """Greedy word-substitution attack with a masked language model, in the BAE/BERT-Attack
    family (Garg & Ramakrishnan 2020; Li et al. 2020), in every language the MLM knows: words are
    ranked by the gold label's drop when masked (`score` = "mask", or "delete", or "edit": the
    first candidate), then each of the most important words is masked and the MLM's `candidates`
    best whole-word fillers are tried until the prediction leaves the gold label (up to
    `max_words` words and `max_queries` model queries, the clean one included). `mlm` names a
    declared model with a masked-LM head, e.g. `model xlmr_mlm = hf("FacebookAI/xlm-roberta-base")`.
    Candidates keep the meaning and the script: whole words only (no subword pieces), written in
    the original word's script, never for a number or a name-like word (capitalised inside a
    sentence, or all capitals), and, with `encoder` (a declared sentence encoder, e.g. the
    packaged multilingual-e5-small), only those whose text keeps a cosine similarity of at least
    `similarity` with the text before the swap. Models named here are tools of the attack: they
    are not trained as encoders of the study."""

    mlm: str
    encoder: str | None = None
    max_words: int = Field(4, ge=1, le=1000)
    max_queries: int = Field(200, ge=2, le=1_000_000)
    candidates: int = Field(8, ge=1, le=100)
    similarity: float = Field(0.8, ge=-1.0, le=1.0)
    score: Literal["edit", "delete", "mask"] = "mask"
    examples: int | None = Field(None, ge=1, description=EXAMPLES_DOC)
