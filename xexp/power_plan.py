"""What a spec's study can detect, said by `xexp plan` and `xexp check` before anything runs.

The report's primary family (runtime/report/verdicts.py) is known from the spec alone: per
target, one robustness row per model × non-baseline variant × declared condition (by default the
worst case over the model-agnostic perturbations, or each attack where there are none). With
the seeds every variant shares with the baseline and `report { seed_sd=… }`, runtime/report/power.py
gives the minimum detectable effect at Holm's first step and the seeds needed for a wanted one.
"""

from __future__ import annotations

from dataclasses import dataclass

from xexp.compiler.graph.report_contract import WORST_CASE

WARNING = "cannot reject anything"


@dataclass(frozen=True)
class TargetPower:
    target: str
    conditions: list[str]
    family: int
    text: str

    def as_dict(self) -> dict:
        return {"target": self.target, "primary_conditions": self.conditions,
                "family": self.family, "power": self.text}


def primary_conditions(spec, target) -> list[str]:
    """The conditions of `target` whose robustness rows the report will test (as
    verdicts.primary_conditions decides it from the report's conditions)."""
    applied = [p for p in spec.perturbations if p.name in target.perturbations]
    agnostic = [p for p in applied if p.category == "perturbation"]
    # the worst case needs a perturbation evaluated in every language of the target
    worst = [WORST_CASE] if any(p.languages is None or set(target.languages) <= set(p.languages)
                                for p in agnostic) else []
    chosen = spec.report.primary
    if chosen == "all":
        return [p.name for p in applied] + worst
    if isinstance(chosen, list):
        return [c for c in chosen if c in [p.name for p in applied] + worst]
    return worst or [p.name for p in applied]


def study_power(spec, detect: float | None = None) -> list[TargetPower]:
    """One line per target (one for the whole study with `family=study`)."""
    from xexp.runtime.report.power import power_line

    variants = [v for v in spec.intermediate if v != spec.report.baseline]
    per_target = [(t.task, primary_conditions(spec, t)) for t in spec.targets]
    sizes = {task: len(spec.models) * len(variants) * len(conds) for task, conds in per_target}
    seeds = len(spec.seeds)
    settings = spec.report
    if not variants:
        return [TargetPower("every target", [], 0, f"no variant besides the baseline "
                            f"{settings.baseline!r}: nothing to test")]
    if seeds < 2:  # the same answer for every target
        line = power_line(seeds, sum(sizes.values()), settings.alpha, settings.seed_sd, detect)
        return [TargetPower("every target", [], sum(sizes.values()), line.text())]
    if settings.family == "study":
        total = sum(sizes.values())
        line = power_line(seeds, total, settings.alpha, settings.seed_sd, detect)
        conditions = sorted({c for _, conds in per_target for c in conds})
        return [TargetPower("every target", conditions, total, _text(line.text(), total))]
    out = []
    for task, conditions in per_target:
        line = power_line(seeds, sizes[task], settings.alpha, settings.seed_sd, detect)
        out.append(TargetPower(task, conditions, sizes[task], _text(line.text(), sizes[task])))
    return out


def _text(text: str, family: int) -> str:
    return "no primary row (no perturbation or attack applies)" if family == 0 else text


def power_lines(spec, detect: float | None = None) -> list[str]:
    """The lines `xexp plan` prints under its table."""
    lines = [f"power (report {{ seed_sd={spec.report.seed_sd:g} }}, per-model seed SD in points; "
             f"primary: Δ flip of {', '.join(_named(spec))}):"]
    for found in study_power(spec, detect):
        lines.append(f"  {found.target}: {found.text}")
    return lines


def _named(spec) -> list[str]:
    chosen = spec.report.primary
    if chosen == "all":
        return ["every condition"]
    if isinstance(chosen, list):
        return chosen
    return ["the worst case (each attack where there is none)"]
