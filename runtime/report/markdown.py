"""report.md: the same tables and examples as the HTML report, without the figures."""

from __future__ import annotations

from dataclasses import replace

from xexp.runtime.report.examples import Example
from xexp.runtime.report.model import CLEAN, ReportSettings
from xexp.runtime.report.tables import method_of
from xexp.runtime.report.textdiff import diff_markdown, markdown_escape
from xexp.runtime.report.views import (
    RowIndex, Table, attack_table, clean_table, delta_rows, full_table,
    footers, language_matrix, n_tests, per_seed_table, robustness_note, robustness_table, verdicts,
    worst_case_table,
)


def _cell(text: str) -> str:
    """Report-generated text (names, numbers): only what would break a table is escaped,
    so the file stays readable as plain text."""
    return text.replace("\\", "\\\\").replace("|", "\\|")


def _table(table: Table, level: str = "###") -> list[str]:
    if not table.rows:
        return []
    lines = [f"{level} {_cell(table.title)}", ""] if table.title else []
    lines.append("| " + " | ".join(_cell(h) for h in table.headers) + " |")
    lines.append("|" + "|".join("---:" if n else "---" for n in table.numeric) + "|")
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows]
    if table.note:
        lines += ["", table.note]
    return lines + [""]


def _example(example: Example) -> list[str]:
    lines = [f"**{markdown_escape(example.condition)}** · language `{example.language}` · "
             f"id `{example.example_id}` · gold {markdown_escape(example.gold)}", ""]
    for name, original, perturbed in example.fields:
        text = (markdown_escape(original) if original == perturbed
                else diff_markdown(original, perturbed))
        lines.append(f"- {name}: {text}")
    for change in example.predictions:
        lines.append(f"- {markdown_escape(change.variant)}: {markdown_escape(change.before)} "
                     f"{'✓' if change.before_correct else '✗'} → {markdown_escape(change.after)} "
                     f"{'✓' if change.after_correct else '✗'}")
    if example.note:
        lines.append(f"- {markdown_escape(example.note)}")
    return lines + [""]


def markdown_report(index: RowIndex, settings: ReportSettings, meta: dict, conditions: list[str],
                    examples: dict[str, list[Example]], warnings: list[str]) -> str:
    lines = _header(meta)
    lines += [f"Baseline `{settings.baseline}`; the robustness test (Δ flip) is a t-test over "
              f"paired seeds (the trained model is the unit) plus the examples' variance, "
              f"Holm-corrected over the {n_tests(index)} primary rows, α {settings.alpha:g}; "
              f"{settings.ci:.0%} intervals (over seeds plus examples for deltas with 2 seeds or "
              f"more, parallel-aware bootstrap over examples with {settings.bootstrap} replicates "
              f"otherwise).", ""]
    lines += _caveats(index.caveats)
    lines += _body(index, settings, conditions, examples)
    return _footer(lines, warnings, index.rows)


def markdown_report_targets(parts: list, settings: ReportSettings, meta: dict, warnings: list[str]) -> str:
    """Several targets (runtime/report/targets.py): a `## Target …` section per target."""
    lines = _header(meta)
    study = settings.family == "study"
    lines += [f"Baseline `{settings.baseline}`; {len(parts)} targets, each with its own metric; "
              f"the robustness test (Δ flip) is a t-test over paired seeds (the trained model is "
              f"the unit) plus the examples' variance, Holm-corrected "
              f"{'over the primary rows of every target' if study else 'within each target'}, "
              f"α {settings.alpha:g}; {settings.ci:.0%} intervals (over seeds plus examples for "
              f"deltas with 2 seeds or more, parallel-aware bootstrap over examples with "
              f"{settings.bootstrap} replicates otherwise).", ""]
    lines += _caveats([c for part in parts for c in part.index.caveats])
    for part in parts:
        lines += [f"## Target {_cell(part.heading)}", "",
                  f"Metric: {part.metric}; {n_tests(part.index)} primary rows in this target.", ""]
        lines += _body(part.index, settings, part.conditions, part.examples, "###")
    return _footer(lines, warnings, [r for part in parts for r in part.rows])


def _header(meta: dict) -> list[str]:
    experiment = meta.get("experiment", "experiment")
    lines = [f"# Robustness report: {_cell(experiment)}", ""]
    if meta.get("run_id"):
        lines.append(f"Run `{meta['run_id']}`.")
    return lines


def _caveats(caveats: list[str]) -> list[str]:
    if not caveats:
        return []
    return ["> [!WARNING]", "> **Read first.**"] + [f"> - {_cell(c)}" for c in caveats] + [""]


def _body(index: RowIndex, settings: ReportSettings, conditions: list[str],
          examples: dict[str, list[Example]], level: str = "##") -> list[str]:
    """The tables and examples of one target; `level` is the heading of its sections."""
    sub = level + "#"
    lines = [f"{level} Clean {index.metric}", ""]
    clean = clean_table(index)
    lines += _table(replace(clean, title=""))
    summary = delta_rows(index)
    if summary:
        lines += [f"{level} Robustness", "", robustness_note(index), ""]
        table = robustness_table(index, summary, "Summary (seeds pooled; primary rows are the declared hypotheses)")
        lines += _table(table, sub)
        said = verdicts(index)
        if said:
            lines += ["**Verdict** (primary rows only):", ""] + [f"- {_cell(v)}" for v in said] + [""]
        lines += [f"{m}  " for m in footers([clean, table])] + ([""] if footers([clean, table]) else [])
        lines += _table(per_seed_table(index), sub)
        for model in index.models():
            variants = sorted({r["variant"] for r in index.pooled
                               if r["model"] == model and r["variant"] != settings.baseline})
            for variant in variants:
                lines += _table(language_matrix(index, model, variant,
                                                [c for c in conditions if c != CLEAN]), sub)
    for table in (worst_case_table(index), attack_table(index)):
        if table.rows:
            lines += [f"{level} {table.title}", ""] + _table(replace(table, title=""))
    if examples:
        lines += [f"{level} Examples", "",
                  "<del>removed</del> / <ins>added</ins> characters (grapheme diff).", ""]
        for condition, chosen in examples.items():
            lines += [f"{sub} {_cell(condition)}: `{chosen[0].description}`", ""]
            for example in chosen:
                lines += _example(example)
    lines += [f"{level} All cells", ""] + _table(replace(full_table(index), title=""))
    return lines


def _footer(lines: list[str], warnings: list[str], rows: list[dict]) -> str:
    lines += ["## Method", ""]
    lines += [f"- **{key}**: {text}" for key, text in method_of(rows).items()]
    lines.append("")
    if warnings:
        lines += ["## Warnings", ""] + [f"- {_cell(w)}" for w in warnings] + [""]
    return "\n".join(lines).rstrip() + "\n"
