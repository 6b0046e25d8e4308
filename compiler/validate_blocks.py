"""Validation of the blocks of a spec: perturbations, settings (train/evaluate/report) and resources.

A mixin of the validator in validate.py (which keeps statements, declarations and assembly):
these rules only read the validator's collected blocks, variables and tasks, and report into
its error sink.
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal, Sequence, cast

from pydantic import BaseModel, ValidationError

from xexp.compiler import ast
from xexp.compiler.binding import bind
from xexp.compiler.errors import did_you_mean
from xexp.compiler.graph.report_contract import RESERVED_CONDITIONS  # names the report gives its own rows
from xexp.compiler.graph.node import Resources
from xexp.compiler.registry.base import FAMILY_FIELDS, FIELDS, FieldName, task_family
from xexp.compiler.registry.sources import RETRIEVAL_MAX_LEN, UNTRAINED_TASKS
from xexp.compiler.spec import (
    INTERMEDIATE_DEFAULTS, NODE_KINDS, TARGET_DEFAULTS, EvaluateSettings, PerturbationDef, Sweep, TargetDef,
    TrainSettings,
)
from xexp.compiler.validator_state import ValidatorState
from xexp.compiler.values import Unconvertible, describe_value, plain

BLOCKS = ("perturbations", "train", "evaluate", "resources", "report")
PHASES = ("intermediate", "target")
RESOURCE_KEYS = ("cpus", "gpus", "memory")
MAX_MEMORY = 2**60  # bytes; larger sizes are typos
MEMORY_PATTERN = re.compile(r"^\s*(\d+(\.\d+)?)\s*([KMGT]i?B?|B)?\s*$", re.IGNORECASE)


class BlockRules(ValidatorState):
    """Methods of `_Validator` for blocks; see validate.py for the state they use."""

    def perturbations(self, languages: list[str], target_types: Sequence[str] = ()) -> list[PerturbationDef]:
        """The perturbations block. The targets' task types decide the fields an `on` may name
        (compiler/registry/base.py FAMILY_FIELDS: a field of some target the entry works on)
        and the default field (that of the first such target; lowering resolves it again per
        target, `PerturbationDef.field_for`)."""
        block = self.blocks.get(("perturbations", None))
        if block is None:
            return []
        out: list[PerturbationDef] = []
        named: set[str] = set()  # the names in `out`: a long block is checked in linear time
        for entry in block.entries:
            if "." in entry.key:
                self.sink.error(f"a perturbation name is a plain name, not `{entry.key}`", entry.key_span)
                continue
            if entry.key in named or entry.key in RESERVED_CONDITIONS:
                self.sink.error(f"perturbation name `{entry.key}` is {'reserved' if entry.key in RESERVED_CONDITIONS else 'used twice'}",
                                entry.key_span)
                continue
            if not isinstance(entry.value, ast.Call):
                self.sink.error("a perturbation is a call, e.g. char_noise(p=0.05)", ast.span_of(entry.value))
                continue
            bound = bind(entry.value, ("perturbation", "attack"), self.variables, self.sink)
            if bound is None:
                continue
            reg, params, args = bound
            self.entry_spans[entry.key] = entry.value.name_span
            if not self.models_named(reg, params, args):
                continue
            fitting = [t for t in target_types if reg.task_types is None or t in reg.task_types]
            # no target it fits (or none yet): the entry's own default, the one of pair tasks
            families = list(dict.fromkeys(task_family(t) for t in fitting)) or ["pair"]
            default = reg.default_field_for(params, families[0])
            field = default
            if entry.on is not None:
                if entry.on.name not in FIELDS:
                    self.sink.error(f"unknown field `{entry.on.name}`", entry.on.span,
                                    did_you_mean(entry.on.name, FIELDS))
                    continue
                # An entry that works on no target's task type is refused, with the task named,
                # by the cross check (validate_compat.py); its field is moot. A per-token target
                # has no fields at all (validate.py says so).
                own_fields = [f for family in families for f in FAMILY_FIELDS.get(family, ())]
                if (fitting or not target_types) and own_fields and entry.on.name not in own_fields:
                    what = " or ".join(dict.fromkeys(fitting)) if fitting else "pair"
                    self.sink.error(f"{what} examples have no field `{entry.on.name}`", entry.on.span,
                                    f"the fields of {what} examples: {', '.join(dict.fromkeys(own_fields))} "
                                    f"(without `on`: {default})")
                    continue
                if (fitting or not target_types) and entry.on.name not in reg.fields:
                    self.sink.error(f"`{reg.name}` cannot be applied to `{entry.on.name}`", entry.on.span,
                                    "it supports: " + ", ".join(reg.fields))
                    continue
                field = cast(FieldName, entry.on.name)
            only = self.restricted_languages(entry, languages)
            if only is False:
                continue
            applied = only if only is not None else languages
            if reg.languages is not None:
                unsupported = [lang for lang in applied if lang not in reg.languages]
                if unsupported:
                    supported = [lang for lang in applied if lang in reg.languages]
                    fix = (f"restrict it: `{entry.key} = {reg.name}(…) in [{' '.join(supported)}]`" if supported
                           else f"none of its languages is evaluated here: remove `{entry.key}`")
                    self.sink.error(f"`{reg.name}` does not support language{'s' if len(unsupported) > 1 else ''} "
                                    f"{' '.join(unsupported)}", entry.value.name_span,
                                    f"{fix} (it supports: {' '.join(sorted(reg.languages))})")
                    continue
            problems = [(lang, reg.params.model_validate(params).language_problem(lang)) for lang in applied]
            problems = [(lang, problem) for lang, problem in problems if problem]
            if problems:
                fine = [lang for lang in applied if lang not in {bad for bad, _ in problems}]
                lang, problem = problems[0]
                self.sink.error(f"`{reg.name}` cannot be applied to {lang}: {problem}", entry.value.name_span,
                                f"restrict it: `{entry.key} = {reg.name}(…) in [{' '.join(fine)}]`" if fine
                                else "change its parameters")
                continue
            description = describe(reg.name, params, field, default)
            category = cast(Literal["perturbation", "attack"], reg.category)  # what `bind` was asked for
            named.add(entry.key)
            out.append(PerturbationDef(name=entry.key, entry=reg.name, category=category, params=params,
                                       field=field, description=description, languages=only,
                                       on=cast(FieldName, entry.on.name) if entry.on is not None else None))
        return out

    def models_named(self, reg, params: dict, args: dict) -> bool:
        """An attack's model parameters (`word_attack(mlm=xlmr_mlm, encoder=e5)`) name declared
        models; those models become the attack's tools (`tool_models`), not encoders to train."""
        ok = True
        for name in reg.model_params:
            value = params.get(name)
            if value is None:
                continue
            if value not in self.model_spans:
                self.sink.error(f"`{reg.name}`: `{name}={value}` names no declared model",
                                ast.span_of(args[name].value),
                                did_you_mean(str(value), list(self.model_spans))
                                or f"declare it, e.g. `model {value} = hf(\"FacebookAI/xlm-roberta-base\")`")
                ok = False
            else:
                self.tool_models.add(str(value))
        return ok

    def restricted_languages(self, entry: ast.Entry, languages: list[str]) -> list[str] | None | Literal[False]:
        """The languages of an `… in [de fr]` clause (None without one, False on error)."""
        if entry.languages is None:
            return None
        out = []
        for item in entry.languages.items:
            name = item.name if isinstance(item, ast.Name) else None
            if name is None or name not in languages:
                self.sink.error(f"`{name or describe_value(item)}` is not one of the spec's languages",
                                ast.span_of(item), did_you_mean(name or "", languages))
                return False
            out.append(name)
        if not out:
            self.sink.error("`in [...]` lists no language", entry.languages.span)
            return False
        return out

    def settings_block(self, keyword: str, label: str | None, model: type[BaseModel], allow_sweep: bool = False,
                       base: dict | None = None, calls: Any = None) -> Any:
        block = self.blocks.get((keyword, label))
        values: dict[str, Any] = dict(base or {})
        spans: dict[str, ast.Entry] = {}
        if block is not None:
            for entry in block.entries:
                if not self.plain_entry(entry):
                    continue
                if entry.key in spans:
                    self.sink.error(f"setting `{entry.key}` is given twice", entry.key_span)
                    continue
                if isinstance(entry.value, ast.Sweep) and allow_sweep:
                    try:
                        values[entry.key] = Sweep(values=[plain(v, self.variables, self.sink) for v in entry.value.items.items])
                    except (Unconvertible, ValidationError):
                        self.sink.error("a sweep lists one or more finite numbers", entry.value.span,
                                        "e.g. `lr = sweep[1e-5, 2e-5, 3e-5]`")
                        continue
                else:
                    try:
                        values[entry.key] = plain(entry.value, self.variables, self.sink, calls=calls)
                    except Unconvertible:
                        continue
                spans[entry.key] = entry
        try:
            return model(**values)
        except ValidationError as err:
            reported: set[str] = set()
            for problem in err.errors():
                loc = problem.get("loc") or ("",)
                key = str(loc[0])
                if key in reported:  # a union reports each alternative; one message is enough
                    continue
                reported.add(key)
                given = spans.get(key)
                title = f"{keyword} {label}" if label else keyword
                if problem.get("type") == "extra_forbidden":
                    self.sink.error(f"`{title}` has no setting `{key}`", given.key_span if given else (block.span if block else ast.NO_SPAN),
                                    did_you_mean(key, model.model_fields) or "settings: " + ", ".join(model.model_fields))
                else:
                    self.sink.error(f"setting `{key}` in `{title}`: {problem.get('msg')}",
                                    ast.span_of(given.value) if given else ast.NO_SPAN)
            return model(**{k: v for k, v in (base or {}).items()}) if base is not None else model()

    def reference_file(self, call: ast.Call) -> dict:
        """`report { reference = local("figures.csv") }`: a local CSV of published figures."""
        path = call.args[0].value if len(call.args) == 1 and call.args[0].key is None else None
        if call.name != "local" or not isinstance(path, ast.Str):
            self.sink.error(f"`reference` is a local CSV file, not `{call.name}(…)`", call.span,
                            'e.g. `reference = local("reference/phang2020_xtreme.csv")` (columns variant,target,value)')
            raise Unconvertible
        return {"path": plain(path, self.variables, self.sink)}

    def check_primary(self, primary: list[str] | str | None, perturbations: Sequence[PerturbationDef]) -> None:
        """`report { primary=[…] }` names conditions the report will have: a perturbation or an
        attack of the spec, or the worst case (`clean` has no robustness row to test)."""
        if not isinstance(primary, list):
            return
        block = self.blocks.get(("report", None))
        entry = next((e for e in block.entries if e.key == "primary"), None) if block else None
        items = entry.value.items if entry is not None and isinstance(entry.value, ast.ListValue) else []
        known = [p.name for p in perturbations] + ["worst_case"]
        for i, name in enumerate(primary):
            if name in known:
                continue
            span = ast.span_of(items[i]) if i < len(items) else (ast.span_of(entry.value) if entry else ast.NO_SPAN)
            hint = ("`clean` has no robustness row; the clean accuracy delta is always exploratory"
                    if name == "clean" else did_you_mean(name, known) or "conditions: " + ", ".join(known))
            self.sink.error(f"`primary` names `{name}`, which is no perturbation, attack or `worst_case` of the spec",
                            span, hint)

    def plain_entry(self, entry: ast.Entry) -> bool:
        """Outside `perturbations`, an entry takes no `on FIELD` and no `in [languages]`."""
        ok = True
        if entry.on is not None:
            self.sink.error("`on` is only for perturbations", entry.on.span)
            ok = False
        if entry.languages is not None:
            self.sink.error("`in [...]` is only for perturbations", entry.languages.span)
            ok = False
        return ok

    def train_settings(self) -> dict[str, TrainSettings]:
        for (keyword, label), block in self.blocks.items():
            if keyword == "train" and label not in PHASES and label not in self.tasks \
                    and label not in self.variant_spans:
                if label is None:
                    self.sink.error("`train` needs a phase or a task: `train intermediate { … }`", block.keyword.span)
                elif label not in self.task_spans:
                    self.sink.error(f"`train {label}`: no phase or task named `{label}`", ast.span_of(block.label),
                                    did_you_mean(label, list(PHASES) + list(self.task_spans) + list(self.variant_spans)))
            if keyword in ("resources", "report", "perturbations") and label is not None:
                self.sink.error(f"`{keyword}` takes no label", ast.span_of(block.label))
        phases = {
            "intermediate": self.settings_block("train", "intermediate", TrainSettings, True, INTERMEDIATE_DEFAULTS),
            "target": self.settings_block("train", "target", TrainSettings, True, TARGET_DEFAULTS),
        }
        out = dict(phases)
        for task in self.tasks:
            if ("train", task) in self.blocks:
                # a task's own block refines the phase it is used in; it is resolved per phase in lowering
                for phase, settings in phases.items():
                    merged = self.settings_block("train", task, TrainSettings, True,
                                                 settings.model_dump(exclude_unset=False))
                    out[f"{phase}:{task}"] = merged
        for variant in self.variants:  # a variant is only ever an intermediate training
            if ("train", variant) in self.blocks:
                out[f"intermediate:{variant}"] = self.settings_block(
                    "train", variant, TrainSettings, True, phases["intermediate"].model_dump(exclude_unset=False))
        return out

    def evaluate_settings(self, targets: list[TargetDef] | None) -> tuple[EvaluateSettings, dict[str, EvaluateSettings]]:
        """`evaluate { … }` for every target, and each `evaluate TARGET { … }` refining it for
        one target, as `train TASK { … }` refines a phase (jiant evaluates QA targets at 384
        tokens and the others at 256: docs/phang2020.md). Keyed by the target's task; a label
        that is no target is an error (unchecked while the targets themselves failed)."""
        spec_wide = self.settings_block("evaluate", None, EvaluateSettings)
        names = [t.task for t in targets or []]
        own: dict[str, EvaluateSettings] = {}
        for (keyword, label), block in self.blocks.items():
            if keyword != "evaluate" or label is None:
                continue
            if targets is not None and label not in names:
                trains = [t.task for t in targets if t.trained_on == label]
                known = f"`{label}` is a task, not a target" if label in self.task_spans else f"no target named `{label}`"
                self.sink.error(f"`evaluate {label}`: {known}", ast.span_of(block.label),
                                f"`{label}` trains the target `{trains[0]}`: write `evaluate {trains[0]} {{ … }}`"
                                if trains else did_you_mean(label, names) or "targets: " + ", ".join(names))
                continue
            own[label] = self.settings_block("evaluate", label, EvaluateSettings,
                                             base=spec_wide.model_dump(exclude_unset=False))
        for target in targets or []:
            # a retrieval target embeds at XTREME's length unless its own block says otherwise
            # (the spec-wide length is the trained targets', as jiant tokenizes them)
            own_block = self.blocks.get(("evaluate", target.task))
            if self.tasks[target.task].type in UNTRAINED_TASKS and not (
                    own_block and any(e.key == "max_len" for e in own_block.entries)):
                own[target.task] = (own.get(target.task) or spec_wide).model_copy(
                    update={"max_len": RETRIEVAL_MAX_LEN})
        return spec_wide, own

    def resources(self) -> dict[str, Resources]:
        block = self.blocks.get(("resources", None))
        if block is None:
            return {}
        per_kind: dict[str, dict[str, Any]] = {}
        for entry in block.entries:
            if not self.plain_entry(entry):
                continue
            parts = entry.key.split(".")
            if len(parts) != 2 or parts[0] not in NODE_KINDS or parts[1] not in RESOURCE_KEYS:
                kind_hint = did_you_mean(parts[0], NODE_KINDS) if parts[0] not in NODE_KINDS else None
                key_hint = did_you_mean(parts[-1], RESOURCE_KEYS) if len(parts) == 2 else None
                self.sink.error(f"unknown resource `{entry.key}`", entry.key_span,
                                kind_hint or key_hint or "write KIND.cpus, KIND.gpus or KIND.memory, "
                                "with KIND one of " + ", ".join(NODE_KINDS))
                continue
            kind, what = parts
            if ("num_" + what if what != "memory" else what) in per_kind.get(kind, {}):
                self.sink.error(f"resource `{entry.key}` is given twice", entry.key_span)
                continue
            try:
                value = plain(entry.value, self.variables, self.sink)
            except Unconvertible:
                continue
            if what == "memory":
                value = parse_memory(value)
                if value is None:
                    self.sink.error("memory is a size like \"16GB\" or a number of bytes", ast.span_of(entry.value))
                    continue
                per_kind.setdefault(kind, {})["memory"] = value
            else:
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                        or value < 0:
                    self.sink.error(f"`{entry.key}` is a non-negative number", ast.span_of(entry.value))
                    continue
                if what == "gpus" and value > 1 and value != int(value):
                    self.sink.error("a fraction of a GPU must be below 1 (Ray shares one card, not several)",
                                    ast.span_of(entry.value))
                    continue
                per_kind.setdefault(kind, {})["num_" + what] = value
        return {kind: Resources(**values) for kind, values in per_kind.items()}

    # -- assembly ---------------------------------------------------------------------------


def describe(name: str, params: dict, field: str, default_field: str) -> str:
    """The identity of a perturbation: its name and every parameter, e.g. `char_noise(p=0.05)`."""
    parts = [f"{k}={_describe_value(v)}" for k, v in sorted(params.items())]
    text = f"{name}({', '.join(parts)})"
    return text if field == default_field else f"{text} on {field}"


def _describe_value(value: Any) -> str:
    if isinstance(value, dict):
        if "kind" in value:
            rest = ", ".join(f"{k}={_describe_value(v)}" for k, v in sorted(value.items()) if k != "kind")
            return f"{value['kind']}({rest})"
        return "{" + " ".join(f"{k}={_describe_value(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, list):
        return "[" + " ".join(_describe_value(v) for v in value) + "]"
    if isinstance(value, str):
        return f'"{value}"' if not re.fullmatch(r"[A-Za-z_][\w\-]*", value) else value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return repr(value)


def parse_memory(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value) if 0 < value < MAX_MEMORY else None
    if not isinstance(value, str):
        return None
    match = MEMORY_PATTERN.match(value)
    if not match:
        return None
    number = float(match.group(1))
    unit = (match.group(3) or "B").upper().rstrip("B").rstrip("I")
    scale = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}[unit]
    return int(number * scale) if 0 < number * scale < MAX_MEMORY else None

