"""The report's figures: robustness heatmaps, clean-vs-perturbed scatter, per-language bars.

Each is a `Plot` (a `matplotlib.figure.Figure` built directly: no pyplot state, no GUI backend)
rendered once per format: SVG inside report.html, and SVG, PDF and PNG files beside it for a
paper (runtime/report/figures.py). Every format is saved with a fixed `svg.hashsalt` and no date
or version, so the same numbers give byte-identical files. SVG text stays text
(`svg.fonttype: none`): smaller files, and the browser renders it.
Titles and axes name the target's metric (`RowIndex.metric`: accuracy, exact match, token
accuracy), so a QA or tagging figure does not claim to show accuracy.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib import rc_context
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from xexp.runtime.report.model import CLEAN
from xexp.runtime.report.views import RowIndex, signed

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

_STYLE: dict[RcKeyType, Any] = {
    "svg.hashsalt": "xexp-report",
    "svg.fonttype": "none",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
}
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p")
_MISSING = "#dddddd"


#: per format: what savefig must leave out (dates, versions) for byte-identical rebuilds
_METADATA: dict[str, dict[str, Any]] = {
    "svg": {"Date": None, "Creator": "xexp"},
    "pdf": {"CreationDate": None, "Creator": "xexp", "Producer": "xexp"},
    "png": {"Software": "xexp"},
}
FORMATS = tuple(_METADATA)
PNG_DPI = 150


@dataclass(frozen=True)
class Plot:
    """One figure of the report: `stem` names its files, `kind` the report section it is in."""

    stem: str
    kind: str  # "heatmap" | "scatter" | "bars"
    title: str
    figure: Figure


def render(figure: Figure, fmt: str) -> bytes:
    """The figure as `fmt` (svg, pdf or png), the same bytes every time for the same numbers."""
    buffer = io.BytesIO()
    with rc_context(_STYLE):
        figure.savefig(buffer, format=fmt, metadata=_METADATA[fmt], dpi=PNG_DPI if fmt == "png" else "figure")
    return buffer.getvalue()


def _svg(figure: Figure) -> str:
    return render(figure, "svg").decode("utf-8")


def stem(*parts: str) -> str:
    """A file name from report names (a variant may be `mnli/v2` or `a b`); no dots, which
    `\\includegraphics` would read as the start of an extension."""
    return "-".join(re.sub(r"[^A-Za-z0-9_]+", "_", p).strip("_") or "x" for p in parts)


def _colours(names: list[str]) -> dict[str, tuple]:
    from matplotlib import colormaps
    palette = colormaps["tab10"]
    return {name: palette(i % 10) for i, name in enumerate(names)}


def plots(index: RowIndex, conditions: list[str], prefix: tuple[str, ...] = ()) -> list[Plot]:
    """Every figure of one target's report (`prefix`: the target's name, several targets)."""
    found = heatmap_plots(index, conditions, prefix)
    chart = scatter_plot(index, prefix)
    found += [chart] if chart else []
    return found + bar_plots(index, conditions, prefix)


def heatmaps(index: RowIndex, conditions: list[str]) -> list[tuple[str, str]]:
    """(title, SVG) of each heatmap."""
    return [(p.title, _svg(p.figure)) for p in heatmap_plots(index, conditions)]


def heatmap_plots(index: RowIndex, conditions: list[str], prefix: tuple[str, ...] = ()) -> list[Plot]:
    """One language × condition heatmap of the perturbed-metric delta per (model, variant)."""
    conditions = [c for c in conditions if c != CLEAN]
    deltas = [r["perturbed_acc_delta"] for r in index.pooled
              if r["delta_metric"] == "robustness_delta" and not math.isnan(r["perturbed_acc_delta"])]
    if not deltas or not conditions:
        return []
    limit = max(1.0, max(abs(d) for d in deltas))
    figures = []
    for model in index.models():
        variants = sorted({r["variant"] for r in index.pooled
                           if r["model"] == model and r["variant"] != index.baseline})
        languages = index.languages(model)
        for variant in variants:
            values = np.full((len(languages), len(conditions)), np.nan)
            stars = np.zeros(values.shape, dtype=bool)
            for i, language in enumerate(languages):
                for j, condition in enumerate(conditions):
                    row = index.get(model, variant, language, condition)
                    if row is not None:
                        values[i, j] = row["perturbed_acc_delta"]
                        stars[i, j] = False  # Δ perturbed is never starred: the test is Δ flip
            title = f"{model} / {variant}: perturbed {index.metric}, {variant} − {index.baseline}"
            figures.append(Plot(stem("heatmap", *prefix, model, variant), "heatmap", title,
                                _heatmap(values, stars, languages, conditions, limit, title)))
    return figures


def _heatmap(values: np.ndarray, stars: np.ndarray, languages: list[str], conditions: list[str],
             limit: float, title: str) -> Figure:
    with rc_context(_STYLE):
        from matplotlib import colormaps
        cmap = colormaps["RdBu"].with_extremes(bad=_MISSING)
        figure = Figure(figsize=(1.6 + 0.95 * len(conditions), 1.2 + 0.3 * len(languages)),
                        layout="constrained")
        ax = figure.subplots()
        image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, aspect="auto",
                          norm=TwoSlopeNorm(0.0, -limit, limit))
        for (i, j), value in np.ndenumerate(values):
            if not math.isnan(value):
                ax.text(j, i, signed(value) + ("*" if stars[i, j] else ""), ha="center",
                        va="center", fontsize=8,
                        color="white" if abs(value) > 0.6 * limit else "black")
        ax.set_xticks(range(len(conditions)), conditions, rotation=30, ha="right")
        ax.set_yticks(range(len(languages)), languages)
        ax.set_title(title)
        ax.spines[:].set_visible(False)
        bar = figure.colorbar(image, ax=ax, shrink=0.9, pad=0.02)
        bar.set_label("points")
        ax.set_xlabel("> 0: more robust than the baseline; * p (Holm) < 0.05", fontsize=8)
        return figure


def scatter(index: RowIndex) -> str | None:
    """The scatter as SVG, or None when there is nothing to plot."""
    chart = scatter_plot(index)
    return _svg(chart.figure) if chart else None


def scatter_plot(index: RowIndex, prefix: tuple[str, ...] = ()) -> Plot | None:
    """Clean vs perturbed metric per (variant, language, condition), with y = x."""
    rows = [r for r in index.pooled if r["language"] != "macro"
            and r["kind"] in ("perturbation", "attack")]
    if not rows:
        return None
    several_models = len(index.models()) > 1
    series = sorted({_series(r, several_models) for r in rows},
                    key=lambda s: (s.split("/")[-1] != index.baseline, s))
    conditions = sorted({r["perturbation"] for r in rows})
    colour = _colours(series)
    marker = {c: _MARKERS[i % len(_MARKERS)] for i, c in enumerate(conditions)}
    with rc_context(_STYLE):
        figure = Figure(figsize=(7.5, 6.0), layout="constrained")
        ax = figure.subplots()
        low, high = _fitted_range([v for r in rows for v in (r["clean_acc"], r["perturbed_acc"])])
        ax.plot([low, high], [low, high], linestyle="--", color="grey", linewidth=1)
        for name in series:
            for condition in conditions:
                chosen = [r for r in rows if _series(r, several_models) == name
                          and r["perturbation"] == condition]
                if chosen:
                    ax.scatter([r["clean_acc"] for r in chosen], [r["perturbed_acc"] for r in chosen],
                               color=colour[name], marker=marker[condition], s=26, alpha=0.85,
                               linewidths=0)
                for r in chosen:  # which language a point is: the question is cross-lingual
                    ax.annotate(r["language"], (r["clean_acc"], r["perturbed_acc"]), xytext=(3, 2),
                                textcoords="offset points", fontsize=6, color=colour[name])
        ax.set_xlim(low, high)
        ax.set_ylim(low, high)
        ax.set_aspect("equal")
        ax.set_xlabel(f"clean {index.metric} (%)")
        ax.set_ylabel(f"perturbed {index.metric} (%)")
        ax.set_title(f"Clean vs perturbed {index.metric} (seeds pooled); dashed: y = x")
        variants = ax.legend(handles=[Patch(color=colour[s], label=s) for s in series],
                             title="variant", loc="upper left", fontsize=8, frameon=False)
        ax.add_artist(variants)
        ax.legend(handles=[Line2D([], [], color="black", marker=marker[c], linestyle="", label=c)
                           for c in conditions],
                  title="condition", loc="upper left", bbox_to_anchor=(0.3, 1.0), fontsize=8,
                  frameon=False)  # both legends above the diagonal, where points are rare
    return Plot(stem("scatter", *prefix), "scatter",
                f"Clean vs perturbed {index.metric}; dashed line y = x", figure)


def _fitted_range(values: list[float], step: float = 5.0) -> tuple[float, float]:
    """One range for both axes (so y = x stays the diagonal) around the data, on multiples of
    `step` within 0..100: points spread over the plot instead of crowding one corner."""
    finite = [v for v in values if not math.isnan(v)] or [0.0, 100.0]
    low = max(0.0, math.floor((min(finite) - 1) / step) * step)
    high = min(100.0, math.ceil((max(finite) + 1) / step) * step)
    return low, max(high, low + step)


def _series(row: dict, several_models: bool) -> str:
    return f"{row['model']}/{row['variant']}" if several_models else row["variant"]


def bars(index: RowIndex, conditions: list[str]) -> list[tuple[str, str]]:
    """(title, SVG) of each model's bar chart."""
    return [(p.title, _svg(p.figure)) for p in bar_plots(index, conditions)]


def bar_plots(index: RowIndex, conditions: list[str], prefix: tuple[str, ...] = ()) -> list[Plot]:
    """Per model: the clean metric of every variant, then under each condition the lead figure,
    Δ perturbed (variant − baseline), per language with its interval; not the drop, which the
    report calls secondary (it counts against the model that had more to lose)."""
    figures = []
    for model in index.models():
        languages = index.languages(model)
        variants = sorted({r["variant"] for r in index.pooled if r["model"] == model},
                          key=lambda v: (v != index.baseline, v))
        present = [c for c in conditions
                   if any(_bar_row(index, model, v, lang, c) for v in variants for lang in languages)]
        if not present:
            continue
        title = (f"{model}: clean {index.metric}, and Δ perturbed {index.metric} vs "
                 f"{index.baseline} per language (seeds pooled; bars: CI)")
        figures.append(Plot(stem("bars", *prefix, model), "bars", title,
                            _bars(index, model, languages, variants, present)))
    return figures


def _bar_row(index: RowIndex, model: str, variant: str, language: str, condition: str) -> dict | None:
    """The row a bar shows: clean rows for every variant; Δ rows for the variants but the baseline."""
    row = index.get(model, variant, language, condition)
    if row is None:
        return None
    measure = "clean_acc" if condition == CLEAN else "perturbed_acc_delta"
    if condition != CLEAN and (variant == index.baseline or row["delta_metric"] != "robustness_delta"):
        return None
    return None if math.isnan(row[measure]) else row


def _bars(index: RowIndex, model: str, languages: list[str], variants: list[str],
          conditions: list[str]) -> Figure:
    colour = _colours(variants)
    columns = 2 if len(conditions) > 1 else 1
    lines = math.ceil(len(conditions) / columns)
    width = 0.8 / len(variants)
    width_in, height_in = 4.5 * columns, 0.8 + 2.4 * lines  # a paper page: \linewidth ≈ 4.8 in
    with rc_context(_STYLE):
        # fixed margins: constrained layout would double the cost of this, the largest figure
        figure = Figure(figsize=(width_in, height_in))
        figure.subplots_adjust(left=0.5 / width_in, right=1 - 0.15 / width_in,
                               bottom=0.35 / height_in, top=1 - 0.75 / height_in,
                               hspace=0.55, wspace=0.12)
        axes = figure.subplots(lines, columns, squeeze=False).ravel()
        for ax, condition in zip(axes, conditions):
            measure, low, high = (("clean_acc", "clean_ci_low", "clean_ci_high") if condition == CLEAN
                                  else ("perturbed_acc_delta", "perturbed_ci_low", "perturbed_ci_high"))
            for k, variant in enumerate(variants):
                xs: list[float] = []
                heights: list[float] = []
                errors: list[list[float]] = [[], []]  # below, above
                for i, language in enumerate(languages):
                    row = _bar_row(index, model, variant, language, condition)
                    if row is None:
                        continue
                    xs.append(i - 0.4 + width * (k + 0.5))
                    heights.append(row[measure])
                    known = not (math.isnan(row[low]) or math.isnan(row[high]))
                    errors[0].append(max(0.0, row[measure] - row[low]) if known else 0.0)
                    errors[1].append(max(0.0, row[high] - row[measure]) if known else 0.0)
                if xs:
                    ax.bar(xs, heights, width=width, color=colour[variant], label=variant,
                           yerr=errors, error_kw={"elinewidth": 0.7, "capsize": 1.5})
            ax.set_xticks(range(len(languages)), languages, fontsize=8)
            ax.axhline(0, color="black", linewidth=0.6)
            ax.set_title(f"clean {index.metric} (%)" if condition == CLEAN else
                         f"Δ perturbed under {condition} (points; > 0: more robust)")
        for ax in axes[len(conditions):]:
            ax.set_visible(False)
        handles = [Line2D([], [], color=colour[v], linewidth=6, label=v) for v in variants]
        figure.legend(handles=handles, loc="upper center", ncols=len(variants), frameon=False)
        return figure
