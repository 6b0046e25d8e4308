"""Model-agnostic, language-aware perturbations.

Each registered perturbation (see `xexp.compiler.registry.perturbations`) is a small class
whose `description` names every parameter and is its identity. Everything here is a pure
function of (text, language, params, seed); see `base` for how randomness is seeded.

Entry points: `apply` (one text), `perturb_example` (one NLI example), `perturb_table` (a
normalized dataset, adding the `changed` column), `describe`, `get`.
"""

from __future__ import annotations

from typing import Any, Mapping

from xexp.compiler.registry.base import FIELD_COLUMNS, FIELDS
from xexp.runtime.perturbations.base import Outcome, Perturbation, registry_entry

__all__ = [
    "Outcome", "Perturbation", "apply", "outcome", "perturb_example", "perturb_table",
    "describe", "get", "names", "default_field", "touched_fields",
]

def names() -> list[str]:
    from xexp.compiler.registry.base import REGISTRY

    return REGISTRY.names("perturbation")


def _implementation(name: str) -> type[Perturbation]:
    from xexp.runtime.implementations import resolve

    return resolve(registry_entry(name))


def get(name: str, params: Mapping[str, Any] | None = None, **kwargs: Any) -> Perturbation:
    """The perturbation `name` with validated parameters (ValueError on unknown name or params)."""
    return _implementation(name)(dict(params or {}), **kwargs)


def apply(name: str, text: str, *, lang: str, seed: int = 0, **params: Any) -> str:
    """Perturb one text. Same (text, lang, params, seed) -> same output, always."""
    return get(name, params)(text, lang, seed)


def outcome(name: str, text: str, *, lang: str, seed: int = 0, **params: Any) -> Outcome:
    """Like `apply`, with the count of units the perturbation could and did change."""
    return get(name, params).outcome(text, lang, seed)


def describe(name: str, params: Mapping[str, Any] | None = None) -> str:
    """The identity of a perturbation with its (defaulted) params, e.g. `word_drop(p=0.1)`."""
    return get(name, params).description


def default_field(name: str, params: Mapping[str, Any] | None = None) -> str:
    """The field touched when a spec names none (stress length_mismatch: the premise)."""
    return registry_entry(name).default_field_for(get(name, params).params.model_dump())


def touched_fields(name: str, field: str) -> tuple[str, ...]:
    entry = registry_entry(name)
    if field not in FIELDS:
        raise ValueError(f"field must be one of {', '.join(FIELDS)}, got {field!r}")
    if field not in entry.fields:
        raise ValueError(f"perturbation {name!r} cannot touch field {field!r} (allowed: {entry.fields})")
    return FIELD_COLUMNS[field]


def perturb_example(
    name: str, params: Mapping[str, Any], field: str, example: Mapping[str, Any], lang: str, seed: int
) -> tuple[dict, bool]:
    """A perturbed copy of an NLI example and whether a touched field really changed."""
    perturbation = get(name, params)
    result = dict(example)
    changed = False
    for column in touched_fields(name, field):
        if column not in example:
            raise ValueError(f"perturb_example: example has no field {column!r} (has {sorted(example)})")
        new = perturbation(example[column], lang, seed)
        changed = changed or new != example[column]
        result[column] = new
    return result, changed


def perturb_table(name: str, params: Mapping[str, Any], field: str, table, lang: str, seed: int):
    """A perturbed copy of a normalized pair-classification table, with a `changed` column."""
    import pyarrow as pa

    perturbation = get(name, params)
    changed = [False] * table.num_rows
    for column in touched_fields(name, field):
        if column not in table.column_names:
            raise ValueError(
                f"perturb_table: table has no column {column!r} (has {table.column_names})"
            )
        old = table.column(column).to_pylist()
        new = []
        for row, text in enumerate(old):
            if text is None:
                raise ValueError(f"perturb_table: row {row} has a null {column!r}")
            perturbed = perturbation(text, lang, seed)
            changed[row] = changed[row] or perturbed != text
            new.append(perturbed)
        table = table.set_column(table.column_names.index(column), column, pa.array(new, pa.string()))
    flags = pa.array(changed, pa.bool_())
    if "changed" in table.column_names:
        return table.set_column(table.column_names.index("changed"), "changed", flags)
    return table.append_column("changed", flags)
