"""report.html: one self-contained file (inline CSS, figures as data-URI SVG, no script,
no network), readable offline and safe to mail around."""

from __future__ import annotations

import base64
import html
from dataclasses import replace

from xexp.runtime.report.examples import Example
from xexp.runtime.report.model import CLEAN, ReportSettings
from xexp.runtime.report.figures import FigureFile
from xexp.runtime.report.tables import method_of
from xexp.runtime.report.textdiff import diff_html
from xexp.runtime.report.views import (
    RowIndex, Table, attack_table, clean_table, delta_rows, full_table,
    footers, language_matrix, metric_delta_title, n_tests, per_seed_table, robustness_note, robustness_table,
    verdicts,
    worst_case_table,
)

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;margin:0 auto;
max-width:1320px;padding:16px 24px 48px;color:#1d232a;line-height:1.45}
h1{font-size:1.6em;margin:.3em 0}h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #ccd;
padding-bottom:.2em}h3{font-size:1.05em;margin:1.2em 0 .4em}
.meta{color:#555}nav a{margin-right:1em}
table{border-collapse:collapse;font-size:.86em;margin:.4em 0}
th,td{padding:3px 8px;border-bottom:1px solid #e3e5ea;text-align:left;vertical-align:top}
th{background:#f3f5f8;position:sticky;top:0}td.num,th.num{text-align:right;
font-variant-numeric:tabular-nums;white-space:nowrap}
td.pos{background:#e3eefb;color:#0b4a8b;font-weight:600}td.neg{background:#fbe6e3;color:#8b1f0b;
font-weight:600}.note{color:#555;font-size:.85em;margin:.2em 0 .8em}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:.85em}
.example{border:1px solid #dde;border-radius:6px;padding:8px 12px;margin:10px 0;background:#fcfcfe}
.example .head{font-size:.85em;color:#444;margin-bottom:4px}.example .cond{font-weight:700}
.example table{width:100%;font-size:.95em}.example th{width:7em;background:none;position:static}
.example td{white-space:pre-wrap;word-break:break-word}
del{background:#ffd7d5;color:#82071e;text-decoration:line-through}
ins{background:#ccf5d5;color:#055d20;text-decoration:none}
.ok{color:#055d20}.bad{color:#82071e}ul.preds{margin:4px 0;padding-left:1.2em;font-size:.9em}
.caveat{border:2px solid #b35900;background:#fff4e5;border-radius:6px;padding:8px 14px;
margin:12px 0}.caveat b{color:#8a4500}
pre{background:#f6f8fa;padding:8px;overflow:auto;font-size:.85em}
details summary{cursor:pointer;font-weight:600;margin:.6em 0}
"""


def _e(text: object) -> str:
    return html.escape(str(text))


def _table(table: Table, title_tag: str = "h3") -> str:
    if not table.rows:
        return ""
    head = "".join(f'<th class="{"num" if n else ""}">{_e(h)}</th>'
                   for h, n in zip(table.headers, table.numeric))
    body = []
    for k, row in enumerate(table.rows):
        signs = table.signs[k] if k < len(table.signs) else (0,) * len(row)
        cells = []
        for value, numeric, sign in zip(row, table.numeric, signs):
            classes = " ".join(c for c in ("num" if numeric else "",
                                            "pos" if sign > 0 else "neg" if sign < 0 else "") if c)
            cells.append(f'<td class="{classes}">{_e(value)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    title = f"<{title_tag}>{_e(table.title)}</{title_tag}>" if table.title else ""
    note = f'<p class="note">{_e(table.note)}</p>' if table.note else ""
    return (f"{title}<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody>"
            f"</table>{note}")


def _figure(title: str, svg: str) -> str:
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return (f'<figure><img alt="{_e(title)}" src="data:image/svg+xml;base64,{data}">'
            f"<figcaption>{_e(title)}</figcaption></figure>")


def _example(example: Example) -> str:
    rows = []
    for name, original, perturbed in example.fields:
        if original == perturbed:
            content = f'<span class="same">{_e(original)}</span>'
        else:
            content = diff_html(original, perturbed)
        rows.append(f'<tr><th>{_e(name)}</th><td dir="auto">{content}</td></tr>')
    predictions = []
    for change in example.predictions:
        before = "ok" if change.before_correct else "bad"
        after = "ok" if change.after_correct else "bad"
        predictions.append(
            f"<li><b>{_e(change.variant)}</b>: <span class=\"{before}\">{_e(change.before)} "
            f"{'✓' if change.before_correct else '✗'}</span> → <span class=\"{after}\">"
            f"{_e(change.after)} {'✓' if change.after_correct else '✗'}</span></li>")
    note = f'<div class="note">{_e(example.note)}</div>' if example.note else ""
    return (f'<div class="example"><div class="head"><span class="cond">{_e(example.condition)}'
            f"</span> {_e(example.description)} · language <b>{_e(example.language)}</b> · "
            f"id {_e(example.example_id)} · gold {_e(example.gold)}</div>"
            f"<table>{''.join(rows)}</table><ul class=\"preds\">{''.join(predictions)}</ul>"
            f"{note}</div>")


def html_report(index: RowIndex, settings: ReportSettings, meta: dict, conditions: list[str],
                examples: dict[str, list[Example]], warnings: list[str],
                figures: list[FigureFile] | None = None) -> str:
    """`figures`: the plots written beside the report (runtime/report/figures.py), embedded as
    the same SVG."""
    sections = _sections(index, settings, conditions, examples, figures or [])
    subtitle = (f"baseline <b>{_e(settings.baseline)}</b> · robustness test: Δ flip, t over paired "
                f"seeds (the trained model is the unit) plus the examples' variance, Holm over "
                f"{n_tests(index)} primary rows, α {settings.alpha:g} · {settings.ci:.0%} intervals "
                f"(over seeds plus examples for deltas; parallel-aware bootstrap over examples, "
                f"{settings.bootstrap} replicates, with one seed)")
    return _document(sections, settings, meta, warnings, subtitle, index.caveats, index.rows)


def html_report_targets(parts: list, settings: ReportSettings, meta: dict, warnings: list[str],
                        figures: dict[str, list[FigureFile]] | None = None, xtreme: Table | None = None) -> str:
    """Several targets (runtime/report/targets.py): each target's sections in turn, headed by
    the target, its metric and its own Holm family."""
    sections: list[tuple[str, str, str]] = []
    if xtreme is not None:  # the paper's table first (runtime/report/xtreme.py)
        sections.append(("xtreme", xtreme.title, _table(xtreme)))
    for part in parts:
        anchor = "target-" + _anchor(part.name)
        intro = (f'<p class="note">metric: {_e(part.metric)}; {n_tests(part.index)} '
                 f"primary rows in this target</p>")
        sections.append((anchor, f"Target {part.heading}", intro))
        sections += [(f"{anchor}-{a}", f"{part.name}: {h}", b)
                     for a, h, b in _sections(part.index, settings, part.conditions, part.examples,
                                              (figures or {}).get(part.name, []))]
    subtitle = (f"baseline <b>{_e(settings.baseline)}</b> · {len(parts)} targets, each with its own "
                f"metric · robustness test: Δ flip, t over paired seeds (the trained model is the unit) "
                f"plus the examples' variance, Holm "
                f"{'over every target' if settings.family == 'study' else 'within each target'}, "
                f"α {settings.alpha:g} · {settings.ci:.0%} intervals (over seeds plus examples for "
                f"deltas; parallel-aware bootstrap over examples, {settings.bootstrap} replicates, "
                f"with one seed)")
    caveats = [c for part in parts for c in part.index.caveats]
    return _document(sections, settings, meta, warnings, subtitle, caveats,
                     [r for part in parts for r in part.rows])


def _anchor(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name) or "x"


def _sections(index: RowIndex, settings: ReportSettings, conditions: list[str],
              examples: dict[str, list[Example]], figures: list[FigureFile]) -> list[tuple[str, str, str]]:
    """(anchor, heading, body) of one target's part of the report."""

    def shown(kind: str) -> str:
        return "".join(_figure(f.title, f.svg) for f in figures if f.kind == kind)

    sections: list[tuple[str, str, str]] = []
    metric = index.metric
    sections.append(("clean", f"Clean {metric}", _table(replace(clean_table(index), title=""))))
    summary = delta_rows(index)
    if summary:
        table = robustness_table(index, summary, "Summary (seeds pooled; primary rows are the declared hypotheses)")
        note = " ".join([robustness_note(index), f"Coloured: p (Holm) < {index.alpha:g} on a primary row.",
                         *footers([table])])
        said = "".join(f"<li>{_e(v)}</li>" for v in verdicts(index))
        seeds = per_seed_table(index)
        sections.append(("robustness", "Robustness", _table(replace(table, note=note))
                         + (f"<p><b>Verdict</b> (primary rows only)</p><ul>{said}</ul>" if said else "")
                         + (_table(seeds) if seeds.rows else "")))
        maps = shown("heatmap")
        matrices = "".join(
            _table(language_matrix(index, model, variant, [c for c in conditions if c != CLEAN]))
            for model in index.models()
            for variant in sorted({r["variant"] for r in index.pooled
                                   if r["model"] == model and r["variant"] != settings.baseline}))
        sections.append(("heatmaps", f"{metric_delta_title(metric)} by language and perturbation",
                         maps + f"<details><summary>As tables</summary>{matrices}</details>"))
    if shown("scatter"):
        sections.append(("scatter", f"Clean vs perturbed {metric}", shown("scatter")))
    if shown("bars"):
        sections.append(("bars", f"Per-language {metric} and Δ perturbed", shown("bars")))
    for anchor, build in (("worst-case", worst_case_table), ("attacks", attack_table)):
        summary_table, full = build(index, summary_only=True), build(index)
        if full.rows:
            body = _table(replace(summary_table, title=""))
            if len(full.rows) > len(summary_table.rows):
                body += (f"<details><summary>Per language ({len(full.rows)} rows)</summary>"
                         f"{_table(replace(full, title='', note=''))}</details>")
            sections.append((anchor, full.title, body))
    if examples:
        blocks = []
        for condition, chosen in examples.items():
            blocks.append(f"<h3>{_e(condition)} <small>{_e(chosen[0].description)}</small></h3>")
            blocks.extend(_example(e) for e in chosen)
        sections.append(("examples", "Examples", "".join(blocks)))
    sections.append(("all", "All cells", "<details><summary>Show all cells (seeds pooled)"
                     f"</summary>{_table(full_table(index))}</details>"))
    return sections


def _document(sections: list[tuple[str, str, str]], settings: ReportSettings, meta: dict,
              warnings: list[str], subtitle: str, caveat_lines: list[str], rows: list[dict]) -> str:
    experiment = meta.get("experiment", "experiment")
    sections = list(sections)
    method = "".join(f"<li><b>{_e(k)}</b>: {_e(v)}</li>" for k, v in method_of(rows).items())
    run = _run_details(meta)
    sections.append(("method", "Method", f"<ul>{method}</ul>{run}"))
    if warnings:
        sections.append(("warnings", "Warnings",
                         "<ul>" + "".join(f"<li>{_e(w)}</li>" for w in warnings) + "</ul>"))
    nav = "".join(f'<a href="#{a}">{_e(h)}</a>' for a, h, _ in sections)
    body = "".join(f'<section id="{a}"><h2>{_e(h)}</h2>{b}</section>' for a, h, b in sections)
    caveats = ""
    if caveat_lines:
        caveats = ('<div class="caveat" role="alert"><b>Read first</b><ul>'
                   + "".join(f"<li>{_e(c)}</li>" for c in caveat_lines) + "</ul></div>")
    if meta.get("run_id"):
        subtitle = f"run <code>{_e(meta['run_id'])}</code> · " + subtitle
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>xexp report: {_e(experiment)}</title><style>{_CSS}</style></head><body>"
            f"<header><h1>Robustness report: {_e(experiment)}</h1><p class=\"meta\">{subtitle}"
            f"</p><nav>{nav}</nav>{caveats}</header>{body}</body></html>\n")


def _run_details(meta: dict) -> str:
    parts = []
    for key, value in meta.items():
        if key == "spec":
            continue
        parts.append(f"<tr><th>{_e(key)}</th><td><code>{_e(value)}</code></td></tr>")
    table = f"<table>{''.join(parts)}</table>" if parts else ""
    spec = f"<h3>Spec</h3><pre>{_e(meta['spec'])}</pre>" if meta.get("spec") else ""
    return f"<details><summary>Run details</summary>{table}{spec}</details>"
