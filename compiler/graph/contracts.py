"""The contract between compiler and runtime: one pydantic model per node kind's parameters.

`lower.py` builds every `Node.params` through these models and every op reads them back with
`<Kind>Params.model_validate(node.params)`, so a spec that passes `xexp check` carries
parameters the ops accept: a value the runtime would refuse is refused here first, at compile
time, with the spec's line and caret. The settings types of the spec's `train` and `evaluate`
blocks are defined here once and shared by the validator, the graph and the runtime; the report's
contract (its settings, cells and targets) is report_contract.py, and which contract belongs to
which node kind is said by the kind's class (kinds.py).

A node's key is the hash of its params (graph/node.py), so `to_params` keeps the JSON exactly
as the graph has always written it: optional fields added later (`content`, `entry_version`,
`doc_stride`) are left out while they hold their default, and old keys stay valid.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from xexp.compiler.registry import REGISTRY, Entry
from xexp.compiler.registry.base import FieldName, dump_params

Number = float | int


class Frozen(BaseModel):
    # inf/nan are refused here rather than failing later in the canonical JSON of a node key
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# --- settings shared by the spec, the graph and the runtime ----------------------------------


class Sweep(Frozen):
    """A hyperparameter searched over these values (a Ray Tune grid; best trial by dev metric)."""

    values: list[float | int] = Field(min_length=1)


#: The sequence length (tokens) of training, evaluation and attacks where a spec gives none, and
#: the shortest one it may give; every `max_len` of the contracts below is bounded by it.
DEFAULT_MAX_LEN = 128
MIN_MAX_LEN = 8

#: Bounds of each training setting: (low, low allowed, high, high allowed); None = unbounded.
#: The runtime trains with these settings as validated here (TrainSettings.trial), so a spec
#: that passes `xexp check` never meets a bound the runtime would refuse.
TRAIN_BOUNDS: dict[str, tuple[float, bool, float | None, bool]] = {
    "lr": (0, False, 1, False), "batch": (1, True, None, True), "epochs": (1, True, None, True),
    "max_len": (MIN_MAX_LEN, True, None, True), "warmup": (0, True, 1, False), "weight_decay": (0, True, None, True),
    "grad_accum": (1, True, None, True), "clip": (0, False, None, True), "eval_every": (1, True, None, True),
    "checkpoint_every": (1, True, None, True), "max_steps": (1, True, None, True),
    "patience": (1, True, None, True),
}
#: Settings that take whole numbers, also inside a sweep.
INTEGER_SETTINGS = ("batch", "epochs")


class TrainSettings(Frozen):
    """Fine-tuning hyperparameters. The defaults (lr 1e-5, batch 32, 2 epochs, 10% warmup) are
    a generic fine-tuning recipe, not Phang et al.'s (2020: batch 4, 3 epochs; their recipe is
    written out in specs/phang2020.xexp, sourced in docs/phang2020.md). They stay as they are
    because a train node's params carry every setting: another default would give every spec
    that leaves a setting unset new keys, and its finished trainings would run again."""

    lr: Number | Sweep = 1e-5
    batch: int | Sweep = 32
    epochs: int | Sweep = 2
    max_len: int = DEFAULT_MAX_LEN
    warmup: Number | Sweep = 0.1
    weight_decay: Number | Sweep = 0.01
    grad_accum: int = 1
    clip: Number = 1.0
    freeze_embeddings: bool = False
    eval_every: int | None = None
    checkpoint_every: int = 100
    max_steps: int | None = None
    #: stop after this many dev evaluations in a row without a new best (jiant's
    #: `no_improvements_for_n_evals`); the best checkpoint is kept either way. None: never stop early.
    patience: int | None = None
    #: which checkpoint the training hands on: `best` (the best dev score, reloaded at the end)
    #: or `last` (the final one, as jiant's intermediate runs keep it with `eval_every_steps=0`:
    #: docs/phang2020.md). `best` is what every training did before the setting existed, so it
    #: stays the default: a default that changed would give old keys a new meaning.
    select: Literal["best", "last"] = "best"

    #: Settings added after train keys were first written: left out of a train node's params
    #: while unset, so adding one redoes no finished training (TrainParams.to_params).
    ADDED_LATER: ClassVar[tuple[str, ...]] = ("patience", "select")

    @field_validator(*TRAIN_BOUNDS)
    @classmethod
    def _in_range(cls, value: Any, info: ValidationInfo) -> Any:
        """A value (every value of a sweep) must lie inside the setting's bounds."""
        assert info.field_name is not None
        low, low_ok, high, high_ok = TRAIN_BOUNDS[info.field_name]
        for v in value.values if isinstance(value, Sweep) else [value]:
            if v is None:
                continue
            if info.field_name in INTEGER_SETTINGS and (isinstance(v, bool) or not isinstance(v, int)):
                raise ValueError(f"must be a whole number, got {v}")
            if v < low or (v == low and not low_ok):
                raise ValueError(f"must be {'at least' if low_ok else 'above'} {low}, got {v}")
            if high is not None and (v > high or (v == high and not high_ok)):
                raise ValueError(f"must be {'at most' if high_ok else 'below'} {high}, got {v}")
        return value

    def sweeps(self) -> dict[str, list]:
        """The settings given as `sweep[…]`, with their values."""
        return {k: v.values for k, v in self if isinstance(v, Sweep)}

    def trial(self, values: Mapping[str, float | int] | None = None) -> "TrainSettings":
        """The settings one training runs with: each sweep replaced by its value in `values`
        (one combination of the search, runtime/ops/sweep.py), checked by the same bounds.
        Every sweep needs a value and only a sweep takes one: a training runs with numbers."""
        given = dict(values or {})
        swept = set(self.sweeps())
        if set(given) != swept:
            raise ValueError(f"a trial gives a value to every swept setting ({', '.join(sorted(swept)) or 'none'}) "
                             f"and to no other, got {', '.join(sorted(given)) or 'none'}")
        return TrainSettings.model_validate({**self.model_dump(), **given})


INTERMEDIATE_DEFAULTS = {"max_len": 256}
TARGET_DEFAULTS = {"max_len": DEFAULT_MAX_LEN}


class EvaluateSettings(Frozen):
    """Evaluation: batch size, max sequence length, and an optional cap of examples per language."""

    batch: int = Field(64, ge=1)
    max_len: int = Field(DEFAULT_MAX_LEN, ge=MIN_MAX_LEN)
    limit: int | None = Field(None, ge=1)


# --- registry lookups -------------------------------------------------------------------------


def registry_entry(category: str, name: str) -> Entry:
    entry = REGISTRY.get(category, name)
    if entry is None:
        raise ValueError(f"no {category.replace('_', ' ')} named {name!r}; known: {', '.join(REGISTRY.names(category))}")
    return entry


def check_registry_params(category: str, name: str, params: dict[str, Any]) -> dict[str, Any]:
    """`params` must validate against the schema of the registered `name` (returned unchanged,
    so a node's params hash exactly as lowering wrote them)."""
    registry_entry(category, name).params.model_validate(params)
    return params


#: Keys lowering adds to a source the spec wrote: the content digests of its local files
#: (compiler/inputs.py). They are not the user's parameters, so the registry schema never sees them.
COMPILER_ADDED = ("sha256",)


def check_source(category: str, source: dict[str, Any]) -> dict[str, Any]:
    """A `{"source": NAME, **params}` dict of a registered data or model source."""
    if not isinstance(source.get("source"), str):
        raise ValueError(f"a {category.replace('_', ' ')} is a dict with a 'source' name, got {source!r}")
    written = {k: v for k, v in source.items() if k not in ("source", *COMPILER_ADDED)}
    check_registry_params(category, source["source"], written)
    return source


# --- one model per node kind -------------------------------------------------------------------


class NodeParams(Frozen):
    """Base of the params contracts. `OMITTED_AT_DEFAULT` fields stay out of the params (and so
    out of the key) while they hold their default."""

    OMITTED_AT_DEFAULT: ClassVar[tuple[str, ...]] = ()

    def to_params(self) -> dict[str, Any]:
        return dump_params(self, self.OMITTED_AT_DEFAULT)


class ModelParams(NodeParams):
    source: dict[str, Any]

    @field_validator("source")
    @classmethod
    def _registered(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_source("model_source", value)


def _task_type(value: str) -> str:
    registry_entry("task_type", value)
    return value


#: A registered task type (nli, paraphrase, extractive_qa, multiple_choice).
TaskType = Annotated[str, AfterValidator(_task_type)]


class LoadPart(Frozen):
    """One source of a split read from several (ANLI+: three ANLI rounds, MNLI and SNLI)."""

    source: dict[str, Any]
    split: str | None
    rows: tuple[int, int] | None

    @field_validator("source")
    @classmethod
    def _registered(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_source("data_source", value)


class LoadParams(NodeParams):
    """One split of one data source, `{lang}` filled in; `{split}` may remain in a local path.
    `parts` (left out when None): the split is several sources' rows, one after the other."""

    OMITTED_AT_DEFAULT = ("content", "parts")

    task_type: TaskType
    source: dict[str, Any]
    split: str | None
    rows: tuple[int, int] | None
    language: str | None
    #: a fingerprint of the input files' content, where the compiler computes one
    content: str | dict[str, Any] | None = None
    parts: list[LoadPart] | None = None

    @field_validator("source")
    @classmethod
    def _registered(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_source("data_source", value)


class _AppliedEntry(NodeParams):
    """What perturb and attack nodes share: a registry entry applied to a field in a language."""

    CATEGORY: ClassVar[str]
    OMITTED_AT_DEFAULT: ClassVar[tuple[str, ...]] = ("entry_version", "content")

    params: dict[str, Any]
    field: FieldName
    language: str
    seed: int
    description: str
    #: the registry entry's own version: bumping it redoes only this entry's nodes
    entry_version: int = 1
    content: str | dict[str, Any] | None = None

    def entry_name(self) -> str:
        raise NotImplementedError

    @model_validator(mode="after")
    def _fits_entry(self) -> "_AppliedEntry":
        entry = registry_entry(self.CATEGORY, self.entry_name())
        entry.params.model_validate(self.params)
        if self.field not in entry.fields:
            raise ValueError(f"{entry.name} cannot be applied to {self.field!r} (it supports {', '.join(entry.fields)})")
        return self


class PerturbParams(_AppliedEntry):
    CATEGORY = "perturbation"
    perturbation: str

    def entry_name(self) -> str:
        return self.perturbation


class AttackParams(_AppliedEntry):
    CATEGORY = "attack"
    #: doc_stride came with attacks on QA targets: left out while unset (keys of pair attacks kept)
    OMITTED_AT_DEFAULT = _AppliedEntry.OMITTED_AT_DEFAULT + ("doc_stride",)
    attack: str
    task_type: TaskType
    batch: int = Field(ge=1)
    max_len: int = Field(ge=MIN_MAX_LEN)
    doc_stride: int | None = None

    def entry_name(self) -> str:
        return self.attack


SamplingKind = Literal["proportional", "capped", "temperature"]
SAMPLING_KINDS: tuple[str, ...] = ("proportional", "capped", "temperature")


class Sampling(Frozen):
    """How a multi-task (`mix`) training shares its batches among its members.

    The three rules of jiant's multi-task samplers (Phang et al. 2020 trained its multi-task
    intermediate model with jiant): with n_i the training examples of member i (its features
    after tokenization: for QA, context windows), its share of the batches is p_i ∝ n_i
    (`proportional`), ∝ min(n_i, cap) (`capped`, jiant's `examples_cap`) or ∝ n_i^(1/T)
    (`temperature`; T = 1 is proportional, larger T flattens the shares toward uniform).
    runtime/learning/multitask.py turns the shares into each epoch's schedule."""

    kind: SamplingKind = "proportional"
    cap: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _fits_kind(self) -> "Sampling":
        if self.cap is not None and self.kind != "capped":
            raise ValueError('`cap` only applies with sampling="capped"')
        if self.temperature is not None and self.kind != "temperature":
            raise ValueError('`temperature` only applies with sampling="temperature"')
        if self.kind == "capped" and self.cap is None:
            raise ValueError('sampling="capped" needs `cap=N` (examples per task at most)')
        if self.kind == "temperature" and self.temperature is None:
            raise ValueError('sampling="temperature" needs `temperature=T` (T > 0; 1 is proportional)')
        return self

    def weights(self, sizes: list[int]) -> list[float]:
        """Each member's unnormalised share, from its number of training examples."""
        if self.kind == "capped":
            assert self.cap is not None
            return [float(min(n, self.cap)) for n in sizes]
        if self.kind == "temperature":
            assert self.temperature is not None
            return [float(n) ** (1.0 / self.temperature) for n in sizes]
        return [float(n) for n in sizes]

    def probabilities(self, sizes: list[int]) -> list[float]:
        """p_i: the shares normalised to sum to 1."""
        weights = self.weights(sizes)
        total = sum(weights)
        if total <= 0:
            raise ValueError("a mix needs at least one training example")
        return [w / total for w in weights]


class MixMember(Frozen):
    """One task of a mix: its type and parameters, and the languages its train and dev splits
    are read in (its inputs `train<i>.<lang>`, `dev<i>.<lang>`, see `member_input`; no dev
    languages: no dev split)."""

    OMITTED_AT_DEFAULT: ClassVar[tuple[str, ...]] = ("max_len",)

    task_type: TaskType
    task_params: dict[str, Any]
    languages: list[str] = Field(min_length=1)
    dev_languages: list[str]
    #: the member's own length (its `train TASK { max_len }`) where it differs from the mix's;
    #: None, and left out of the params: the mix's
    max_len: int | None = Field(None, ge=MIN_MAX_LEN)

    @model_validator(mode="after")
    def _task_params_fit(self) -> "MixMember":
        check_registry_params("task_type", self.task_type, self.task_params)
        return self


def member_input(split: str, index: int, language: str) -> str:
    """The name of a mix member's input: `train0.en`, `dev2.de` (names stay out of keys)."""
    return f"{split}{index}.{language}"


class TrainParams(NodeParams):
    """A training: one task (`task_type`, `task_params`; inputs `base`, `train`, `dev`), or a mix
    of several (`members`, `sampling`; inputs `base` and `member_input(…)` per member and
    language). The mix fields came later and stay out of single-task params (and keys)."""

    OMITTED_AT_DEFAULT = ("task_type", "members", "sampling")

    task_type: TaskType | None = None
    task_params: dict[str, Any]
    hparams: TrainSettings
    seed: int
    members: list[MixMember] | None = None
    sampling: Sampling | None = None

    @model_validator(mode="after")
    def _task_params_fit(self) -> "TrainParams":
        if self.members is None:
            if self.task_type is None or self.sampling is not None:
                raise ValueError("a single-task training has a task_type and no sampling")
            check_registry_params("task_type", self.task_type, self.task_params)
        elif self.task_type is not None or self.task_params or self.sampling is None or not self.members:
            raise ValueError("a mix training has members and sampling, and no task_type or task_params")
        return self

    def to_params(self) -> dict[str, Any]:
        params = super().to_params()
        params["hparams"] = dump_params(self.hparams, TrainSettings.ADDED_LATER)
        if self.members is not None:
            params["members"] = [dump_params(m, m.OMITTED_AT_DEFAULT) for m in self.members]
        return params

    @property
    def is_mix(self) -> bool:
        return self.members is not None


class EvaluateParams(NodeParams):
    """`task_params`: the task's own parameters where evaluation reads them (retrieval: pooling,
    layer, metric); empty, and so out of the key, for every trained target."""

    OMITTED_AT_DEFAULT = ("doc_stride", "task_params")

    task_type: TaskType
    batch: int = Field(ge=1)
    max_len: int = Field(ge=MIN_MAX_LEN)
    doc_stride: int | None = Field(None, ge=1)
    task_params: dict[str, Any] = {}  # a plain default: OMITTED_AT_DEFAULT compares with it

    @model_validator(mode="after")
    def _task_params_fit(self) -> "EvaluateParams":
        if self.task_params:
            check_registry_params("task_type", self.task_type, self.task_params)
        return self
