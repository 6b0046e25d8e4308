"""Validation of `variant NAME = mix([TASK ...], sampling=…, cap=…, temperature=…, languages=[…])`.

A variant is one intermediate training on several declared tasks at once (runtime/learning/multitask.py).
Its declarations are collected while statements are read and resolved once every task is known,
so a variant may name tasks declared below it. A mixin of the validator in validate.py.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from xexp.compiler import ast
from xexp.compiler.errors import did_you_mean
from xexp.compiler.graph.contracts import SAMPLING_KINDS, Sampling
from xexp.compiler.registry.sources import UNTRAINED_TASKS
from xexp.compiler.spec import TRAINING_LANGUAGE, VariantDef
from xexp.compiler.validator_state import ValidatorState
from xexp.compiler.values import Unconvertible, describe_value, plain

MIX = "mix"
MIX_KEYWORDS = ("sampling", "cap", "temperature", "languages")
MIX_USAGE = ('usage: mix([TASK ...], sampling="proportional"|"capped"|"temperature", cap=N, temperature=T, '
             "languages=[en …])")


class VariantRules(ValidatorState):
    """Methods of `_Validator` for variants; see validate.py for the state they use."""

    variant_statements: list[ast.Declaration]

    def resolve_variants(self) -> None:
        for st in self.variant_statements:
            variant = self.declare_variant(st)
            if variant is not None:
                self.variants[variant.name] = variant

    def declare_variant(self, st: ast.Declaration) -> VariantDef | None:
        name = st.name.name
        if name in self.variant_spans:
            self.sink.error(f"variant `{name}` is declared twice", st.name.span)
            return None
        self.variant_spans[name] = st.name.span
        if name == "none":
            self.sink.error("`none` is reserved for the direct fine-tuning baseline", st.name.span)
            return None
        if name in self.task_spans:
            self.sink.error(f"`{name}` is both a task and a variant", st.name.span,
                            "variants and tasks share one namespace: rename the variant")
            return None
        call = st.value
        if not isinstance(call, ast.Call) or call.name != MIX:
            span = call.name_span if isinstance(call, ast.Call) else ast.span_of(call)
            self.sink.error("a variant is defined by `mix([TASK ...], …)`", span, MIX_USAGE)
            return None
        members = self.mix_members(call)
        options = self.mix_options(call)
        if members is None or options is None:
            return None
        languages = options.pop("languages", None)
        try:
            sampling = Sampling(**options)
        except ValidationError as err:
            problem = err.errors()[0]
            message = str(problem.get("msg", "invalid")).removeprefix("Value error, ")
            loc = problem.get("loc") or ()
            # a field's own bound names the field; a rule across fields names the one it starts with
            key = str(loc[0]) if loc else next((k for k in ("cap", "temperature") if message.startswith(f"`{k}`")),
                                              "sampling")
            arg = next((a for a in call.args if a.key == key), None)
            self.sink.error(f"`{key}` of `mix`: {message}", ast.span_of(arg.value) if arg else call.name_span,
                            MIX_USAGE)
            return None
        if languages is not None and not self.mix_reads_languages(members, languages, call):
            return None
        return VariantDef(name=name, members=members, sampling=sampling,
                          **({"languages": languages} if languages is not None else {}))

    def mix_members(self, call: ast.Call) -> list[str] | None:
        positional = [a for a in call.args if a.key is None]
        if len(positional) != 1 or not isinstance(positional[0].value, ast.ListValue):
            span = ast.span_of(positional[1].value) if len(positional) > 1 else (
                ast.span_of(positional[0].value) if positional else call.name_span)
            self.sink.error("`mix` takes one list of tasks first: mix([mnli squad], …)", span, MIX_USAGE)
            return None
        listed = positional[0].value
        if not listed.items:
            self.sink.error("a mix lists at least one task", listed.span, "e.g. mix([mnli squad hellaswag])")
            return None
        out: list[str] = []
        ok = True
        for item in listed.items:
            if not isinstance(item, ast.Name):
                self.sink.error(f"a mix lists task names, got {describe_value(item)}", ast.span_of(item))
                ok = False
            elif item.name in out:
                self.sink.error(f"task `{item.name}` is listed twice in the mix", item.span)
                ok = False
            elif item.name not in self.task_spans and any(s.name.name == item.name for s in self.variant_statements):
                self.sink.error(f"`{item.name}` is a variant: a mix lists tasks, not other mixes", item.span,
                                f"list the tasks of `{item.name}` here instead")
                ok = False
            elif item.name not in self.tasks:
                if item.name not in self.task_spans:  # a task that failed to validate is reported already
                    self.sink.error(f"unknown task `{item.name}` in the mix", item.span,
                                    did_you_mean(item.name, self.task_spans) or "declare it with `task NAME = …`")
                ok = False
            elif self.tasks[item.name].type in UNTRAINED_TASKS:
                self.sink.error(f"task `{item.name}` is {self.tasks[item.name].type}, which is never trained",
                                item.span, f"make it a target: `target = [..., {item.name}]`")
                ok = False
            elif "train" not in self.tasks[item.name].splits:
                self.sink.error(f"task `{item.name}` has no `train=` split to train on", item.span,
                                "a mix trains every task it lists: give it a `train=` split")
                ok = False
            else:
                out.append(item.name)
        return out if ok else None

    def mix_options(self, call: ast.Call) -> dict[str, Any] | None:
        out: dict[str, Any] = {}
        ok = True
        for arg in call.args:
            if arg.key is None:
                continue
            if arg.key not in MIX_KEYWORDS:
                self.sink.error(f"`mix` has no parameter `{arg.key}`", arg.key_span,
                                did_you_mean(arg.key, MIX_KEYWORDS) or MIX_USAGE)
                ok = False
                continue
            key = "kind" if arg.key == "sampling" else arg.key
            if key in out:
                self.sink.error(f"parameter `{arg.key}` given twice", arg.key_span)
                ok = False
                continue
            if arg.key == "languages":
                languages = self.mix_languages(arg.value)
                ok = ok and languages is not None
                out[key] = languages
                continue
            try:
                out[key] = plain(arg.value, self.variables, self.sink)
            except Unconvertible:
                ok = False
                continue
            if arg.key == "sampling" and out[key] not in SAMPLING_KINDS:
                self.sink.error(f"unknown sampling `{out[key]}`", ast.span_of(arg.value),
                                did_you_mean(str(out[key]), SAMPLING_KINDS)
                                or "sampling: " + ", ".join(f'"{k}"' for k in SAMPLING_KINDS))
                ok = False
        return out if ok else None

    def mix_languages(self, value: ast.Value) -> list[str] | None:
        if not isinstance(value, ast.ListValue) or not value.items:
            self.sink.error("`languages` of a mix is a list of language codes, e.g. [en de fr]",
                            ast.span_of(value))
            return None
        return self.language_codes(value.items, "unknown language code `{item}`")

    def mix_reads_languages(self, members: list[str], languages: list[str], call: ast.Call) -> bool:
        """`languages=` changes what is read only through a member whose source has `{lang}`."""
        if languages == [TRAINING_LANGUAGE] or any(ref.depends_on_language for m in members
                                      for ref in self.tasks[m].splits.values()):
            return True
        arg = next(a for a in call.args if a.key == "languages")
        self.sink.error("`languages` of a mix reads members whose source depends on `{lang}`, and no "
                        "member's does", ast.span_of(arg.value),
                        "put `{lang}` in a member's path, e.g. local(\"data/mnli.{lang}.jsonl\"), or drop languages=")
        return False
