"""The XTREME table of Phang et al. (2020): variants × targets in the paper's metrics (issue 24, item 6).

The robustness sections answer "how much does a perturbation cost"; a reader putting xexp beside
the paper needs the paper's own table first: each cell a target's paper metric (accuracy for
XNLI/PAWS-X, F1 for QA with exact match beside it, seqeval entity F1 for NER and POS) averaged
over the target's languages, an `avg` column over targets, each variant's Δ vs the baseline,
and the paper's headline row, the best intermediate task per target chosen on dev (+5.4 points
over XLM-R Large in the abstract). With `report { reference = local("….csv") }` the published
figures stand beside the measured ones.

Intervals are percentile bootstraps over examples (sentences for tagging, whose F1 is a corpus
figure): each replicate resamples every language's examples, the same indices for every variant
and seed, so a Δ is paired; targets are resampled independently, which is what `avg` averages.
With several seeds a language's figure is the mean over seeds of the metric. The "best" row picks
each target's variant by its point estimate on the evaluated split: with targets evaluated on
dev, as the paper's tables are, that is the paper's rule, and its interval is conditional on
the choice.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from xexp.compiler.graph.report_contract import ReportTarget
from xexp.compiler.registry.base import task_family
from xexp.errors import DataError
from xexp.runtime.report.model import CLEAN, ReportCell, ReportSettings
from xexp.runtime.report.paper_metrics import chunk_counts, qa_scores
from xexp.runtime.report.views import DASH, Table

XTREME_CSV = "xtreme.csv"
BEST_ROW = "best (dev)"
AVG = "avg"
#: replicates are drawn this many at a time (a replicate × example count matrix each)
CHUNK = 100
PAPER_METRICS = {"pair": "accuracy", "mc": "accuracy", "qa": "F1", "tagging": "F1"}
CSV_COLUMNS = ("variant", "target", "metric", "languages", "seeds", "value", "ci_low", "ci_high",
               "delta", "delta_low", "delta_high", "em", "chosen", "reference")


@dataclass
class Units:
    """One (variant, seed, language) evaluation as per-unit sums: metric = Σnum / Σden (× 100);
    `em` the exact-match sums of QA (None otherwise)."""

    ids: list[str]
    num: np.ndarray
    den: np.ndarray
    em: np.ndarray | None = None


@dataclass
class XtremeResult:
    variants: list[str]
    targets: list[str]
    metrics: dict[str, str]
    rows: list[dict] = field(default_factory=list)  # the CSV rows (also the table's cells)
    reference: dict[tuple[str, str], float] = field(default_factory=dict)


# --- per-unit sums from predictions ------------------------------------------------------------


def units_of(path: Path, task_type: str, language: str, normalization: str, mining: bool = False) -> Units:
    table = pq.read_table(path).to_pydict()
    if mining:  # BUCC: F1 = 2·hits / (gold pairs + mined pairs), a ratio of per-sentence sums
        missing = [c for c in ("id", "gold", "predicted") if c not in table]
        if missing:
            raise DataError(str(path), f"no column {', '.join(missing)} in the predictions of a mining target")
        golds, mined = table["gold"], table["predicted"]
        hits = np.array([bool(g) and g == m for g, m in zip(golds, mined)], dtype=np.float64)
        pairs = np.array([bool(g) + bool(m) for g, m in zip(golds, mined)], dtype=np.float64)
        return Units([str(i) for i in table["id"]], 2 * hits, pairs)
    family = task_family(task_type)
    needed = {"tagging": ("sentence", "gold", "predicted"), "qa": ("id", "gold", "predicted")}.get(family, ("id", "correct"))
    missing = [c for c in needed if c not in table]
    if missing:
        raise DataError(str(path), f"no column {', '.join(missing)} in the predictions of a {task_type} target")
    if family == "tagging":  # one row per word: a unit is a sentence
        gold: dict[str, list[str]] = defaultdict(list)
        pred: dict[str, list[str]] = defaultdict(list)
        for sentence, g, p in zip(table["sentence"], table["gold"], table["predicted"]):
            gold[sentence].append(g)
            pred[sentence].append(p)
        ids = list(gold)
        counts = np.array([chunk_counts(gold[s], pred[s]) for s in ids], dtype=np.float64).reshape(-1, 3)
        return Units(ids, 2 * counts[:, 0], counts[:, 1] + counts[:, 2])
    ids = [str(i) for i in table["id"]]
    if family == "qa":
        scores = np.array([qa_scores(p or "", json.loads(g), language, normalization)
                           for p, g in zip(table["predicted"], table["gold"])], dtype=np.float64).reshape(-1, 2)
        return Units(ids, scores[:, 0], np.ones(len(ids)), scores[:, 1])
    return Units(ids, np.array(table["correct"], dtype=np.float64), np.ones(len(ids)))


def _aligned(runs: list[Units]) -> list[Units]:
    """The units every run has, in the first run's order (runs of one language share the data)."""
    common = set(runs[0].ids).intersection(*(r.ids for r in runs[1:]))
    order = [i for i in runs[0].ids if i in common]
    out = []
    for r in runs:
        where = {i: k for k, i in enumerate(r.ids)}
        pick = np.array([where[i] for i in order], dtype=np.int64)
        out.append(Units(order, r.num[pick], r.den[pick], r.em[pick] if r.em is not None else None))
    return out


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, 100.0 * num / np.where(den > 0, den, 1), 0.0)


# --- the table ---------------------------------------------------------------------------------


def _target_draws(runs: dict[tuple[str, str], dict[int, Units]], variants: list[str], languages: list[str],
                  replicates: int, rng: np.random.Generator) -> tuple[dict[str, float], dict[str, np.ndarray], dict[str, float]]:
    """Per variant: the point value (mean over languages of the mean over seeds), its bootstrap
    draws, and the mean exact match where there is one."""
    point = {v: 0.0 for v in variants}
    em = {v: 0.0 for v in variants}
    draws = {v: np.zeros(replicates) for v in variants}
    has_em = True
    for lang in languages:
        keys = [(v, s) for v in variants for s in sorted(runs[(v, lang)])]
        aligned = dict(zip(keys, _aligned([runs[(v, lang)][s] for v, s in keys])))
        n = len(next(iter(aligned.values())).ids)
        if n == 0:
            raise DataError("xtreme table", f"no example is shared by every variant in {lang}")
        for v in variants:
            seeds = [aligned[k] for k in keys if k[0] == v]
            point[v] += float(np.mean([_ratio(u.num.sum(), u.den.sum()) for u in seeds])) / len(languages)
            if all(u.em is not None for u in seeds):
                em[v] += float(np.mean([100.0 * u.em.mean() for u in seeds])) / len(languages)  # type: ignore[union-attr]
            else:
                has_em = False
        done = 0
        while done < replicates:
            size = min(CHUNK, replicates - done)
            counts = rng.multinomial(n, np.full(n, 1.0 / n), size=size).astype(np.float64)  # (size, n)
            for v in variants:
                seeds = [aligned[k] for k in keys if k[0] == v]
                values = np.mean([_ratio(counts @ u.num, counts @ u.den) for u in seeds], axis=0)
                draws[v][done:done + size] += values / len(languages)
            done += size
    return point, draws, em if has_em else {}


def xtreme_result(cells: list[ReportCell], targets: list[ReportTarget], settings: ReportSettings) -> XtremeResult | None:
    """The table's numbers, or None when it has nothing to compare (one variant, one target)."""
    clean = [c for c in cells if c.condition == CLEAN and c.kind == "evaluate" and c.target is not None]
    models = sorted({c.model for c in clean})
    label = (lambda c: c.variant) if len(models) == 1 else (lambda c: f"{c.model}/{c.variant}")
    variants = list(dict.fromkeys(label(c) for c in clean))
    if len(variants) < 2 or len(targets) < 2:
        return None
    baseline = settings.baseline if settings.baseline in variants else variants[0]
    variants = [baseline] + [v for v in variants if v != baseline]
    rng = np.random.default_rng(settings.seed)
    replicates = settings.bootstrap
    tail = (1 - settings.ci) / 2
    result = XtremeResult(variants, [t.task for t in targets],
                          {t.task: "F1" if t.mining else PAPER_METRICS.get(task_family(t.task_type), "accuracy")
                           for t in targets})
    all_draws: dict[str, dict[str, np.ndarray]] = {}
    points: dict[str, dict[str, float]] = {}
    for target in targets:
        runs: dict[tuple[str, str], dict[int, Units]] = defaultdict(dict)
        for c in clean:
            if c.target == target.task:
                runs[(label(c), c.language)][c.seed] = units_of(c.predictions, target.task_type, c.language,
                                                                target.normalization or "squad", target.mining)
        languages = [lang for lang in target.languages if all((v, lang) in runs for v in variants)]
        if not languages:
            continue
        point, draws, em = _target_draws(runs, variants, languages, replicates, rng)
        all_draws[target.task], points[target.task] = draws, point
        seeds = len(next(iter(runs.values())))
        for v in variants:
            result.rows.append(_row(v, target.task, result.metrics[target.task], len(languages), seeds, point[v],
                                    draws[v], point[v] - point[baseline], draws[v] - draws[baseline], tail,
                                    em.get(v), v != baseline))
    done = [t for t in result.targets if t in all_draws]
    if not done:
        return None
    result.targets = done
    for v in variants:  # the average over targets
        d = np.mean([all_draws[t][v] for t in done], axis=0)
        b = np.mean([all_draws[t][baseline] for t in done], axis=0)
        p = float(np.mean([points[t][v] for t in done]))
        pb = float(np.mean([points[t][baseline] for t in done]))
        result.rows.append(_row(v, AVG, "", 0, 0, p, d, p - pb, d - b, tail, None, v != baseline))
    others = variants[1:]
    if others:
        chosen = {t: max(others, key=lambda v: points[t][v]) for t in done}
        for t in done:
            v = chosen[t]
            row = _row(BEST_ROW, t, result.metrics[t], 0, 0, points[t][v], all_draws[t][v],
                       points[t][v] - points[t][baseline], all_draws[t][v] - all_draws[t][baseline], tail, None, True)
            result.rows.append(row | {"chosen": v})
        d = np.mean([all_draws[t][chosen[t]] for t in done], axis=0)
        b = np.mean([all_draws[t][baseline] for t in done], axis=0)
        p = float(np.mean([points[t][chosen[t]] for t in done]))
        pb = float(np.mean([points[t][baseline] for t in done]))
        result.rows.append(_row(BEST_ROW, AVG, "", 0, 0, p, d, p - pb, d - b, tail, None, True))
    if settings.reference is not None:
        result.reference = read_reference(settings.reference)
        for row in result.rows:
            row["reference"] = result.reference.get((row["variant"], row["target"]))
    return result


def _row(variant: str, target: str, metric: str, languages: int, seeds: int, value: float, draws: np.ndarray,
         delta: float, delta_draws: np.ndarray, tail: float, em: float | None, with_delta: bool) -> dict:
    low, high = np.quantile(draws, [tail, 1 - tail])
    dlow, dhigh = np.quantile(delta_draws, [tail, 1 - tail])
    return {"variant": variant, "target": target, "metric": metric, "languages": languages or None,
            "seeds": seeds or None, "value": round(value, 4), "ci_low": round(float(low), 4),
            "ci_high": round(float(high), 4),
            "delta": round(delta, 4) if with_delta else None,
            "delta_low": round(float(dlow), 4) if with_delta else None,
            "delta_high": round(float(dhigh), 4) if with_delta else None,
            "em": round(em, 4) if em is not None else None, "chosen": None, "reference": None}


# --- the published figures ---------------------------------------------------------------------


def read_reference(ref: dict) -> dict[tuple[str, str], float]:
    """`variant,target,value` rows of the reference CSV (other columns, a citation, ignored).
    Read as text only; a file changed since planning is refused."""
    path = Path(ref["path"])
    data = path.read_bytes()
    expected = ref.get("sha256")
    if expected and hashlib.sha256(data).hexdigest() != expected:
        raise DataError(f"reference {path}", "the file changed after the spec was planned; plan it again")
    out: dict[tuple[str, str], float] = {}
    for n, row in enumerate(csv.DictReader(io.StringIO(data.decode("utf-8"))), start=2):
        try:
            out[(row["variant"].strip(), row["target"].strip())] = float(row["value"])
        except (KeyError, TypeError, ValueError, AttributeError):
            raise DataError(f"reference {path}:{n}", "a row needs `variant`, `target` and a numeric `value`") from None
    return out


# --- views ---------------------------------------------------------------------------------------


def _num(x: float | None, sign: bool = False) -> str:
    return DASH if x is None else (f"{x:+.1f}" if sign else f"{x:.1f}")


def xtreme_table(result: XtremeResult) -> Table:
    """Rows: variants, then the best-per-target row, then the published figures; columns: the
    targets and `avg`. A cell: value [interval], Δ vs the baseline; QA: F1 / EM."""
    by = {(r["variant"], r["target"]): r for r in result.rows}
    columns = [*result.targets, AVG]
    rows: list[tuple[str, ...]] = []
    for v in [*result.variants, BEST_ROW]:
        cells = []
        for t in columns:
            r = by.get((v, t))
            if r is None:
                cells.append(DASH)
                continue
            text = f"{_num(r['value'])}"
            if r["em"] is not None:
                text += f" / {_num(r['em'])}"
            text += f" [{_num(r['ci_low'])}, {_num(r['ci_high'])}]"
            if r["delta"] is not None:
                text += f" {_num(r['delta'], True)}"
            if r["chosen"]:
                text += f" ({r['chosen']})"
            cells.append(text)
        if any(c != DASH for c in cells):
            rows.append((v, *cells))
    for v in dict.fromkeys(k[0] for k in result.reference):
        values = [result.reference.get((v, t)) for t in result.targets]
        avg = result.reference.get((v, AVG))
        rows.append((f"paper: {v}", *[_num(x) for x in values], _num(avg)))
    heads = [f"{t} ({result.metrics[t]})" for t in result.targets]
    note = ("cell: the target's paper metric averaged over its languages (QA: F1 / exact match) "
            "[interval: bootstrap over examples], then Δ vs the baseline; `best (dev)`: each target's best "
            "intermediate variant on the evaluated split (named); `paper:` rows: the reference figures")
    return Table("XTREME table (paper metrics, averaged over languages)", ("variant", *heads, AVG), rows,
                 (False, *[True] * len(columns)), note)


def xtreme_csv(result: XtremeResult) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in result.rows:
        writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in CSV_COLUMNS})
    return out.getvalue()
