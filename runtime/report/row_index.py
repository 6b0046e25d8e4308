"""The pooled rows of a report indexed for the views: by key, the baseline beside a variant,
each model's languages and summary rows, and the READ FIRST lines every format shows first.

Below the views (views.py) and the sentences (statements.py), which both read rows through it.
"""

from __future__ import annotations

from xexp.runtime.report.rows import ALL_SEEDS, MACRO, has_f1
from xexp.runtime.report.seed_caveats import outlier_caveats, seed_caveat
from xexp.runtime.report.verdicts import summary_languages


class RowIndex:
    """Look-ups the views need: pooled rows by key, the baseline's row beside a variant's.

    `caveats` are the lines every format shows before any number (a model at chance, too few
    seeds for the method-level test). `metric` names what the accuracy columns measure
    (runtime/report/targets.py); `f1` says the rows carry token F1 too (extractive QA), which
    the tables then show beside it.
    """

    def __init__(self, rows: list[dict], baseline: str, caveats: list[str] | None = None,
                 metric: str = "accuracy", alpha: float = 0.05) -> None:
        self.rows = rows
        self.baseline = baseline
        self.metric = metric
        self.alpha = alpha
        self.f1 = has_f1(rows)
        self.caveats = list(caveats or [])
        extra = seed_caveat(rows)
        if extra:
            self.caveats.append(extra)
        self.caveats += outlier_caveats(rows)
        self.pooled = [r for r in rows if r["seed"] == ALL_SEEDS]
        self._by_key = {(r["model"], r["variant"], r["language"], r["perturbation"]): r
                        for r in self.pooled}
        self._summary_language: dict[str, str | None] = {}
        self._condition_language = summary_languages(self.pooled)

    def get(self, model: str, variant: str, language: str, condition: str) -> dict | None:
        return self._by_key.get((model, variant, language, condition))

    def baseline_of(self, row: dict) -> dict | None:
        return self.get(row["model"], self.baseline, row["language"], row["perturbation"])

    def summary_language(self, model: str) -> str | None:
        """"macro" when the report has several languages, else its only language."""
        if model not in self._summary_language:
            languages = {r["language"] for r in self.pooled if r["model"] == model}
            self._summary_language[model] = (
                MACRO if MACRO in languages else next(iter(languages)) if len(languages) == 1
                else None)
        return self._summary_language[model]

    def models(self) -> list[str]:
        return sorted({r["model"] for r in self.pooled})

    def languages(self, model: str) -> list[str]:
        found = {r["language"] for r in self.pooled if r["model"] == model and r["language"] != MACRO}
        return sorted(found) + ([MACRO] if len(found) > 1 else [])

    def summary(self, model: str) -> list[dict]:
        """The pooled rows in each condition's summary language (macro where the condition has
        several languages, else its one language: a condition evaluated in one language only
        is still summarised)."""
        return [r for r in self.pooled if r["model"] == model
                and r["language"] == self._condition_language.get((model, r["perturbation"]))]
