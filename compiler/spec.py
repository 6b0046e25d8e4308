"""The validated Spec: what a `.xexp` file means, as pydantic models.

Everything here is resolved: variables substituted (except `{lang}`, which the graph fills in
per language), registry names checked, parameters validated against their schemas, defaults
applied. The graph is lowered from this alone.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from xexp.compiler.graph.node import Kind, Resources

NODE_KINDS: tuple[str, ...] = get_args(Kind)


class Frozen(BaseModel):
    # inf/nan are refused here rather than failing later in the canonical JSON of a node key
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Sweep(Frozen):
    """A hyperparameter searched over these values (a Ray Tune grid; best trial by dev metric)."""

    values: list[float | int] = Field(min_length=1)


Number = float | int

#: Lower bound of each training setting and whether the bound itself is allowed.
TRAIN_BOUNDS: dict[str, tuple[float, bool]] = {
    "lr": (0, False), "batch": (1, True), "epochs": (0, False), "max_len": (8, True), "warmup": (0, True),
    "weight_decay": (0, True), "grad_accum": (1, True), "clip": (0, False), "eval_every": (1, True),
    "checkpoint_every": (1, True), "max_steps": (1, True),
}
#: Settings that take whole numbers, also inside a sweep.
INTEGER_SETTINGS = ("batch",)


class TrainSettings(Frozen):
    """Fine-tuning hyperparameters. Defaults are DESIGN.md's reading of Phang et al. (2020)."""

    lr: Number | Sweep = 1e-5
    batch: int | Sweep = 32
    epochs: Number | Sweep = 2
    max_len: int = 128
    warmup: Number | Sweep = 0.1
    weight_decay: Number | Sweep = 0.01
    grad_accum: int = 1
    clip: Number = 1.0
    freeze_embeddings: bool = False
    eval_every: int | None = None
    checkpoint_every: int = 100
    max_steps: int | None = None

    @field_validator(*TRAIN_BOUNDS)
    @classmethod
    def _in_range(cls, value: Any, info: ValidationInfo) -> Any:
        """A value (every value of a sweep) must respect the setting's lower bound."""
        low, inclusive = TRAIN_BOUNDS[info.field_name]
        for v in value.values if isinstance(value, Sweep) else [value]:
            if v is not None and (v < low or (v == low and not inclusive)):
                raise ValueError(f"must be {'at least' if inclusive else 'above'} {low}, got {v}")
            if info.field_name in INTEGER_SETTINGS and isinstance(v, float):
                raise ValueError(f"must be a whole number, got {v}")
        return value

    def sweeps(self) -> dict[str, list]:
        return {k: v.values for k, v in self if isinstance(v, Sweep)}


INTERMEDIATE_DEFAULTS = {"max_len": 256}
TARGET_DEFAULTS = {"max_len": 128}


class EvaluateSettings(Frozen):
    """Evaluation: batch size, max sequence length, and an optional cap of examples per language."""

    batch: int = Field(64, ge=1)
    max_len: int = Field(128, ge=8)
    limit: int | None = Field(None, ge=1)


class ReportSettings(Frozen):
    """The robustness report: the baseline variant, CI level, bootstrap resamples."""

    baseline: str = "none"
    ci: float = Field(0.95, gt=0, lt=1)
    bootstrap: int = Field(1000, ge=100, le=1_000_000)
    seed: int = 0
    examples: int = Field(5, ge=0, le=100)


class DataRef(Frozen):
    """One split of one data source: the source's parameters, the split name, a row range."""

    source: dict[str, Any]
    split: str | None = None
    rows: tuple[int, int] | None = None

    @property
    def depends_on_language(self) -> bool:
        """Whether the rows differ per language: `{lang}` in the source, or synthetic data."""
        return "{lang}" in repr(self.source) or self.source.get("source") == "synthetic"


class ModelDef(Frozen):
    name: str
    source: dict[str, Any]  # {"source": "hf"|"packaged"|"tiny", **params}


class TaskDef(Frozen):
    name: str
    type: str
    params: dict[str, Any] = Field(default_factory=dict)
    splits: dict[str, DataRef]
    labels: tuple[str, ...] = ()


class PerturbationDef(Frozen):
    name: str
    entry: str  # registry name, e.g. "char_noise"
    category: Literal["perturbation", "attack"]
    params: dict[str, Any]
    field: Literal["premise", "hypothesis", "both"]
    description: str
    languages: list[str] | None = None  # None: every language of the spec


class Spec(Frozen):
    experiment: str
    variables: dict[str, str] = Field(default_factory=dict)
    models: list[ModelDef]
    tasks: dict[str, TaskDef]
    intermediate: list[str]
    target: str
    trained_on: str
    languages: list[str]
    seeds: list[int]
    perturbations: list[PerturbationDef] = Field(default_factory=list)
    train: dict[str, TrainSettings]  # "intermediate", "target", and "phase:task" refinements
    evaluate: EvaluateSettings = Field(default_factory=EvaluateSettings)
    resources: dict[str, Resources] = Field(default_factory=dict)
    report: ReportSettings = Field(default_factory=ReportSettings)

    def train_settings(self, phase: str, task: str) -> TrainSettings:
        """A task's own `train TASK {…}` refines the phase's settings (keyed "phase:task")."""
        return self.train.get(f"{phase}:{task}") or self.train[phase]

    def resources_for(self, kind: str) -> Resources:
        return self.resources.get(kind, Resources())
