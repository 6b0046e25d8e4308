"""Perturbing the text fields of a normalized table, whatever its task family.

A field (`on FIELD`) names columns of the family's examples (compiler/registry/base.py
FAMILY_FIELDS; the family is the one whose columns the table has, registry/families.py):
premise/hypothesis of a pair, question/context of extractive QA, context/endings of multiple
choice (each ending perturbed on its own; the label, an index, is kept).

A QA context carries answers at character offsets, so it is not perturbed as one string. It is
cut at every answer boundary and each piece is perturbed on its own; every answer is then the
concatenation of its pieces' perturbed text, at the new offset of its first piece. The answer
words are perturbed like the rest of the passage (a typo in the answer stays a typo in the gold:
the gold is what the perturbed context contains, and EM/F1 are computed against it), and
`context[start:start + len(text)] == text` holds for every answer by construction. Should an
answer's perturbed text come out blank (a one-letter answer deleted by char noise), that
example's answer pieces are left as they were and only the text around them is perturbed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from xexp.compiler.registry.base import FieldName, family_columns
from xexp.compiler.registry.families import table_family
from xexp.errors import DataError

Perturb = Callable[[str], str]


def perturb_answered_context(perturb: Perturb, context: str, answers: list[dict]) -> tuple[str, list[dict]]:
    """The perturbed context and its answers at their new offsets (see the module docstring)."""
    for k, a in enumerate(answers):
        if not (isinstance(a, dict) and isinstance(a.get("text"), str) and isinstance(a.get("start"), int)
                and a["text"].strip() and context[a["start"]:a["start"] + len(a["text"])] == a["text"]):
            raise DataError(f"answer {k} {a!r}", "not a non-blank {text, start} found at its offset of the "
                            "context (the normalized layout of runtime/data/formats.py)")
    spans = [(a["start"], a["start"] + len(a["text"])) for a in answers]
    cuts = sorted({0, len(context), *(edge for span in spans for edge in span)})
    pieces = [context[a:b] for a, b in zip(cuts, cuts[1:])]
    inside = [any(s <= a and b <= e for s, e in spans) for a, b in zip(cuts, cuts[1:])]
    for keep_answers in (False, True):
        new = [piece if not piece or (keep_answers and within) else perturb(piece)
               for piece, within in zip(pieces, inside)]
        offset: dict[int, int] = {}
        position = 0
        for cut, text in zip(cuts, new):
            offset[cut] = position
            position += len(text)
        offset[cuts[-1]] = position
        out = "".join(new)
        texts = [out[offset[s]:offset[e]] for s, e in spans]
        if all(text.strip() for text in texts):
            return out, [{"text": text, "start": offset[s]} for text, (s, _e) in zip(texts, spans)]
    raise AssertionError("unreachable: the unperturbed answers are not blank (checked above)")


def perturb_field(family: str, field: FieldName, row: dict[str, Any], perturb: Perturb) -> tuple[dict, bool]:
    """A copy of one normalized row with `field` perturbed, and whether any text changed."""
    out = dict(row)
    for column in family_columns(family, field):
        value = row[column]
        if value is None:
            raise DataError("the example", "is null", field=column)
        if column == "context" and family == "qa":
            out["context"], out["answers"] = perturb_answered_context(perturb, value, list(row["answers"]))
        elif isinstance(value, str):
            out[column] = perturb(value)
        else:  # multiple-choice endings: each one on its own
            out[column] = [perturb(text) for text in value]
    changed = any(out[column] != row[column] for column in family_columns(family, field))
    return out, changed


def perturb_rows(table, field: FieldName, perturb: Perturb):
    """A perturbed copy of a normalized table with its `changed` column (same schema, same ids)."""
    import pyarrow as pa

    family = table_family(table.column_names)
    columns = family_columns(family, field)  # raises on a field the family does not have
    touched = [*columns, *(["answers"] if family == "qa" and "context" in columns else [])]
    values = {c: table.column(c).to_pylist() for c in touched}
    flags = []
    for k in range(table.num_rows):
        row = {c: values[c][k] for c in touched}
        new, changed = perturb_field(family, field, row, perturb)
        for c in touched:
            values[c][k] = new[c]
        flags.append(changed)
    for c in touched:
        position = table.column_names.index(c)
        table = table.set_column(position, table.schema.field(position), pa.array(values[c], table.schema.field(position).type))
    flag_array = pa.array(flags, pa.bool_())
    if "changed" in table.column_names:
        return table.set_column(table.column_names.index("changed"), "changed", flag_array)
    return table.append_column("changed", flag_array)
