"""The robustness report end to end, on real-shaped inputs written here from real XNLI text.

2 variants × 2 languages (en, hi) × (clean + 2 perturbations + 1 attack) × 2 seeds, with a
known effect: the intermediate variant "mnli" loses much less accuracy to typos and to the
attack than the baseline "none", and the same to the negation stress test. Every number the
report prints is recomputed here independently with pandas from the files themselves
(the inputs: tests/report_inputs.py).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from xexp.runtime.robustness.attacks.summary import summarize
from xexp.runtime.report import REPORT_FILES, ReportCell, ReportSettings, build_report
from xexp.runtime.report.textdiff import diff_html, diff_segments

from browser import render
from report_inputs import (ATTACK, LANGUAGES, META, N_EXAMPLES, PERTURBATIONS, SEEDS, VARIANTS,
                           write_inputs)

CSV_COLUMNS = ("model", "variant", "language", "perturbation", "seed", "n", "clean_acc",
               "perturbed_acc", "drop", "consistency", "changed", "delta_vs_baseline",
               "ci_low", "ci_high", "p_holm")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    cells = write_inputs(root / "inputs")
    settings = ReportSettings(bootstrap=1000, examples=3)
    started = time.perf_counter()
    manifest = build_report(cells, settings, root / "out", META)
    seconds = time.perf_counter() - started
    results = pd.read_csv(root / "out" / "results.csv", keep_default_na=False, dtype={"seed": str})
    return {"root": root, "cells": cells, "settings": settings, "manifest": manifest,
            "out": root / "out", "results": results, "seconds": seconds}


def _num(value) -> float:
    return float("nan") if value == "" else float(value)


def _row(results: pd.DataFrame, **where) -> pd.Series:
    chosen = results
    for key, value in where.items():
        chosen = chosen[chosen[key].astype(str) == str(value)]
    assert len(chosen) == 1, f"expected one row for {where}, found {len(chosen)}"
    return chosen.iloc[0]


# ---------------------------------------------------------------- independent recomputation

def _paired(cells: list[ReportCell], variant: str, language: str, condition: str,
            seed: int) -> pd.DataFrame:
    """Clean and perturbed correctness merged on id, computed with pandas only."""
    by_key = {(c.variant, c.language, c.condition, c.seed): c for c in cells}
    clean = pd.read_parquet(by_key[(variant, language, "clean", seed)].predictions)
    cell = by_key[(variant, language, condition, seed)]
    other = pd.read_parquet(cell.predictions)
    if cell.kind == "attack":
        return other.assign(c=other.correct, p=other.status == "failed",
                            kept=other.status != "succeeded", changed=other.words_changed > 0)
    merged = clean.merge(other, on="id", suffixes=("_c", "_p"))
    data = pd.read_parquet(cell.dataset)[["id", "changed"]]
    merged = merged.merge(data, on="id")
    return merged.assign(c=merged.correct_c, p=merged.correct_p,
                         kept=merged.predicted_c == merged.predicted_p)


def test_cell_metrics_match_an_independent_computation(report):
    results, cells = report["results"], report["cells"]
    for variant in VARIANTS:
        for language in LANGUAGES:
            for condition in (*PERTURBATIONS, ATTACK[0]):
                drops = []
                for seed in SEEDS:
                    paired = _paired(cells, variant, language, condition, seed)
                    row = _row(results, variant=variant, language=language,
                               perturbation=condition, seed=seed)
                    clean, perturbed = 100 * paired.c.mean(), 100 * paired.p.mean()
                    assert int(row.n) == len(paired) == N_EXAMPLES
                    assert _num(row.clean_acc) == pytest.approx(clean, abs=1e-3)
                    assert _num(row.perturbed_acc) == pytest.approx(perturbed, abs=1e-3)
                    assert _num(row["drop"]) == pytest.approx(clean - perturbed, abs=1e-3)
                    assert _num(row.consistency) == pytest.approx(100 * paired.kept.mean(), abs=1e-3)
                    assert _num(row.changed) == pytest.approx(100 * paired.changed.mean(), abs=1e-3)
                    drops.append(clean - perturbed)
                pooled = _row(results, variant=variant, language=language,
                              perturbation=condition, seed="all")
                assert _num(pooled["drop"]) == pytest.approx(np.mean(drops), abs=1e-3)
                assert int(pooled.n) == N_EXAMPLES * len(SEEDS)


def test_deltas_match_an_independent_computation(report):
    results, cells = report["results"], report["cells"]
    for condition in (*PERTURBATIONS, ATTACK[0]):
        per_language = []
        for language in LANGUAGES:
            deltas = []
            for seed in SEEDS:
                base = _paired(cells, "none", language, condition, seed)
                var = _paired(cells, "mnli", language, condition, seed)
                delta = 100 * ((base.c.mean() - base.p.mean()) - (var.c.mean() - var.p.mean()))
                row = _row(results, variant="mnli", language=language, perturbation=condition,
                           seed=seed)
                assert _num(row.delta_vs_baseline) == pytest.approx(delta, abs=1e-3)
                assert _num(row.ci_low) <= _num(row.delta_vs_baseline) <= _num(row.ci_high)
                deltas.append(delta)
            pooled = _row(results, variant="mnli", language=language, perturbation=condition,
                          seed="all")
            assert _num(pooled.delta_vs_baseline) == pytest.approx(np.mean(deltas), abs=1e-3)
            per_language.append(np.mean(deltas))
        macro = _row(results, variant="mnli", language="macro", perturbation=condition, seed="all")
        assert _num(macro.delta_vs_baseline) == pytest.approx(np.mean(per_language), abs=1e-3)
    # the paper's headline: plain clean accuracy delta (variant − baseline)
    for language in LANGUAGES:
        expected = np.mean([100 * (_paired(cells, "mnli", language, "typo", s).c.mean()
                                   - _paired(cells, "none", language, "typo", s).c.mean())
                            for s in SEEDS])
        row = _row(results, variant="mnli", language=language, perturbation="clean", seed="all")
        assert row.delta_metric == "clean_acc_delta"
        assert _num(row.delta_vs_baseline) == pytest.approx(expected, abs=1e-3)


def test_attack_summary_follows_textattack_definitions(report):
    results = report["results"]
    for cell in report["cells"]:
        if cell.kind != "attack":
            continue
        frame = pd.read_parquet(cell.predictions)
        succeeded, failed = (frame.status == "succeeded"), (frame.status == "failed")
        row = _row(results, variant=cell.variant, language=cell.language,
                   perturbation=cell.condition, seed=cell.seed)
        assert _num(row.accuracy_under_attack) == pytest.approx(100 * failed.mean(), abs=1e-3)
        assert _num(row.attack_success_rate) == pytest.approx(
            100 * succeeded.sum() / (succeeded.sum() + failed.sum()), abs=1e-3)
        words = frame[succeeded]
        assert _num(row.pct_words_perturbed) == pytest.approx(
            100 * (words.words_changed / words.words_total).mean(), abs=1e-3)
        assert _num(row.avg_queries) == pytest.approx(frame[succeeded | failed].queries.mean(),
                                                       abs=1e-3)
        assert _num(row.perturbed_acc) == pytest.approx(_num(row.accuracy_under_attack))
        # and the attack engine's own summary of the same records agrees
        summary = summarize(frame.to_dict("records"))
        assert _num(row.attack_success_rate) == pytest.approx(
            100 * summary["attack_success_rate"], abs=1e-3)
        assert _num(row.accuracy_under_attack) == pytest.approx(
            100 * summary["accuracy_under_attack"], abs=1e-3)
        assert _num(row.clean_acc) == pytest.approx(100 * summary["original_accuracy"], abs=1e-3)
        assert _num(row.pct_words_perturbed) == pytest.approx(summary["avg_words_perturbed_pct"],
                                                               abs=1e-3)
        assert _num(row.avg_queries) == pytest.approx(summary["avg_queries"], abs=1e-3)


def test_worst_case_is_correct_under_clean_and_every_perturbation(report):
    results, cells = report["results"], report["cells"]
    for variant in VARIANTS:
        for language in LANGUAGES:
            for seed in SEEDS:
                frames = [_paired(cells, variant, language, c, seed).set_index("id")
                          for c in PERTURBATIONS]
                worst = frames[0].c.copy()
                for frame in frames:
                    worst &= frame.p.reindex(worst.index)
                row = _row(results, variant=variant, language=language,
                           perturbation="worst_case", seed=seed)
                assert _num(row.perturbed_acc) == pytest.approx(100 * worst.mean(), abs=1e-3)


def test_the_known_effect_is_found_and_the_null_is_not(report):
    results = report["results"]
    typo = _row(results, variant="mnli", language="macro", perturbation="typo", seed="all")
    attack = _row(results, variant="mnli", language="macro", perturbation="attack", seed="all")
    negation = _row(results, variant="mnli", language="macro", perturbation="negation", seed="all")
    # per-example (checkpoint-conditional) figures find the effect ...
    assert _num(typo.ci_low) > 0 and _num(typo.p_value) < 1e-3
    assert _num(attack.ci_low) > 0 and _num(attack.p_value) < 1e-3
    assert _num(typo.perturbed_acc_delta) > 0 and _num(attack.perturbed_acc_delta) > 0
    # ... and with 2 seeds the method-level test is computed over the 2 seed differences
    assert typo.inference == "seeds" and 0 <= _num(typo.p_method) <= 1
    assert _num(typo.perturbed_ci_low) <= _num(typo.perturbed_acc_delta) <= _num(typo.perturbed_ci_high)
    # same keep probability for both variants under negation: zero is a plausible drop delta
    # and flip-rate delta (the perturbed accuracy still differs: the variant is more accurate)
    assert _num(negation.ci_low) < 0 < _num(negation.ci_high)
    assert _num(negation.flip_ci_low) < 0 < _num(negation.flip_ci_high)
    # Holm over the declared primary family only: by default one robustness row per variant,
    # the macro worst case; its p is the robustness test's (Δ flip)
    primary = results[results.family == "primary"]
    assert list(primary.language) == ["macro"] and list(primary.seed) == ["all"]
    assert list(primary.perturbation) == ["worst_case"]
    assert _num(primary.p_holm.iloc[0]) == pytest.approx(_num(primary.flip_p_method.iloc[0]), rel=1e-4)
    assert (results[results.family != "primary"].p_holm == "").all()
    assert _num(primary.mde_80.iloc[0]) > 0 and int(primary.n_paired.iloc[0]) == 2
    assert set(results[(results.seed == "all") & (results.language != "macro")
                       & (results.variant == "mnli")].family) == {"exploratory"}


def test_all_files_are_written_with_the_promised_columns(report):
    out, manifest = report["out"], report["manifest"]
    for name in REPORT_FILES:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    figures = set(manifest["files"]) - set(REPORT_FILES)  # fig-*.svg/.pdf/.png beside them (issue 30)
    assert set(REPORT_FILES) <= set(manifest["files"]) and figures
    assert all(name.startswith("fig-") and (out / name).is_file() for name in figures)
    assert {name.rsplit(".", 1)[1] for name in figures} == {"svg", "pdf", "png"}
    results = report["results"]
    assert set(CSV_COLUMNS) <= set(results.columns)
    expected_rows = len(VARIANTS) * (len(LANGUAGES) + 1) * 5 * (len(SEEDS) + 1)
    assert len(results) == expected_rows  # clean, 2 perturbations, attack, worst case
    document = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert document["meta"] == META
    assert len(document["rows"]) == len(results)
    assert set(document["columns"]) == set(results.columns)
    headline = {(h["variant"], h["perturbation"]) for h in manifest["headline"]}
    assert ("mnli", "clean") in headline and ("mnli", "typo") in headline
    json.dumps(manifest)  # the manifest travels through Ray: plain JSON


def test_terminal_summary_fits_keeps_the_files_order_and_lists_the_biggest_language_effect_first(report):
    summary = report["manifest"]["summary"]
    assert summary == (report["out"] / "summary.txt").read_text(encoding="utf-8")
    lines = summary.splitlines()
    assert max(len(line) for line in lines) <= 100
    results = report["results"]
    macro = results[(results.language == "macro") & (results.seed == "all")
                    & (results.delta_metric == "robustness_delta") & (results.family != "primary")]
    start = next(i for i, line in enumerate(lines) if line.startswith("Robustness vs"))
    header = next(i for i in range(start, len(lines)) if lines[i].startswith("variant"))
    shown = lines[header + 2: header + 3 + len(macro)]
    assert "worst_case" in shown[0] and "primary" in shown[0]  # the declared hypothesis leads
    # then the exploratory rows, in the order of results.csv and report.md (issue 30, item 7)
    assert [line.split()[1] for line in shown[1:]] == list(macro.perturbation)
    per_language = [i for i, line in enumerate(lines) if line.startswith("Largest per-language")]
    assert per_language  # the biggest language effects come after, biggest first


def test_report_html_is_self_contained_and_shows_examples(report):
    page = (report["out"] / "report.html").read_text(encoding="utf-8")
    assert "<script" not in page.lower() and "<link" not in page.lower()
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)
    images = re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) >= 1 + 1 + 1  # heatmap per variant, scatter, bars
    for data in images:
        svg = base64.b64decode(data).decode("utf-8")
        assert "<svg" in svg and "</svg>" in svg
    for condition in (*PERTURBATIONS, ATTACK[0]):
        assert f'<span class="cond">{condition}</span>' in page
    assert "<ins>" in page and "<del>" in page
    markdown = (report["out"] / "report.md").read_text(encoding="utf-8")
    assert "## Examples" in markdown and "<ins>" in markdown


def test_grapheme_diff_keeps_combining_marks_whole():
    original, perturbed = "मैं घर आया", "मैं घर आयी"  # vowel sign ा → ी
    segments = diff_segments(original, perturbed)
    assert "".join(t for op, t in segments if op != "ins") == original
    assert "".join(t for op, t in segments if op != "del") == perturbed
    assert ("del", "या") in segments and ("ins", "यी") in segments
    assert diff_html("a<b", "a<c") == "a&lt;<del>b</del><ins>c</ins>"


def test_rebuilding_gives_identical_files_whatever_the_cell_order(report, tmp_path):
    cells = list(reversed(report["cells"]))
    build_report(cells, report["settings"], tmp_path / "again", META)
    for name in REPORT_FILES:
        assert (tmp_path / "again" / name).read_bytes() == (report["out"] / name).read_bytes(), name


def test_a_different_bootstrap_seed_changes_only_the_intervals(report, tmp_path):
    settings = report["settings"].model_copy(update={"seed": 1})
    build_report(report["cells"], settings, tmp_path / "other", META)
    other = pd.read_csv(tmp_path / "other" / "results.csv", keep_default_na=False,
                        dtype={"seed": str})
    mine = report["results"]
    assert (other.delta_vs_baseline == mine.delta_vs_baseline).all()
    assert (other.p_value == mine.p_value).all()  # exact test: no randomness
    assert (other.ci_low != mine.ci_low).any()


# ---------------------------------------------------------------- bad input

def _one_language(cells: list[ReportCell]) -> list[ReportCell]:
    return [c for c in cells if c.language == "en" and c.seed == 1]


def test_bad_inputs_get_errors_that_name_the_problem(report, tmp_path):
    cells = _one_language(report["cells"])
    settings = ReportSettings(bootstrap=200, examples=0)
    with pytest.raises(ValueError, match="given twice"):
        build_report(cells + cells[:1], settings, tmp_path / "a", META)
    without_clean = [c for c in cells if not (c.variant == "mnli" and c.condition == "clean")]
    with pytest.raises(ValueError, match=r"xlmr/mnli/en/\w+/seed1 has no clean cell \(xlmr/mnli/en/clean/seed1\)"):
        build_report(without_clean, settings, tmp_path / "b", META)
    broken = tmp_path / "broken.parquet"
    frame = pd.read_parquet(cells[0].predictions).drop(columns=["correct"])
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), broken)
    bad = [cells[0].model_copy(update={"predictions": broken})] + cells[1:]
    with pytest.raises(ValueError, match=r"broken\.parquet lacks column\(s\) correct"):
        build_report(bad, settings, tmp_path / "c", META)
    attack = next(c for c in cells if c.kind == "attack")
    frame = pd.read_parquet(attack.predictions)
    frame.loc[frame.index[0], "status"] = "skipped" if frame.correct.iloc[0] else "failed"
    lying = tmp_path / "lying.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), lying)
    bad = [attack.model_copy(update={"predictions": lying}) if c is attack else c for c in cells]
    with pytest.raises(ValueError, match=r"status must be 'skipped' exactly when"):
        build_report(bad, settings, tmp_path / "d", META)
    with pytest.raises(ValueError, match="clean cell must have kind 'evaluate'"):
        ReportCell(model="m", variant="v", language="en", condition="clean", kind="attack",
                   seed=1, predictions=broken)


def test_a_missing_baseline_gives_warnings_not_a_crash(report, tmp_path):
    cells = [c for c in _one_language(report["cells"])
             if not (c.variant == "none" and c.condition == "typo")]
    manifest = build_report(cells, ReportSettings(bootstrap=200), tmp_path / "w", META)
    assert any("baseline 'none' missing" in w and "typo" in w for w in manifest["warnings"])
    results = pd.read_csv(tmp_path / "w" / "results.csv", keep_default_na=False, dtype={"seed": str})
    row = _row(results, variant="mnli", language="en", perturbation="typo", seed="all")
    assert row.delta_vs_baseline == "" and row["drop"] != ""
    assert _row(results, variant="mnli", language="en", perturbation="negation",
                seed="all").delta_vs_baseline != ""
    only_variant = [c for c in _one_language(report["cells"]) if c.variant == "mnli"]
    manifest = build_report(only_variant, ReportSettings(bootstrap=200), tmp_path / "v", META)
    assert manifest["warnings"] == ["model xlmr: no cells for the baseline 'none', so no deltas"]
    results = pd.read_csv(tmp_path / "v" / "results.csv", keep_default_na=False)
    assert (results.delta_vs_baseline == "").all() and (results.clean_acc != "").all()


def test_a_perturbation_covering_fewer_examples_is_reported(report, tmp_path):
    cells = _one_language(report["cells"])
    typo = next(c for c in cells if c.variant == "mnli" and c.condition == "typo")
    partial = tmp_path / "partial.parquet"
    frame = pd.read_parquet(typo.predictions)
    pq.write_table(pa.Table.from_pandas(frame.iloc[:100], preserve_index=False), partial)
    cells = [c.model_copy(update={"predictions": partial}) if c is typo else c for c in cells]
    manifest = build_report(cells, ReportSettings(bootstrap=200), tmp_path / "p", META)
    assert any("xlmr/mnli/en/typo/seed1: only 100 of the 240" in w for w in manifest["warnings"])
    results = pd.read_csv(tmp_path / "p" / "results.csv", keep_default_na=False, dtype={"seed": str})
    assert int(_row(results, variant="mnli", language="en", perturbation="typo", seed="1").n) == 100


# ---------------------------------------------------------------- the page in a real browser

def test_report_html_renders_in_headless_chromium(report, tmp_path):
    screenshot = report["out"].parent / "report-screenshot.png"
    state = render(report["out"] / "report.html", screenshot, tmp_path / "profile")
    assert state["errors"] == []
    assert state["images"] and all(ok and width > 0 for ok, width in state["images"])
    assert state["sections"] >= 8
    png = screenshot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width == 1400 and height == state["height"] > 3000
    keep = os.environ.get("XEXP_REPORT_SCREENSHOT")
    if keep:
        shutil.copy(screenshot, keep)


def test_the_browser_check_catches_errors_and_broken_images(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><body><p>x</p><img src="missing.png">'
                    "<script>console.error('boom'); undefinedFunction();</script></body></html>")
    state = render(page, tmp_path / "bad.png", tmp_path / "profile")
    assert any("boom" in e for e in state["errors"])
    assert any("undefinedFunction" in e or "Uncaught" in e for e in state["errors"])
    assert any(width == 0 for _, width in state["images"])
