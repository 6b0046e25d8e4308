"""The report's statistical answer (issue 29): the robustness test beside accuracy under
perturbation, declared hypotheses and their Holm family, power before and after the run,
intervals for the method, seed pairing, clipped intervals and the marks that explain them.

Rows are computed from per-example outcomes built here, the objects `collect_outcomes` hands
to `compute_rows`; the CLI lines come from the real `xexp` entry point.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as scipy_stats

from xexp.cli import main
from xexp.compiler import compile_text
from xexp.compiler.graph.report_contract import ReportParams, ReportSettings
from xexp.runtime.report.power import diff_sd, minimum_detectable_effect, power, seeds_needed
from xexp.runtime.report.model import CLEAN, WORST_CASE
from xexp.runtime.report.outcomes import Collected, Outcome
from xexp.runtime.report.rows import compute_rows
from xexp.runtime.report.terminal import terminal_summary
from xexp.runtime.report.views import RowIndex
from xexp.runtime.report.stats import seed_level, welch

REPO = Path(__file__).resolve().parents[1]
N = 2000
SETTINGS = ReportSettings(bootstrap=200, examples=0)


def _world(hazards: dict[str, float], seeds: dict[str, list[int]], languages=("de", "en"),
           accuracy: dict[str, float] | None = None, conditions=("typo",),
           seed_wobble: float = 0.02, only_in: dict[str, tuple[str, ...]] | None = None) -> Collected:
    """Per variant: clean accuracy, and the chance that the condition breaks a right answer."""
    accuracy = accuracy or {v: 0.75 for v in hazards}
    rng = np.random.default_rng(7)
    ids = np.array([f"{i:05d}" for i in range(N)])
    easy = rng.random(N)
    outcomes = {}
    for variant, hazard in hazards.items():
        for seed in seeds[variant]:
            r = np.random.default_rng([seed, variant == "none"])
            for language in languages:
                clean = easy < accuracy[variant] + 0.01 * r.standard_normal()
                clean = np.where(r.random(N) < 0.05, ~clean, clean)
                outcomes[("m", variant, language, CLEAN, seed)] = Outcome(
                    ids, clean, clean, np.ones(N, bool), np.zeros(N, bool))
                for condition in conditions:
                    if only_in and language not in only_in.get(condition, languages):
                        continue
                    h = hazard + seed_wobble * r.standard_normal()
                    perturbed = clean & (r.random(N) >= h)
                    outcomes[("m", variant, language, condition, seed)] = Outcome(
                        ids, clean, perturbed, clean == perturbed, np.ones(N, bool))
    kinds = {CLEAN: CLEAN, **{c: "perturbation" for c in conditions}}
    return Collected(outcomes, {c: "" if c == CLEAN else f"{c}()" for c in kinds}, kinds)


def _row(rows, **where) -> dict:
    chosen = [r for r in rows if all(r[k] == v for k, v in where.items())]
    assert len(chosen) == 1, (where, len(chosen))
    return chosen[0]


def _summary(rows, settings=SETTINGS) -> str:
    return terminal_summary(RowIndex(rows, "none", alpha=settings.alpha), settings, {"experiment": "t"}, [])


# ---------------------------------------------------------------- the two questions

def test_a_variant_that_flips_less_is_called_more_robust_with_a_star():
    seeds = {"none": [1, 2, 3], "mnli": [1, 2, 3]}
    rows, _ = compute_rows(_world({"none": 0.40, "mnli": 0.20}, seeds), SETTINGS)
    row = _row(rows, variant="mnli", language="macro", perturbation="typo", seed="all")
    assert row["family"] == "primary" and row["flip_rate_delta"] == pytest.approx(-20, abs=2)
    assert row["p_holm"] < 0.05 and row["flip_ci_high"] < 0
    summary = _summary(rows)
    assert "mnli vs none, typo (macro): more robust" in summary
    line = next(t for t in summary.splitlines() if t.startswith("mnli") and "typo" in t and "primary" in t)
    assert "]*" in line  # the star sits on Δ flip


def test_equal_hazards_are_not_more_robust_even_when_far_more_accurate():
    seeds = {"none": [1, 2, 3], "mnli": [1, 2, 3]}
    world = _world({"none": 0.30, "mnli": 0.30}, seeds, accuracy={"none": 0.65, "mnli": 0.80})
    rows, _ = compute_rows(world, SETTINGS)
    row = _row(rows, variant="mnli", language="macro", perturbation="typo", seed="all")
    assert row["perturbed_acc_delta"] > 8 and row["p_method"] < 0.05  # accuracy under perturbation
    assert row["p_holm"] >= 0.05  # ... is not robustness
    assert "more robust" not in _summary(rows).replace("(< 0: more robust", "")


# ---------------------------------------------------------------- declared hypotheses

def _three_conditions(**settings) -> list[dict]:
    seeds = {"none": [1, 2, 3], "mnli": [1, 2, 3]}
    world = _world({"none": 0.4, "mnli": 0.2}, seeds, conditions=("a", "b", WORST_CASE))
    world.condition_kinds[WORST_CASE] = WORST_CASE
    rows, _ = compute_rows(world, ReportSettings(bootstrap=200, examples=0, **settings))
    return rows


@pytest.mark.parametrize("primary, expected", [(None, [WORST_CASE]), (["b"], ["b"]),
                                               ("all", ["a", "b", WORST_CASE])])
def test_the_primary_family_is_what_the_spec_declares(primary, expected):
    rows = _three_conditions(primary=primary)
    family = [r for r in rows if r["family"] == "primary"]
    assert sorted(r["perturbation"] for r in family) == sorted(expected)
    assert {r["language"] for r in family} == {"macro"}
    p = np.array([r["flip_p_method"] for r in family])
    holm = np.minimum(1, np.maximum.accumulate((len(p) - np.arange(len(p))) * np.sort(p)))
    assert np.sort([r["p_holm"] for r in family]) == pytest.approx(holm)
    assert all(math.isnan(r["p_holm"]) for r in rows if r["family"] == "exploratory")
    # the header's count is the family the table shows
    assert f"Holm over {len(expected)} primary row" in _summary(rows)


def test_alpha_follows_ci():
    rows = _three_conditions()
    row = _row(rows, variant="mnli", language="macro", perturbation=WORST_CASE, seed="all")
    row["p_holm"] = 0.07  # between the two levels
    strict, loose = ReportSettings(ci=0.95), ReportSettings(ci=0.9)
    assert "more robust" not in _summary(rows, strict).split("Verdict")[1]
    assert "more robust" in _summary(rows, loose).split("Verdict")[1]


def test_a_condition_in_one_language_keeps_its_row_in_the_family():
    seeds = {"none": [1, 2, 3], "mnli": [1, 2, 3]}
    world = _world({"none": 0.4, "mnli": 0.2}, seeds, conditions=("typo", "rare"),
                   only_in={"rare": ("de",)})
    rows, _ = compute_rows(world, ReportSettings(bootstrap=200, examples=0, primary=["rare"]))
    primary = [r for r in rows if r["family"] == "primary"]
    assert [(r["language"], r["perturbation"]) for r in primary] == [("de", "rare")]
    assert "rare" in _summary(rows).split("Robustness vs")[1]


def test_report_settings_stay_out_of_existing_keys_until_set():
    spec = (REPO / "specs" / "demo.xexp").read_text(encoding="utf-8")
    _, graph = compile_text(spec, "demo.xexp")
    report = next(n for n in graph.nodes if n.kind == "report")
    assert set(report.params["settings"]) == {"baseline", "ci", "bootstrap", "seed", "examples"}
    changed = spec.replace("bootstrap=1000 }", "bootstrap=1000 primary=[typo] seed_sd=0.8 }")
    _, other = compile_text(changed, "demo.xexp")
    settings = next(n for n in other.nodes if n.kind == "report").params["settings"]
    assert settings["primary"] == ["typo"] and settings["seed_sd"] == 0.8
    assert ReportParams.model_validate(next(n for n in other.nodes if n.kind == "report").params)


def test_an_unknown_primary_condition_is_a_spec_error(tmp_path, capsys):
    spec = tmp_path / "s.xexp"
    text = (REPO / "specs" / "demo.xexp").read_text(encoding="utf-8")
    spec.write_text(text.replace("bootstrap=1000 }", "bootstrap=1000 primary=[tpyo] }"), encoding="utf-8")
    assert main(["check", str(spec), "--no-inputs"]) == 2
    err = capsys.readouterr().err
    assert "`primary` names `tpyo`" in err and "did you mean `typo`" in err and "^^^^" in err


# ---------------------------------------------------------------- power

def test_power_figures_match_the_audit_and_a_monte_carlo_t_test():
    sd = diff_sd(0.5)
    # 27 primary rows (the old xnli_robustness family): 12, 2.9 and 1.2 points for 3/5/10 seeds
    assert [round(minimum_detectable_effect(k, 27, 0.05, sd), 1) for k in (3, 5, 10)] == [12.0, 2.9, 1.2]
    assert power(1.0, 3, 27, 0.05, sd) == pytest.approx(0.013, abs=0.002)
    rng = np.random.default_rng(3)
    effect = minimum_detectable_effect(5, 3, 0.05, sd)
    draws = rng.normal(effect, sd, size=(20000, 5))
    p = scipy_stats.ttest_1samp(draws, 0.0, axis=1).pvalue
    assert np.mean(p < 0.05 / 3) == pytest.approx(0.8, abs=0.015)
    assert seeds_needed(1.0, 3, 0.05, sd) == 9 and minimum_detectable_effect(1, 3, 0.05, sd) == math.inf


def test_plan_prints_the_detectable_effect_and_check_warns_a_study_that_cannot_reject(capsys):
    assert main(["plan", str(REPO / "specs" / "xnli_robustness.xexp"), "--no-inputs", "--detect", "1"]) == 0
    out = capsys.readouterr().out
    assert "xnli: 3 primary row(s), 3 paired seeds" in out  # one worst-case row per variant
    assert "minimum detectable Δ flip at 80% power 4.0 points; to detect 1.0 points: 9 seeds" in out
    assert main(["check", str(REPO / "specs" / "demo.xexp"), "--no-inputs"]) == 0
    assert "cannot reject anything" in capsys.readouterr().out


def test_the_report_prints_the_power_of_each_primary_row():
    seeds = {"none": [1, 2, 3], "mnli": [1, 2, 3]}
    rows, _ = compute_rows(_world({"none": 0.3, "mnli": 0.3}, seeds), SETTINGS)
    row = _row(rows, variant="mnli", language="macro", perturbation="typo", seed="all")
    assert 0 < row["mde_80"] < 100
    assert f"|Δ flip| ≥ {row['mde_80']:.1f} points with 80% power" in _summary(rows).replace("\n    ", " ")


# ---------------------------------------------------------------- intervals for the method

def test_example_variance_widens_the_seed_interval_with_satterthwaite_df():
    d = [1.0, 1.2, 0.9]
    plain = seed_level(d, 0.95)
    assert plain.p == pytest.approx(scipy_stats.ttest_1samp(d, 0).pvalue)
    widened = seed_level(d, 0.95, example_var=0.25)
    a = np.var(d, ddof=1) / 3
    df = (a + 0.25) ** 2 * 2 / a ** 2
    half = scipy_stats.t.ppf(0.975, df) * math.sqrt(a + 0.25)
    assert (widened.low, widened.high) == pytest.approx((np.mean(d) - half, np.mean(d) + half))
    assert widened.df == pytest.approx(df) and widened.p > plain.p
    # identical seeds no longer give a zero-width interval when the examples vary
    assert seed_level([1.0, 1.0, 1.0], 0.95, example_var=0.04).high > 1.3


def test_welch_is_the_textbook_unequal_variance_test():
    v, b = [71.0, 72.5, 70.2, 73.1, 71.9], [69.0, 70.1, 68.2]
    ours = welch(v, b, 0.95)
    assert ours.p == pytest.approx(scipy_stats.ttest_ind(v, b, equal_var=False).pvalue)


def test_clean_accuracy_gets_a_method_level_interval_with_seeds():
    seeds = {"none": [1, 2, 3], "mnli": [1, 2, 3]}
    rows, _ = compute_rows(_world({"none": 0.3, "mnli": 0.3}, seeds), SETTINGS)
    pooled = _row(rows, variant="none", language="en", perturbation=CLEAN, seed="all")
    single = _row(rows, variant="none", language="en", perturbation=CLEAN, seed=1)
    assert pooled["clean_inference"] == "seeds" and single["clean_inference"] == "examples"
    per_seed = [_row(rows, variant="none", language="en", perturbation=CLEAN, seed=s)["clean_acc"]
                for s in (1, 2, 3)]
    plain = scipy_stats.ttest_1samp(per_seed, 0).confidence_interval(0.95)
    assert pooled["clean_ci_high"] - pooled["clean_ci_low"] >= 0.5 * (plain.high - plain.low)


# ---------------------------------------------------------------- seeds, clipping, marks

def test_partial_and_disjoint_seed_sets_say_what_pairs():
    partial, _ = compute_rows(_world({"none": 0.3, "mnli": 0.3}, {"none": [1, 2], "mnli": [1, 2, 3]}), SETTINGS)
    row = _row(partial, variant="mnli", language="macro", perturbation="typo", seed="all")
    assert row["n_seeds"] == 3 and row["n_paired"] == 2
    summary = _summary(partial)
    assert "2 paired seeds (of 3 seeds)" in summary
    world = _world({"none": 0.3, "mnli": 0.3}, {"none": [1, 2], "mnli": [3, 4, 5]})
    disjoint, warnings = compute_rows(world, SETTINGS)
    assert warnings and "nothing pairs" in _summary(disjoint)
    row = _row(disjoint, variant="mnli", language="en", perturbation="typo", seed="all")
    v = [100 * world.outcomes[("m", "mnli", "en", "typo", s)].perturbed_correct.mean() for s in (3, 4, 5)]
    b = [100 * world.outcomes[("m", "none", "en", "typo", s)].perturbed_correct.mean() for s in (1, 2)]
    assert row["inference"] == "welch" and row["n_paired"] == 0
    assert row["p_method"] == pytest.approx(scipy_stats.ttest_ind(v, b, equal_var=False).pvalue)
    assert math.isnan(row["flip_p_method"])  # Δ flip needs pairs
    # 3 variant seeds against 1 baseline seed: the variant's spread stands for both sides
    lone, _ = compute_rows(_world({"none": 0.3, "mnli": 0.3}, {"none": [1], "mnli": [1, 2, 3]}), SETTINGS)
    row = _row(lone, variant="mnli", language="macro", perturbation="typo", seed="all")
    assert row["inference"] == "welch" and row["perturbed_ci_low"] < row["perturbed_acc_delta"] < row["perturbed_ci_high"]


def test_a_runaway_interval_is_clipped_and_flagged_and_marks_have_footers_only_when_shown():
    seeds = {"none": [1, 2], "mnli": [1, 2]}
    rows, _ = compute_rows(_world({"none": 0.3, "mnli": 0.3}, seeds, seed_wobble=0.35), SETTINGS)
    row = _row(rows, variant="mnli", language="macro", perturbation="typo", seed="all")
    assert "flip_ci" in row["clipped"].split() and row["flip_ci_low"] >= -100 and row["flip_ci_high"] <= 100
    summary = _summary(rows)
    assert "‡" in summary and "clipped to the metric's range" in summary
    assert "†" not in summary and "interval over examples" not in summary
    one, _ = compute_rows(_world({"none": 0.3, "mnli": 0.3}, {"none": [1], "mnli": [1]}), SETTINGS)
    assert "†" in _summary(one) and "‡" not in _summary(one)


def test_a_failed_seed_is_named_before_any_number():
    seeds = {"none": [1, 2, 3, 4, 5], "mnli": [1, 2, 3, 4, 5]}
    world = _world({"none": 0.3, "mnli": 0.3}, seeds, seed_wobble=0.003)
    for language in ("de", "en"):  # seed 4 of the variant failed: it breaks most right answers
        o = world.outcomes[("m", "mnli", language, "typo", 4)]
        broken = o.clean_correct & (np.random.default_rng(4).random(N) < 0.9)
        world.outcomes[("m", "mnli", language, "typo", 4)] = Outcome(
            o.ids, o.clean_correct, o.clean_correct & ~broken, ~broken, o.changed)
    rows, _ = compute_rows(world, SETTINGS)
    row = _row(rows, variant="mnli", language="macro", perturbation="typo", seed="all")
    assert row["outlier_seeds"] == "4"
    assert _row(rows, variant="mnli", language="en", perturbation="clean", seed="all")["outlier_seeds"] == ""
    assert "seed 4 is an outlier" in _summary(rows)


def test_per_seed_differences_are_shown_beside_the_primary_rows(tmp_path):
    from xexp.runtime.report.views import per_seed_table

    seeds = {"none": [1, 2, 3], "mnli": [1, 2, 3]}
    rows, _ = compute_rows(_world({"none": 0.4, "mnli": 0.2}, seeds), SETTINGS)
    table = per_seed_table(RowIndex(rows, "none"))
    assert [row[4] for row in table.rows] == ["1", "2", "3"]
    en1 = _row(rows, variant="mnli", language="macro", perturbation="typo", seed=1)
    assert table.rows[0][5] == f"{en1['flip_rate_delta']:+.1f}"


def test_a_collapse_under_a_condition_is_said_before_any_number(tmp_path):
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from xexp.runtime.data.formats import NLI_LABELS
    from xexp.runtime.report import ReportCell, build_report

    rng = np.random.default_rng(1)
    gold = [NLI_LABELS[i % 3] for i in range(300)]
    ids = [str(i) for i in range(300)]
    cells = []
    data = tmp_path / "negation.parquet"
    pq.write_table(pa.Table.from_pandas(pd.DataFrame({"id": ids, "premise": ["p"] * 300, "hypothesis": ["h"] * 300,
                                                      "label": gold, "changed": [True] * 300}),
                                        preserve_index=False), data)
    for variant in ("none", "mnli"):
        for condition in (CLEAN, "negation"):
            predicted = (["contradiction"] * 300 if condition == "negation"
                         else [g if rng.random() < 0.8 else NLI_LABELS[(NLI_LABELS.index(g) + 1) % 3] for g in gold])
            path = tmp_path / f"{variant}-{condition}.parquet"
            pq.write_table(pa.Table.from_pandas(pd.DataFrame(
                {"id": ids, "gold": gold, "predicted": predicted,
                 "correct": [p == g for p, g in zip(predicted, gold)], "probs": [[1 / 3] * 3] * 300}),
                preserve_index=False), path)
            cells.append(ReportCell(model="m", variant=variant, language="en", condition=condition,
                                    kind="evaluate", seed=1, description="" if condition == CLEAN else "stress()",
                                    predictions=path, dataset=None if condition == CLEAN else data))
    build_report(cells, SETTINGS, tmp_path / "out", {"experiment": "collapse"})
    for name in ("summary.txt", "report.md", "report.html"):
        text = html.unescape((tmp_path / "out" / name).read_text(encoding="utf-8").replace("\n!! ", " "))
        text = text.replace("\\`", "`") if name == "report.md" else text  # report.md escapes backticks
        assert "predicts one class ('contradiction') for every example under `negation`" in text, name
        assert "measure that collapse" in text, name
