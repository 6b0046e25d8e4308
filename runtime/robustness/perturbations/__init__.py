"""Model-agnostic, language-aware perturbations.

Each registered perturbation (see `xexp.compiler.registry.perturbations`) is a small class
whose `description` names every parameter and is its identity. Everything here is a pure
function of (text, language, params, seed); see `base` for how randomness is seeded.

Entry points: `apply` (one text), `perturb_example` (one example), `perturb_table` (a
normalized pair, QA or multiple-choice dataset, adding the `changed` column), `describe`, `get`.
"""

from __future__ import annotations

from typing import Any, Mapping, cast

from xexp.compiler.registry.base import FIELDS, FieldName, family_columns
from xexp.errors import DataError, SpecValueError
from xexp.runtime.robustness.perturbations.base import Outcome, Perturbation, registry_entry

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


def touched_fields(name: str, field: str, family: str = "pair") -> tuple[str, ...]:
    """The columns `field` names in an example of `family`, checked against the entry."""
    entry = registry_entry(name)
    if field not in FIELDS:
        raise SpecValueError(f"field must be one of {', '.join(FIELDS)}, got {field!r}")
    if field not in entry.fields:
        raise SpecValueError(f"perturbation {name!r} cannot touch field {field!r} (allowed: {entry.fields})")
    return family_columns(family, field)


def perturb_example(
    name: str, params: Mapping[str, Any], field: str, example: Mapping[str, Any], lang: str, seed: int
) -> tuple[dict, bool]:
    """A perturbed copy of a pair, QA or multiple-choice example (its family read from its
    fields) and whether a touched field really changed."""
    from xexp.compiler.registry.families import table_family
    from xexp.runtime.robustness.perturbations.fields import perturb_field

    perturbation = get(name, params)
    family = table_family(list(example))
    for column in touched_fields(name, field, family):
        if column not in example:
            raise DataError("perturb_example", f"example has no field {column!r} (has {sorted(example)})")
    return perturb_field(family, cast(FieldName, field), dict(example), lambda text: perturbation(text, lang, seed))


def perturb_table(name: str, params: Mapping[str, Any], field: str, table, lang: str, seed: int):
    """A perturbed copy of a normalized pair, QA or multiple-choice table (runtime/data/formats.py),
    with a `changed` column; QA answers stay at valid offsets (perturbations/fields.py)."""
    from xexp.compiler.registry.families import table_family
    from xexp.runtime.robustness.perturbations.fields import perturb_rows

    perturbation = get(name, params)
    try:
        family = table_family(table.column_names)
    except DataError as exc:
        raise DataError("perturb_table", str(exc)) from None
    touched_fields(name, field, family)
    return perturb_rows(table, cast(FieldName, field), lambda text: perturbation(text, lang, seed))
