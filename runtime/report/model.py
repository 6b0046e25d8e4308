"""What the `report` node hands to `build_report`: one `ReportCell` per predictions file.

A cell is one evaluation of one trained model (model × variant × seed) on one language under
one condition: "clean", a model-agnostic perturbation (kind "evaluate", data from a `perturb`
node) or a model-aware attack (kind "attack", whose file carries its own clean predictions).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# the spec's `report { … }` block and the condition names, defined once with the node contracts
from xexp.compiler.graph.report_contract import CLEAN, WORST_CASE, ReportSettings

__all__ = ["CLEAN", "WORST_CASE", "ReportCell", "ReportSettings"]



class ReportCell(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(min_length=1)
    variant: str = Field(min_length=1, description='intermediate task, or "none" for the baseline')
    language: str = Field(min_length=1)
    condition: str = Field(min_length=1, description='"clean" or a perturbation/attack name')
    description: str = Field("", description='e.g. "char_noise(p=0.05)"; "" for clean')
    kind: Literal["evaluate", "attack"]
    seed: int
    predictions: Path
    dataset: Path | None = None
    target: str | None = Field(None, description="the target task, in a report of several targets")

    @model_validator(mode="after")
    def _condition_matches_kind(self) -> "ReportCell":
        where = f"cell {self.label}"
        if self.condition == WORST_CASE:
            raise ValueError(f"{where}: condition name {WORST_CASE!r} is reserved for the report")
        if self.condition == CLEAN and self.kind != "evaluate":
            raise ValueError(f"{where}: a clean cell must have kind 'evaluate', not {self.kind!r}")
        if self.condition == CLEAN and self.description:
            raise ValueError(f"{where}: a clean cell has no description, got {self.description!r}")
        return self

    @property
    def label(self) -> str:
        where = f"{self.target}:" if self.target else ""
        return f"{where}{self.model}/{self.variant}/{self.language}/{self.condition}/seed{self.seed}"
