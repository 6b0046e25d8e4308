"""The report node's contract: the spec's `report {…}` settings, the cells and targets the
graph names, and the report node's params.

Apart from the other kinds' contracts (contracts.py) because it is one job of its own: what
the report reads is named here (conditions, cells, targets), and runtime/report/ builds on
these types alone. Like every contract, `to_params` keeps the JSON as the graph has always
written it: fields added later stay out while they hold their default, so report keys stand.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from xexp.compiler.graph.contracts import Frozen, NodeParams, TaskType
from xexp.compiler.registry.base import dump_params


class ReportSettings(Frozen):
    """The robustness report: the baseline variant, CI level (α = 1 − ci), bootstrap resamples,
    examples shown, and the declared hypotheses: `primary` names the conditions whose
    robustness rows (Δ flip, summary language) form Holm's family — a list of condition names,
    or "all"; None (the default) is the worst case, or every attack where there is none, so
    the family stays one row per variant. `family` is "target" (Holm within each target) or
    "study" (one family over every target). `seed_sd` is the per-model seed-to-seed SD, in
    points, that `xexp plan` computes power from (runtime/report/power.py says where 0.5 comes from)."""

    baseline: str = Field("none", min_length=1)
    ci: float = Field(0.95, gt=0, lt=1)
    bootstrap: int = Field(1000, ge=100, le=1_000_000)
    seed: int = Field(0, ge=0)  # numpy seeds the bootstrap: it refuses negative seeds
    examples: int = Field(5, ge=0, le=100)
    #: `reference = local("….csv")`: published figures (`variant,target,value`) shown beside the
    #: measured ones in the XTREME table (runtime/report/xtreme.py); lowering adds its sha256
    reference: dict[str, Any] | None = None

    primary: list[str] | Literal["all"] | None = None
    family: Literal["target", "study"] = "target"
    seed_sd: float = Field(0.5, gt=0, le=50)

    #: Settings added after report keys were first written: left out of the report node's params
    #: while they hold their default (ReportParams.to_params), so every existing key stands.
    ADDED_LATER: ClassVar[tuple[str, ...]] = ("reference", "primary", "family", "seed_sd")

    @field_validator("primary", mode="before")
    @classmethod
    def _one_name(cls, value: Any) -> Any:
        """`primary = worst_case` is the one-item list; `primary = all` stays "all"."""
        return [value] if isinstance(value, str) and value != "all" else value

    @field_validator("primary")
    @classmethod
    def _primary_listed(cls, value: list[str] | str | None) -> list[str] | str | None:
        if isinstance(value, list):
            if not value:
                raise ValueError("lists no condition (leave it out for the default, the worst case)")
            twice = sorted({v for v in value if value.count(v) > 1})
            if twice:
                raise ValueError(f"lists {', '.join(twice)} twice")
        return value

    @property
    def alpha(self) -> float:
        """The significance level the report's stars and power figures use: 1 − ci."""
        return round(1.0 - self.ci, 12)


#: The condition of unperturbed evaluation, and the derived condition of HELM's robustness
#: metric (the worst over perturbations); neither is a name a spec may give a perturbation.
CLEAN = "clean"
WORST_CASE = "worst_case"
RESERVED_CONDITIONS = (CLEAN, WORST_CASE)


class ReportCellRef(Frozen):
    """One cell of the report as the graph names it; its files are the node's inputs cell{i}/data{i}.

    `target` names the target task of a spec with several targets; with one it stays None and
    out of the params, so the report key of every one-target spec stands."""

    OMITTED_AT_DEFAULT: ClassVar[tuple[str, ...]] = ("target",)

    kind: Literal["evaluate", "attack"]
    model: str
    variant: str
    language: str
    condition: str
    seed: int
    description: str = ""
    target: str | None = None


class ReportTarget(Frozen):
    """A target as the report shows it: what it was trained on, its task type (which names the
    metric its per-example correctness measures) and its languages."""

    OMITTED_AT_DEFAULT: ClassVar[tuple[str, ...]] = ("normalization", "mining")

    task: str
    trained_on: str | None  # None: a retrieval target, not trained
    task_type: TaskType
    languages: list[str]
    #: a QA target's answer normalisation in the XTREME table (`extractive_qa(…, answers="mlqa")`)
    normalization: Literal["squad", "mlqa"] | None = None
    #: a retrieval target scored as bitext mining (`retrieval(…, metric="f1")`, BUCC): the XTREME
    #: table shows the mined pairs' F1, not the per-sentence accuracy
    mining: bool = False


class ReportParams(NodeParams):
    """`targets` is given only for a spec with several targets (left out while empty)."""

    OMITTED_AT_DEFAULT = ("targets",)

    settings: ReportSettings
    cells: list[ReportCellRef]
    experiment: str
    targets: list[ReportTarget] = []  # a plain default: OMITTED_AT_DEFAULT compares with it

    @model_validator(mode="after")
    def _cells_name_targets(self) -> "ReportParams":
        known = {t.task for t in self.targets}
        for cell in self.cells:
            if (cell.target is None) != (not known) or (cell.target is not None and cell.target not in known):
                raise ValueError(f"report cell {cell.model}/{cell.variant}/{cell.language}/{cell.condition}: "
                                 f"target {cell.target!r} is not one of the report's targets ({', '.join(known) or 'none'})")
        return self

    def to_params(self) -> dict[str, Any]:
        out = super().to_params()
        out["settings"] = dump_params(self.settings, ReportSettings.ADDED_LATER)
        out["cells"] = [dump_params(cell, cell.OMITTED_AT_DEFAULT) for cell in self.cells]
        if self.targets:
            out["targets"] = [dump_params(t, t.OMITTED_AT_DEFAULT) for t in self.targets]
        return out
