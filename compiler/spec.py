"""The validated Spec: what a `.xexp` file means, as pydantic models.

Everything here is resolved: variables substituted (except `{lang}`, which the graph fills in
per language), registry names checked, parameters validated against their schemas, defaults
applied. The graph is lowered from this alone.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from xexp.compiler.graph.contracts import (  # noqa: F401  (the settings types live with the contracts)
    INTEGER_SETTINGS, INTERMEDIATE_DEFAULTS, TARGET_DEFAULTS, TRAIN_BOUNDS, EvaluateSettings, Frozen,
    ReportSettings, Sampling, Sweep, TrainSettings,
)
from xexp.compiler.graph.node import NODE_KINDS, Resources  # noqa: F401
from xexp.compiler.registry.base import FieldName


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


#: The language a task is trained in when nothing says otherwise.
TRAINING_LANGUAGE = "en"


class VariantDef(Frozen):
    """`variant NAME = mix([TASK ...], sampling=…, languages=[…])`: one intermediate training on
    several tasks at once, each with its own head (runtime/multitask.py). A member whose source
    depends on `{lang}` is read in every language of `languages` (translated data, multilingual
    text), the others in English. Its settings are `train intermediate {…}` refined by
    `train NAME {…}`; a member's own `train TASK {…}` applies when that task trains alone."""

    name: str
    members: list[str] = Field(min_length=1)
    sampling: Sampling = Field(default_factory=Sampling)
    languages: list[str] = Field(default_factory=lambda: [TRAINING_LANGUAGE], min_length=1)

    def languages_of(self, ref: DataRef) -> list[str]:
        """The languages one split of a member is read in."""
        return list(self.languages) if ref.depends_on_language else [TRAINING_LANGUAGE]


class PerturbationDef(Frozen):
    name: str
    entry: str  # registry name, e.g. "char_noise"
    category: Literal["perturbation", "attack"]
    params: dict[str, Any]
    field: FieldName
    description: str
    languages: list[str] | None = None  # None: every language of the spec


class Spec(Frozen):
    experiment: str
    variables: dict[str, str] = Field(default_factory=dict)
    models: list[ModelDef]
    tasks: dict[str, TaskDef]
    variants: dict[str, VariantDef] = Field(default_factory=dict)  # names share the tasks' namespace
    intermediate: list[str]  # "none", task names and variant names
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

    def trained_reads(self, name: str) -> list[tuple[TaskDef, str, list[str]]]:
        """What the intermediate training `name` (a task or a variant) reads: (task, split,
        languages) for its train and dev splits."""
        variant = self.variants.get(name)
        if variant is None:
            task = self.tasks[name]
            return [(task, split, [TRAINING_LANGUAGE]) for split in ("train", "dev") if split in task.splits]
        return [(task, split, variant.languages_of(task.splits[split]))
                for task in (self.tasks[m] for m in variant.members)
                for split in ("train", "dev") if split in task.splits]

    def resources_for(self, kind: str) -> Resources:
        return self.resources.get(kind, Resources())
