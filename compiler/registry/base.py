"""Declarations of everything a spec may name.

The compiler validates specs against these declarations without importing any heavy library:
each entry carries a pydantic parameter schema, the languages it supports and, for the runtime,
the dotted path of its implementation (imported lazily, only when a node runs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict

from xexp.compiler.registry.families import TASK_FAMILIES

Category = Literal[
    "task_type", "data_source", "model_source", "perturbation", "attack", "lexicon"
]
#: The text fields a perturbation or attack may name with `on FIELD`, over every task family;
#: "both" is the two text fields of the target's family.
FieldName = Literal["premise", "hypothesis", "question", "context", "endings", "query", "both"]
FIELDS: tuple[FieldName, ...] = get_args(FieldName)
#: Per task family (compiler/registry/sources.py `family=`), the fields its examples have and the
#: normalized columns (registry/families.py) each names. A tagged (per-token) example has one
#: text, its tokens, and takes no `on`; a family missing here has no field a perturbation can touch.
FAMILY_FIELDS: dict[str, dict[FieldName, tuple[str, ...]]] = {
    "pair": {"premise": ("premise",), "hypothesis": ("hypothesis",), "both": ("premise", "hypothesis")},
    "qa": {"question": ("question",), "context": ("context",), "both": ("question", "context")},
    "mc": {"context": ("context",), "endings": ("endings",), "both": ("context", "endings")},
    # retrieval: only the non-English sentence (the query) is a field; the English side it is
    # matched against is the fixed pool, as the gold answer of a QA question is
    "bitext": {"query": ("query",)},
}
#: The field touched without `on`, for the families whose default does not depend on the entry.
#: QA: the question (the document a question is asked about stays the one it was written for;
#: `on context` perturbs the passage, answers kept aligned). Multiple choice: the endings, the
#: per-choice text that plays the hypothesis's part, the shared context left as written.
#: Pair tasks use the entry's own `default_field` (most: both; attacks and stress: hypothesis).
FAMILY_DEFAULT_FIELD: dict[str, FieldName] = {"qa": "question", "mc": "endings", "bitext": "query"}
Field_ = FieldName


def family_columns(family: str, field: FieldName) -> tuple[str, ...]:
    """The columns `field` names in an example of `family` (ValueError when it has none)."""
    fields = FAMILY_FIELDS.get(family, {})
    if field not in fields:
        raise ValueError(f"a {family} example has no field {field!r} (its fields: {', '.join(fields) or 'none'})")
    return fields[field]


def dump_params(model: BaseModel, added_later: tuple[str, ...]) -> dict[str, Any]:
    """`model` as JSON values, leaving out the `added_later` fields while they hold their default:
    a field added to a schema then changes no existing node key."""
    out = model.model_dump(mode="json")
    for name in added_later:
        if getattr(model, name) == type(model).model_fields[name].default:
            out.pop(name)
    return out


class Params(BaseModel):
    """Base of every parameter schema: unknown parameters are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    #: Parameters added after specs were first compiled: left out of the node params (so out of
    #: node keys) while they hold their default, so adding one redoes no finished work.
    ADDED_LATER: ClassVar[tuple[str, ...]] = ()

    def language_problem(self, lang: str) -> str | None:
        """Why these parameters cannot be applied to text in `lang` (None: they can). The
        compiler asks for every language an entry is applied in; most entries need nothing
        beyond their declared `languages`."""
        return None

    def as_params(self) -> dict[str, Any]:
        """The validated parameters as they enter a node's params."""
        return dump_params(self, self.ADDED_LATER)


@dataclass(frozen=True)
class Entry:
    """One registered name.

    `positional` lists the parameter names that may be given without `name=`, in order.
    `languages` is None when every language is supported (for a data source: the languages
    it has data in, where it knows them). `fields` is the set of fields a perturbation may
    touch and `default_field` the one it touches when the spec says nothing; `task_types` the
    target task types it works on (None: every one). `version` enters the keys of the nodes
    that apply the entry: bump it when the implementation changes what it writes.
    `implementation` is "module:attribute", resolved by the runtime only
    (runtime/implementations.py).

    The facts below belong to one category each; an entry of another category leaves them at
    their defaults. A task type's `family` names its normalized columns and its fields
    (FAMILY_FIELDS, runtime/data/formats.py), `labels` its classes in head order; `pair`: its examples
    are a premise and a hypothesis; `per_token`: it predicts a label per word (tagging);
    `untrained`: a target of it is evaluated with no training of its own (retrieval);
    `intermediate_only`: it is never a target (masked_lm). A perturbation that `keeps_tokens`
    changes words in place without splitting or merging them, so it applies to tagged text;
    `default_field_by_param` picks its default field from a parameter's value on pair tasks. An
    attack's `model_params` are the parameters that name models it uses as tools (word_attack's
    masked LM and encoder), each lowered to a `model` node.
    """

    name: str
    category: Category
    params: type[Params]
    doc: str
    positional: tuple[str, ...] = ()
    languages: frozenset[str] | None = None
    fields: tuple[Field_, ...] = FIELDS
    default_field: Field_ = "both"
    task_types: tuple[str, ...] | None = None
    version: int = 1
    implementation: str = ""
    family: str | None = None
    labels: tuple[str, ...] = ()
    pair: bool = False
    per_token: bool = False
    untrained: bool = False
    intermediate_only: bool = False
    keeps_tokens: bool = False
    default_field_by_param: dict[str, dict[str, FieldName]] = field(default_factory=dict)
    model_params: tuple[str, ...] = ()

    def default_field_for(self, params: dict[str, Any], family: str = "pair") -> FieldName:
        """The field touched when the spec says no `on`, on a target of task `family`: the
        family's own default (FAMILY_DEFAULT_FIELD) where it has one; on pair tasks
        `default_field_by_param` may pick it from a parameter's value (a length-mismatch stress
        test goes on the premise), else `default_field`."""
        if family in FAMILY_DEFAULT_FIELD:
            return FAMILY_DEFAULT_FIELD[family]
        for param, by_value in self.default_field_by_param.items():
            value = params.get(param)
            if isinstance(value, str) and value in by_value:
                return by_value[value]
        return self.default_field


class Registry:
    """All entries, by category and name."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], Entry] = {}

    def add(self, entry: Entry) -> Entry:
        key = (entry.category, entry.name)
        if key in self._entries:
            raise ValueError(f"{entry.category} {entry.name!r} registered twice")
        self._entries[key] = entry
        return entry

    def get(self, category: str, name: str) -> Entry | None:
        return self._entries.get((category, name))

    def names(self, category: str) -> list[str]:
        return sorted(n for (c, n) in self._entries if c == category)

    def of(self, category: str) -> list[Entry]:
        return [e for (c, _), e in sorted(self._entries.items()) if c == category]


REGISTRY = Registry()


def task_family(task_type: str) -> str:
    """The family a task type declares: its normalized columns (families.py TASK_FAMILIES) and
    the fields a perturbation may name (FAMILY_FIELDS). An unknown task type is an error, never
    a guessed family: its columns would be wrong everywhere downstream."""
    entry = REGISTRY.get("task_type", task_type)
    if entry is None:
        raise ValueError(f"unknown task type {task_type!r}: expected one of {', '.join(REGISTRY.names('task_type'))}")
    assert entry.family is not None  # register() refuses a task type without a known family
    return entry.family


def register(
    name: str,
    category: Category,
    *,
    implementation: str,
    positional: tuple[str, ...] = (),
    languages: frozenset[str] | None = None,
    fields: tuple[Field_, ...] = FIELDS,
    default_field: Field_ = "both",
    task_types: tuple[str, ...] | None = None,
    version: int = 1,
    family: str | None = None,
    labels: tuple[str, ...] = (),
    pair: bool = False,
    per_token: bool = False,
    untrained: bool = False,
    intermediate_only: bool = False,
    keeps_tokens: bool = False,
    default_field_by_param: dict[str, dict[str, FieldName]] | None = None,
    model_params: tuple[str, ...] = (),
):
    """Class decorator: declare `cls` (a Params subclass) as the schema of a registered name
    (the keywords are `Entry`'s fields, which say what each means).

    The class docstring is the entry's documentation shown by `xexp perturb --list` and errors.
    """

    if category == "task_type" and family not in TASK_FAMILIES:
        raise ValueError(f"task type {name!r} declares family {family!r}: expected one of "
                         f"{', '.join(TASK_FAMILIES)} (compiler/registry/families.py)")

    def wrap(cls: type[Params]) -> type[Params]:
        REGISTRY.add(
            Entry(
                name=name,
                category=category,
                params=cls,
                doc=(cls.__doc__ or "").strip(),
                positional=positional,
                languages=languages,
                fields=fields,
                default_field=default_field,
                task_types=task_types,
                version=version,
                implementation=implementation,
                family=family,
                labels=labels,
                pair=pair,
                per_token=per_token,
                untrained=untrained,
                intermediate_only=intermediate_only,
                keeps_tokens=keeps_tokens,
                default_field_by_param=default_field_by_param or {},
                model_params=model_params,
            )
        )
        return cls

    return wrap
