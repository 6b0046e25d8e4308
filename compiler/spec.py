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
    Sampling, Sweep, TrainSettings,
)
from xexp.compiler.graph.report_contract import ReportSettings  # noqa: F401
from xexp.compiler.graph.node import NODE_KINDS, Resources  # noqa: F401
from xexp.compiler.registry.base import REGISTRY, FieldName, task_family


class DataRef(Frozen):
    """One split of one data source: the source's parameters, the split name, a row range."""

    source: dict[str, Any]
    split: str | None = None
    rows: tuple[int, int] | None = None
    #: a split read from several sources as one (`train=["train_r1", hf("…")]`): every part, the
    #: first one also being this ref's source, split and rows (what single-source checks read)
    parts: list["DataRef"] | None = None

    @property
    def depends_on_language(self) -> bool:
        """Whether the rows differ per language: `{lang}` in the source, or synthetic data."""
        if self.parts:
            return any(p.depends_on_language for p in self.parts)
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
    several tasks at once, each with its own head (runtime/learning/multitask.py). A member whose source
    depends on `{lang}` is read in every language of `languages` (translated data, multilingual
    text), the others in English. Its settings are `train intermediate {…}` refined by
    `train NAME {…}`; a member keeps its own `train TASK { max_len }` (validate_train_use.py),
    its task's other settings apply when that task trains alone."""

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
    field: FieldName  # on the spec's target: `on`, else the default for its task family
    description: str
    languages: list[str] | None = None  # None: every language of the spec
    on: FieldName | None = None  # the field the spec names with `on`; None: the default

    def field_for(self, task_type: str) -> FieldName:
        """The field this perturbation touches on a target of `task_type`: the spec's `on`, else
        the entry's default for the task's family (a spec with several targets may have both an
        NLI and a QA target, whose default fields differ)."""
        if self.on is not None:
            return self.on
        entry = REGISTRY.get(self.category, self.entry)
        return entry.default_field_for(self.params, task_family(task_type)) if entry is not None else self.field


class TargetDef(Frozen):
    """One target task: evaluated zero-shot in `languages` after fine-tuning on `trained_on`;
    a retrieval target (`trained_on` None) is evaluated with each variant's encoder as it is.

    `languages` is the target's `in [...]` list, or the spec's `languages` without one;
    `perturbations` names the spec's perturbations and attacks that apply to this target (its
    task type supports them and their `in [...]` languages meet the target's)."""

    task: str
    trained_on: str | None
    languages: list[str]
    perturbations: list[str] = Field(default_factory=list)


class Spec(Frozen):
    experiment: str
    variables: dict[str, str] = Field(default_factory=dict)
    models: list[ModelDef]
    #: models an attack uses as a tool (word_attack's masked LM and sentence encoder): built
    #: once as `model` nodes, never trained
    tools: list[ModelDef] = Field(default_factory=list)
    tasks: dict[str, TaskDef]
    variants: dict[str, VariantDef] = Field(default_factory=dict)  # names share the tasks' namespace
    intermediate: list[str]  # "none", task names and variant names
    targets: list[TargetDef] = Field(min_length=1)
    languages: list[str]  # the spec's `languages`, the targets' default (empty: every target has its own)
    seeds: list[int]
    perturbations: list[PerturbationDef] = Field(default_factory=list)
    train: dict[str, TrainSettings]  # "intermediate", "target", and "phase:task" refinements
    evaluate: EvaluateSettings = Field(default_factory=EvaluateSettings)  # `evaluate { … }`: every target
    evaluate_targets: dict[str, EvaluateSettings] = Field(default_factory=dict)  # `evaluate TARGET { … }`
    #: a task's own `train TASK { max_len }`: the length it keeps inside a mix (validate_train_use.py)
    member_lengths: dict[str, int] = Field(default_factory=dict)
    resources: dict[str, Resources] = Field(default_factory=dict)
    report: ReportSettings = Field(default_factory=ReportSettings)

    def train_settings(self, phase: str, task: str) -> TrainSettings:
        """A task's own `train TASK {…}` refines the phase's settings (keyed "phase:task")."""
        return self.train.get(f"{phase}:{task}") or self.train[phase]

    def evaluate_settings(self, target: str) -> EvaluateSettings:
        """A target's own `evaluate TARGET {…}` refines the spec-wide `evaluate {…}`."""
        return self.evaluate_targets.get(target) or self.evaluate

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
