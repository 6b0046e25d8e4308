"""report.md: the same tables and examples as the HTML report, without the figures."""

from __future__ import annotations

import html
import re
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
    """A value in a table cell or a one-line note. What would break the table (``|``, a line
    break) or make markup (HTML, code spans, links and images) is escaped; brackets and
    underscores stay, so the file reads as plain text ("[CI]", "worst_case")."""
    text = html.escape(_one_line(str(text)), quote=False)
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`")
    return text.replace("](", "\\](").replace("![", "!\\[")


def _one_line(text: str) -> str:
    """Data never starts a line of its own (a heading, a list, a block of raw HTML)."""
    return " ".join(text.splitlines()) if ("\n" in text or "\r" in text or "\u2028" in text) else text


def _text(text: str) -> str:
    """Data text (example texts, labels, names) escaped whole: nothing in it is markup."""
    return markdown_escape(_one_line(str(text)))


def _code(text: str) -> str:
    """A value shown literally in a code span (ids, languages): the fence is one backtick longer
    than any run of backticks inside, so the value cannot close it (CommonMark 6.1)."""
    text = _one_line(str(text))
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith(("`", " ")) or text.endswith(("`", " ")) or not text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _table(table: Table, level: str = "###") -> list[str]:
    if not table.rows:
        return []
    lines = [f"{level} {_cell(table.title)}", ""] if table.title else []
    lines.append("| " + " | ".join(_cell(h) for h in table.headers) + " |")
    lines.append("|" + "|".join("---:" if n else "---" for n in table.numeric) + "|")
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows]
    if table.note:
        lines += ["", _cell(table.note)]
    return lines + [""]


def _example(example: Example) -> list[str]:
    lines = [f"**{_text(example.condition)}** · language {_code(example.language)} · "
             f"id {_code(example.example_id)} · gold {_text(example.gold)}", ""]
    for name, original, perturbed in example.fields:
        text = (_text(original) if original == perturbed
                else _one_line(diff_markdown(original, perturbed)))
        lines.append(f"- {_text(name)}: {text}")
    for change in example.predictions:
        lines.append(f"- {_text(change.variant)}: {_text(change.before)} "
                     f"{'✓' if change.before_correct else '✗'} → {_text(change.after)} "
                     f"{'✓' if change.after_correct else '✗'}")
    if example.note:
        lines.append(f"- {_text(example.note)}")
    return lines + [""]


def markdown_report(index: RowIndex, settings: ReportSettings, meta: dict, conditions: list[str],
                    examples: dict[str, list[Example]], warnings: list[str]) -> str:
    lines = _header(meta)
    lines += [f"Baseline {_code(settings.baseline)}; the robustness test (Δ flip) is a t-test over "
              f"paired seeds (the trained model is the unit) plus the examples' variance, "
              f"Holm-corrected over the {n_tests(index)} primary rows, α {settings.alpha:g}; "
              f"{settings.ci:.0%} intervals (over seeds plus examples for deltas with 2 seeds or "
              f"more, parallel-aware bootstrap over examples with {settings.bootstrap} replicates "
              f"otherwise).", ""]
    lines += _caveats(index.caveats)
    lines += _body(index, settings, conditions, examples)
    return _footer(lines, warnings, index.rows)


def markdown_report_targets(parts: list, settings: ReportSettings, meta: dict, warnings: list[str],
                            xtreme: Table | None = None) -> str:
    """Several targets (runtime/report/targets.py): a `## Target …` section per target, after
    the XTREME table (runtime/report/xtreme.py) when there is one."""
    lines = _header(meta)
    study = settings.family == "study"
    lines += [f"Baseline {_code(settings.baseline)}; {len(parts)} targets, each with its own metric; "
              f"the robustness test (Δ flip) is a t-test over paired seeds (the trained model is "
              f"the unit) plus the examples' variance, Holm-corrected "
              f"{'over the primary rows of every target' if study else 'within each target'}, "
              f"α {settings.alpha:g}; {settings.ci:.0%} intervals (over seeds plus examples for "
              f"deltas with 2 seeds or more, parallel-aware bootstrap over examples with "
              f"{settings.bootstrap} replicates otherwise).", ""]
    lines += _caveats([c for part in parts for c in part.index.caveats])
    if xtreme is not None:
        lines += _table(xtreme, "##")
    for part in parts:
        lines += [f"## Target {_cell(part.heading)}", "",
                  f"Metric: {_cell(part.metric)}; {n_tests(part.index)} primary rows in this target.", ""]
        lines += _body(part.index, settings, part.conditions, part.examples, "###")
    return _footer(lines, warnings, [r for part in parts for r in part.rows])


def _header(meta: dict) -> list[str]:
    experiment = meta.get("experiment", "experiment")
    lines = [f"# Robustness report: {_cell(experiment)}", ""]
    if meta.get("run_id"):
        lines.append(f"Run {_code(meta['run_id'])}.")
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
        lines += [f"{level} Robustness", "", _cell(robustness_note(index)), ""]
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
            lines += [f"{level} {_cell(table.title)}", ""] + _table(replace(table, title=""))
    if examples:
        lines += [f"{level} Examples", "",
                  "<del>removed</del> / <ins>added</ins> characters (grapheme diff).", ""]
        for condition, chosen in examples.items():
            lines += [f"{sub} {_cell(condition)}: {_code(chosen[0].description)}", ""]
            for example in chosen:
                lines += _example(example)
    lines += [f"{level} All cells", ""] + _table(replace(full_table(index), title=""))
    return lines


def _footer(lines: list[str], warnings: list[str], rows: list[dict]) -> str:
    lines += ["## Method", ""]
    lines += [f"- **{_cell(key)}**: {_cell(text)}" for key, text in method_of(rows).items()]
    lines.append("")
    if warnings:
        lines += ["## Warnings", ""] + [f"- {_cell(w)}" for w in warnings] + [""]
    return "\n".join(lines).rstrip() + "\n"
