"""Seconds per unit of work, fitted per (kind, model, device) from the store's own samples, with
the fallbacks a model or device without history needs. Each rate says what it rests on.

1. **history**: the same kind, model and device class finished before: a least-squares line
   (overhead + rate × work) through its samples. Samples of one size cannot tell overhead from
   rate (a smoke run evaluates every set at the same `limit`): they borrow the overhead fitted
   for the same model and device by another kind whose work varied — loading the model and its
   tokenizer is the same fixed cost whatever the node then does — at most `BORROWED_SHARE` of
   their own typical time; with nothing to borrow, their ratio (all time per unit).
2. **history, scaled**: the kind ran on this device with another model: its rate scaled by the
   two models' parameter counts (compute grows with parameters; the overhead does not).
3. **profile**: `xexp profile MODEL` measured this model's forward and backward steps on this
   device class (profiles.py): tokens per second for training and evaluation.
4. **parameter count**: 6 × parameters FLOPs per trained token, 2 × per evaluated one, at the
   device class's assumed sustained throughput (ASSUMED_FLOPS); labelled as such.
Loads, perturbations and reports run no model: history of their kind, else a fixed guess.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import median

from xexp.compiler.graph.kinds import KINDS, kind_of
from xexp.compiler.graph.contracts import DEFAULT_MAX_LEN
from xexp.runtime.engine.estimate.history import Sample, device_class

#: Sustained FLOP/s assumed when nothing was measured: a few CPU cores in float32 (PyTorch
#: reaches ~10-30 GFLOP/s per modern core on transformer matmuls) and a datacenter GPU in bf16 at a
#: quarter of an A100's 312 TFLOP/s peak (fine-tuning with small batches of padded sequences
#: reaches no more; `xexp profile --device cuda` measures the real figure).
ASSUMED_FLOPS = {"cpu": 3e10, "gpu": 0.25 * 312e12}
#: Another model's rate is scaled by parameter count only within this ratio of sizes: a model
#: tens of times smaller spends its time on overheads that do not scale.
MAX_SCALE = 8.0
#: Seconds a unit of a kind's relative `COST` (compiler/graph/kinds.py) stands for when its kind
#: has no history at all.
COST_UNIT_SECONDS = 10.0
#: Fixed seconds of a node when its kind has no history at all.
DEFAULT_OVERHEAD = {name: kind.COST * COST_UNIT_SECONDS for name, kind in KINDS.items()}
#: A borrowed overhead leaves at least this share of a one-size group's time to its work.
BORROWED_SHARE = 0.9
#: Kinds whose fitted overhead another kind of the same model may borrow, the closest first
#: (an attack and an evaluation load the model the same way; a training also builds an optimizer).
LENDERS = ("attack", "evaluate", "train")
#: Seconds per unit for kinds that run no model, when their kind has no history.
DEFAULT_PER_UNIT = {"load": 1e-4, "perturb": 1e-3, "report": 0.0, "model": 0.0}


@dataclass(frozen=True)
class Rate:
    """seconds = overhead + per_unit × work. `typical` is the median seconds of the samples the
    rate came from (used when a node's work is unknown); `basis` says what the rate rests on."""

    overhead: float
    per_unit: float
    basis: str
    typical: float | None = None

    def seconds(self, amount: float | None) -> float:
        if amount is None:
            return self.typical if self.typical is not None else self.overhead
        return self.overhead + self.per_unit * amount


def work_varies(points: list[tuple[float, float]]) -> bool:
    """Whether (work, seconds) points are of more than one size, enough to fit a line."""
    xs = [x for x, _ in points]
    return len(points) >= 2 and max(xs) > min(xs) * 1.05


def fit_line(points: list[tuple[float, float]]) -> tuple[float, float]:
    """(overhead, per_unit) >= 0 through (work, seconds) points: least squares where the work
    varies, else the points' ratio with no overhead."""
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    if work_varies(points):
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        sxx = sum((x - mx) ** 2 for x in xs)
        slope = sum((x - mx) * (y - my) for x, y in points) / sxx
        intercept = my - slope * mx
        if slope > 0 and intercept >= 0:
            return intercept, slope
        if slope <= 0:
            return median(ys), 0.0
        # a negative overhead: the line through the origin instead
        return 0.0, sum(ys) / sum(xs)
    total = sum(xs)
    return (0.0, sum(ys) / total) if total > 0 else (median(ys), 0.0)


def _describe(samples: list[Sample]) -> str:
    return f"history of {len(samples)} node{'s' if len(samples) != 1 else ''}"


class RateBook:
    """Rates for every (kind, model, device) a plan asks about, from one store's samples."""

    def __init__(self, samples: list[Sample], *, parameters: dict[str, float | None] | None = None,
                 profiles: dict[tuple[str, str], dict] | None = None) -> None:
        self.groups: dict[tuple[str, str | None, str], list[Sample]] = {}
        for sample in samples:
            self.groups.setdefault((sample.kind, sample.model, device_class(sample.device)), []).append(sample)
        self.parameters = parameters or {}
        self.profiles = profiles or {}
        self._cache: dict[tuple, Rate] = {}

    @property
    def sample_count(self) -> int:
        return sum(len(v) for v in self.groups.values())

    def _fitted(self, group: list[Sample]) -> Rate:
        known = [(s.work.amount, s.seconds) for s in group if s.work.amount is not None]
        typical = median(s.seconds for s in group)
        if not known:
            return Rate(typical, 0.0, _describe(group), typical)
        if not work_varies(known) and kind_of(group[0].kind).MODEL_BOUND:
            lent = self._lent_overhead(group[0])
            if lent is not None:
                lender, overhead = lent
                seconds, work = median(y for _, y in known), median(x for x, _ in known)
                overhead = min(overhead, BORROWED_SHARE * seconds)
                per_unit = (seconds - overhead) / work if work > 0 else 0.0
                return Rate(overhead, per_unit, f"{_describe(group)}, the overhead of its model's {lender} nodes",
                            typical)
        overhead, per_unit = fit_line(known)
        return Rate(overhead, per_unit, _describe(group), typical)

    def _lent_overhead(self, sample: Sample) -> tuple[str, float] | None:
        """The overhead fitted for the sample's model and device by the first kind of LENDERS
        whose samples varied in size and gave a line with an overhead."""
        for lender in LENDERS:
            group = self.groups.get((lender, sample.model, device_class(sample.device)))
            if lender == sample.kind or not group:
                continue
            known = [(s.work.amount, s.seconds) for s in group if s.work.amount is not None]
            if work_varies(known):
                overhead, per_unit = fit_line(known)
                if overhead > 0 and per_unit > 0:
                    return lender, overhead
        return None

    def rate(self, kind: str, model: str | None, device: str, max_len: int = DEFAULT_MAX_LEN) -> Rate:
        ident = (kind, model, device, max_len)
        if ident not in self._cache:
            self._cache[ident] = self._rate(kind, model, device, max_len)
        return self._cache[ident]

    def _rate(self, kind: str, model: str | None, device: str, max_len: int) -> Rate:
        exact = self.groups.get((kind, model, device))
        if exact:
            return self._fitted(exact)
        if not kind_of(kind).MODEL_BOUND:
            pooled = [s for (k, _, _), group in self.groups.items() if k == kind for s in group]
            if pooled:
                return self._fitted(pooled)
            return Rate(DEFAULT_OVERHEAD[kind], DEFAULT_PER_UNIT[kind], "a fixed guess (no history)")
        if kind == "model":
            pooled = [s for (k, _, _), group in self.groups.items() if k == kind for s in group]
            if pooled:
                typical = median(s.seconds for s in pooled)
                return Rate(typical, 0.0, f"{_describe(pooled)} of other models", typical)
            return Rate(DEFAULT_OVERHEAD[kind], 0.0, "a fixed guess (no history)")
        scaled = self._scaled(kind, model, device)
        if scaled is not None:
            return scaled
        profile = self.profiles.get((model or "", device))
        overheads = [self._fitted(g).overhead for (k, _, _), g in self.groups.items() if k == kind]
        overhead = median(overheads) if overheads else DEFAULT_OVERHEAD[kind]
        if profile is not None:
            per_token = float(profile["train_s_per_token" if kind == "train" else "eval_s_per_token"])
            per_unit = per_token * (max_len if kind == "attack" else 1)
            return Rate(overhead, per_unit, f"a profile of {model} on {device}")
        params = self.parameters.get(model or "")
        if params:
            flops = (6 if kind == "train" else 2) * params * (max_len if kind == "attack" else 1)
            return Rate(overhead, flops / ASSUMED_FLOPS[device],
                        f"parameter count ({params / 1e6:.0f}M) and an assumed {device} throughput")
        return Rate(overhead, 0.0, "a fixed guess (model size unknown, no history)")

    def _scaled(self, kind: str, model: str | None, device: str) -> Rate | None:
        """The rate of another model on this device, scaled by the parameter counts."""
        mine = self.parameters.get(model or "")
        if not mine:
            return None
        best: tuple[int, Rate] | None = None
        for (k, other, d), group in self.groups.items():
            theirs = self.parameters.get(other or "")
            if k != kind or d != device or not theirs or not 1 / MAX_SCALE <= mine / theirs <= MAX_SCALE:
                continue
            fitted = self._fitted(group)
            if fitted.per_unit <= 0:
                continue
            if best is None or len(group) > best[0]:
                best = (len(group), Rate(fitted.overhead, fitted.per_unit * mine / theirs,
                                         f"{_describe(group)} of {other}, scaled by parameter count"))
        return best[1] if best else None


def bounded(value: float) -> float:
    """Seconds are finite and non-negative, whatever a fit says."""
    return value if math.isfinite(value) and value > 0 else 0.0
