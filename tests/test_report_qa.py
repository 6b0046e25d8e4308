"""An extractive QA target in the report: exact match is its accuracy, token F1 stands beside it
(with intervals, the F1 delta's included) in every table, the plots name the metric, and the
chance-level note does not compare QA with a most frequent answer. Tiny prediction tables written
here, in the shape runtime/learning/tasks/qa.py writes them."""

from __future__ import annotations

import json
import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from xexp.runtime.report import ReportCell, ReportSettings, build_report

N = 300


def qa_cell(tmp_path, variant: str, language: str, condition: str, seed: int,
            f1: np.ndarray, exact: np.ndarray, answers: list[str] | None = None,
            gold: list[str] | None = None) -> ReportCell:
    ids = [f"q{k:03d}" for k in range(len(f1))]
    predicted = answers or [f"span {k} {v:.2f}" for k, v in enumerate(f1)]
    gold = gold or [f"answer {k}" for k in range(len(f1))]
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / f"{variant}-{language}-{condition}-{seed}.parquet"
    pq.write_table(pa.table({"id": ids, "gold": [json.dumps([g]) for g in gold],
                             "predicted": predicted, "correct": exact.tolist(),
                             "probs": pa.array([[] for _ in ids], pa.list_(pa.float64())),
                             "f1": f1.astype(float).tolist()}), path)
    return ReportCell(model="m", variant=variant, language=language, condition=condition, kind="evaluate",
                      seed=seed, predictions=path, description="" if condition == "clean" else "char_noise(p=0.1)")


def _f1(rng: np.random.Generator, mean: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-example F1 in [0, 1] around `mean`, exact match where F1 is 1."""
    f1 = np.clip(rng.normal(mean, 0.3, N), 0.0, 1.0)
    f1[rng.random(N) < mean / 2] = 1.0
    return f1, f1 == 1.0


def qa_cells(tmp_path, seeds=(1, 2), languages=("en", "de")) -> list[ReportCell]:
    """Baseline `none` and variant `squad`, clean and typo; the variant keeps more F1 under typo."""
    cells = []
    for language in languages:
        for seed in seeds:
            for variant, clean_mean, typo_mean in (("none", 0.5, 0.3), ("squad", 0.6, 0.5)):
                rng = np.random.default_rng([seed, len(variant), ord(language[0])])
                for condition, mean in (("clean", clean_mean), ("typo", typo_mean)):
                    cells.append(qa_cell(tmp_path, variant, language, condition, seed, *_f1(rng, mean)))
    return cells


def rows_of(out) -> list[dict]:
    return json.loads((out / "results.json").read_text())["rows"]


def test_the_f1_delta_has_a_paired_bootstrap_interval(tmp_path):
    cells = qa_cells(tmp_path / "in")
    build_report(cells, ReportSettings(bootstrap=2000, examples=0), tmp_path / "out", {"experiment": "qa"})
    rows = {(r["variant"], r["language"], r["perturbation"], str(r["seed"])): r for r in rows_of(tmp_path / "out")}
    f1 = {(c.variant, c.language, c.condition, c.seed): pq.read_table(c.predictions).column("f1").to_numpy()
          for c in cells}
    for language in ("en", "de"):
        for condition in ("clean", "typo"):
            differences = [100.0 * (f1[("squad", language, condition, s)] - f1[("none", language, condition, s)])
                           for s in (1, 2)]
            for seed, d in zip((1, 2), differences):
                row = rows[("squad", language, condition, str(seed))]
                assert math.isclose(row["perturbed_f1_delta"], d.mean(), rel_tol=1e-5)
                # a percentile interval of the mean difference: about ±1.96 standard errors
                half = 1.96 * d.std() / math.sqrt(N)
                low, high = row["perturbed_f1_ci_low"], row["perturbed_f1_ci_high"]
                assert low < d.mean() < high and 0.8 < (high - low) / (2 * half) < 1.2, (low, high, half)
            pooled = rows[("squad", language, condition, "all")]
            assert math.isclose(pooled["perturbed_f1_delta"], np.mean([d.mean() for d in differences]), rel_tol=1e-5)
            assert pooled["perturbed_f1_ci_low"] < pooled["perturbed_f1_delta"] < pooled["perturbed_f1_ci_high"]
    macro = rows[("squad", "macro", "typo", "all")]
    assert macro["perturbed_f1_ci_low"] < macro["perturbed_f1_delta"] < macro["perturbed_f1_ci_high"]
    assert rows[("none", "en", "typo", "all")]["perturbed_f1_ci_low"] is None  # the baseline has no delta
    header = (tmp_path / "out" / "results.csv").read_text().splitlines()[0].split(",")
    assert header[-2:] == ["perturbed_f1_ci_low", "perturbed_f1_ci_high"]


def test_the_f1_delta_pairs_seeds_by_label_and_shares_example_weights(tmp_path):
    """Seeds given in another order pair by label; a variant whose F1 differs from the baseline's
    by the same amount on every example has an interval of zero width, which only happens when
    both runs of a seed get the same example weights."""
    rng = np.random.default_rng(0)
    base = {s: 0.8 * rng.random(N) for s in (3, 7)}
    cells = []
    for seed in (7, 3):
        shift = 0.1 if seed == 3 else 0.2
        for condition in ("clean", "typo"):
            cells.append(qa_cell(tmp_path, "none", "en", condition, seed, base[seed], base[seed] > 0.75))
            cells.append(qa_cell(tmp_path, "v", "en", condition, seed, base[seed] + shift,
                                 base[seed] > 0.75))
    build_report(cells[::-1], ReportSettings(bootstrap=500, examples=0), tmp_path / "out", {"experiment": "qa"})
    rows = {(r["variant"], r["perturbation"], str(r["seed"])): r for r in rows_of(tmp_path / "out")}
    for seed, shift in ((3, 10.0), (7, 20.0)):
        row = rows[("v", "typo", str(seed))]
        assert math.isclose(row["perturbed_f1_delta"], shift, rel_tol=1e-5)
        assert math.isclose(row["perturbed_f1_ci_low"], shift, rel_tol=1e-5)
        assert math.isclose(row["perturbed_f1_ci_high"], shift, rel_tol=1e-5)
    assert math.isclose(rows[("v", "typo", "all")]["perturbed_f1_ci_low"], 15.0, rel_tol=1e-5)


def _interval(value: float, low: float, high: float, sign: bool = True) -> str:
    """The `x [low, high]` text the tables write, computed here from results.json."""
    if sign:
        return f"{round(value, 1) + 0.0:+.1f} [{round(low, 1) + 0.0:+.1f}, {round(high, 1) + 0.0:+.1f}]"
    return f"{value:.1f} [{low:.1f}, {high:.1f}]"


def _svg_texts(html: str) -> list[str]:
    import base64
    import re

    texts = []
    for data in re.findall(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)", html):
        svg = base64.b64decode(data).decode()
        texts += [t.strip() for t in re.findall(r"<text\b[^>]*>([^<]*)</text>", svg)]
    return texts


def test_every_format_shows_f1_beside_exact_match_and_plots_name_the_metric(tmp_path):
    out = tmp_path / "out"
    build_report(qa_cells(tmp_path / "in"), ReportSettings(bootstrap=300, examples=0), out, {"experiment": "qa"})
    rows = {(r["variant"], r["language"], r["perturbation"], str(r["seed"])): r for r in rows_of(out)}
    typo, clean = rows[("squad", "macro", "typo", "all")], rows[("squad", "macro", "clean", "all")]
    typo_f1 = _interval(typo["perturbed_f1_delta"], typo["perturbed_f1_ci_low"], typo["perturbed_f1_ci_high"])
    clean_f1 = _interval(clean["clean_f1"], clean["clean_f1_ci_low"], clean["clean_f1_ci_high"], sign=False)
    clean_f1_delta = _interval(clean["perturbed_f1_delta"], clean["perturbed_f1_ci_low"], clean["perturbed_f1_ci_high"])

    summary = (out / "summary.txt").read_text()
    assert "Clean exact match (seeds pooled)" in summary and "clean EM [CI]" in summary
    assert typo_f1 in summary and clean_f1 in summary and clean_f1_delta in summary
    assert all(len(line) <= 100 for line in summary.splitlines())

    markdown = (out / "report.md").read_text()
    assert "## Clean exact match" in markdown
    assert "| clean EM [CI] | Δ EM vs none [CI] | p | clean F1 [CI] | Δ F1 [CI, examples] |" in markdown
    assert f"| {clean_f1} | {clean_f1_delta} |" in markdown
    summary_row = next(line for line in markdown.splitlines() if line.startswith("| m | squad | macro | typo |"))
    assert typo_f1 in summary_row
    assert "### Perturbed exact match delta by language" in markdown
    assert "Extractive QA: Δ perturbed, Δ flip and drop Δ count exact matches" in markdown
    assert "| clean EM | worst-case EM | drop | Δ worst-case EM [CI] | p acc | Δ flip [CI] | p |" in markdown
    assert "**f1**:" in markdown and "**chance (QA)**:" in markdown  # the method says what F1 is

    html = (out / "report.html").read_text()
    assert f"<td class=\"num\">{typo_f1}</td>" in html and "Δ F1 [CI, examples]" in html
    assert "Clean vs perturbed exact match" in html
    texts = _svg_texts(html)
    assert "clean exact match (%)" in texts and "perturbed exact match (%)" in texts
    assert any("perturbed exact match, squad − none" in t for t in texts)
    assert not any("accuracy" in t for t in texts), [t for t in texts if "accuracy" in t]

    tex = (out / "report.tex").read_text()
    assert r"\label{tab:qa-clean-f1}" in tex and "Clean token F1" in tex and "Clean exact match" in tex
    assert r"$\Delta$ F1 [CI, examples]" in tex


def test_a_qa_target_among_several_gets_f1_in_its_own_section_only(tmp_path):
    from xexp.compiler.graph.report_contract import ReportTarget

    qa = [c.model_copy(update={"target": "xquad"}) for c in qa_cells(tmp_path / "qa", seeds=(1,))]
    nli = []
    for c in qa_cells(tmp_path / "nli", seeds=(1,)):  # the same outcomes without F1: an accuracy task
        table = pq.read_table(c.predictions).drop_columns(["f1"])
        path = tmp_path / "nli" / ("plain-" + c.predictions.name)
        pq.write_table(table, path)
        nli.append(c.model_copy(update={"target": "xnli", "predictions": path}))
    targets = [ReportTarget(task="xquad", trained_on="squad", task_type="extractive_qa", languages=["en", "de"]),
               ReportTarget(task="xnli", trained_on="mnli", task_type="nli", languages=["en", "de"])]
    out = tmp_path / "out"
    build_report(qa + nli, ReportSettings(bootstrap=200, examples=0), out, {"experiment": "two"}, targets=targets)
    markdown = (out / "report.md").read_text()
    xquad, xnli = markdown.split("## Target xnli")
    assert "## Target xquad (extractive_qa, trained on squad; exact match; en de)" in xquad
    assert "Δ F1 [CI, examples]" in xquad and "### Clean exact match" in xquad
    assert "Δ F1" not in xnli.split("## Method")[0] and "### Clean accuracy" in xnli
    texts = _svg_texts((out / "report.html").read_text())
    assert "clean exact match (%)" in texts and "clean accuracy (%)" in texts
    rows = rows_of(out)
    assert all(r["perturbed_f1_ci_low"] is None for r in rows if r["target"] == "xnli")
    assert any(r["perturbed_f1_ci_low"] is not None for r in rows if r["target"] == "xquad")


def test_qa_is_not_compared_with_a_most_frequent_answer_but_flagged_without_exact_matches(tmp_path):
    """Questions whose gold answer is often the same ("1990" for 40% of them) gave QA a "majority
    class" to be at chance against: a model with 35% exact match and 70% F1 was called noise. QA
    has no constant-guess floor; what is flagged is a model that never matches exactly."""
    rng = np.random.default_rng(5)
    gold = ["1990" if k % 5 < 2 else f"answer {k}" for k in range(N)]
    exact = rng.random(N) < 0.35
    f1 = np.where(exact, 1.0, 0.55)
    never = np.zeros(N, dtype=bool)
    cells = [qa_cell(tmp_path, "none", "en", "clean", 1, f1, exact, gold=gold),
             qa_cell(tmp_path, "squad", "en", "clean", 1, np.full(N, 0.4), never, gold=gold)]
    manifest = build_report(cells, ReportSettings(bootstrap=100, examples=0), tmp_path / "out", {"experiment": "qa"})
    caveats = [w for w in manifest["warnings"] if "/" in w.split(" ")[0]]
    assert not any(c.startswith("m/none") for c in caveats), caveats
    (flagged,) = [c for c in caveats if c.startswith("m/squad")]
    assert "no exact match (F1 40.0%)" in flagged and "majority" not in flagged
    summary = (tmp_path / "out" / "summary.txt").read_text()
    read_first = "".join(line.removeprefix("!! ") for line in summary.splitlines() if line.startswith("!! "))
    assert "Nochance-levelcheckforQA" in read_first.replace(" ", "")  # wrapped at spaces and hyphens


def test_tracked_metrics_of_a_qa_report_carry_f1_beside_exact_match(tmp_path):
    from xexp.runtime.engine.tracking import _report_metrics

    build_report(qa_cells(tmp_path / "in", seeds=(1,)), ReportSettings(bootstrap=100, examples=0), tmp_path / "out",
                 {"experiment": "qa"})
    rows = {(r["variant"], r["language"], r["perturbation"]): r for r in rows_of(tmp_path / "out") if r["seed"] == "all"}
    metrics = _report_metrics(tmp_path / "out" / "results.json")
    assert metrics["clean_f1/m/squad/macro"] == rows[("squad", "macro", "clean")]["clean_f1"]
    assert metrics["perturbed_f1/m/none/de/typo"] == rows[("none", "de", "typo")]["perturbed_f1"]
    assert metrics["clean_acc/m/squad/macro"] == rows[("squad", "macro", "clean")]["clean_acc"]
