"""TextAttack's summary of an attack run, from ATTACK_COLUMNS records.

Definitions as in TextAttack 0.3 (`AttackSuccessRate`, `WordsPerturbed`, `AttackQueries`):
original accuracy = (total − skipped) / total; accuracy under attack = failed / total; attack
success rate = succeeded / (succeeded + failed); the average share of words perturbed is taken
over *successful* attacks only (as TextAttack does), each as words changed over all words of the
input (`words_total` counts premise and hypothesis even when one field is attacked, as
TextAttack's `original_text.words` does), and the average number of queries over attacked
examples (succeeded + failed; skipped ones are not attacked).
"""

from __future__ import annotations

from typing import Any, Iterable

from xexp.errors import DataError

_STATUSES = ("skipped", "succeeded", "failed")


def summarize(records: Iterable[dict[str, Any]]) -> dict[str, float | int | None]:
    """Counts and rates; a rate with an empty denominator is None rather than a made-up 0."""
    counts = dict.fromkeys(_STATUSES, 0)
    perturbed: list[float] = []
    queries: list[int] = []
    for index, record in enumerate(records):
        status = record.get("status")
        if status not in counts:
            raise DataError(f"attack record #{index}", f"status {status!r} is not one of {_STATUSES}")
        counts[status] += 1
        if status == "succeeded":
            total_words = record["words_total"]
            perturbed.append(100.0 * record["words_changed"] / total_words if total_words else 0.0)
        if status != "skipped":
            queries.append(int(record["queries"]))
    total = sum(counts.values())
    attacked = counts["succeeded"] + counts["failed"]
    return {
        "total": total,
        "succeeded": counts["succeeded"],
        "failed": counts["failed"],
        "skipped": counts["skipped"],
        "original_accuracy": (total - counts["skipped"]) / total if total else None,
        "accuracy_under_attack": counts["failed"] / total if total else None,
        "attack_success_rate": counts["succeeded"] / attacked if attacked else None,
        "avg_words_perturbed_pct": sum(perturbed) / len(perturbed) if perturbed else None,
        "avg_queries": sum(queries) / len(queries) if queries else None,
    }
