"""Validation of `task NAME = TYPE(SOURCE, train=…, dev=…, test=…)`: the task type, its data
source and the splits it reads (a split name with an optional row range, a source call of its
own, or a list of them read as one split).

A mixin of the validator in validate.py: it fills the validator's tasks and the spans the
checks of local inputs point at (compiler/input_check.py), and reports into its error sink.
"""

from __future__ import annotations

import re

from xexp.compiler import ast
from xexp.compiler.binding import bind
from xexp.compiler.registry.sources import SPLIT_ARGUMENTS
from xexp.compiler.spec import DataRef, TaskDef
from xexp.compiler.validator_state import ValidatorState
from xexp.compiler.values import describe_value, substitute

SPLIT_PATTERN = re.compile(r"^(?P<name>[^\[\]]*)(\[(?P<start>-?\d*):(?P<stop>-?\d*)\])?$")


class TaskRules(ValidatorState):
    """Methods of `_Validator` for task declarations; see validate.py for the state they use."""

    def declare_task(self, st: ast.Declaration) -> None:
        name = st.name.name
        if name in self.tasks or name in self.task_spans:
            self.sink.error(f"task `{name}` is declared twice", st.name.span)
            return
        self.task_spans[name] = st.name.span
        if name == "none":
            self.sink.error("`none` is reserved for the direct fine-tuning baseline", st.name.span)
            return
        call = st.value
        if not isinstance(call, ast.Call):
            self.sink.error("a task is defined by a task type call, e.g. nli(hf(\"facebook/xnli\"))",
                            ast.span_of(call))
            return
        errors_before = len(self.sink.errors)
        bound = bind(call, ("task_type",), self.variables, self.sink, skip=("source",) + SPLIT_ARGUMENTS)
        if bound is None:
            return
        entry, params, args = bound
        default_source = None
        if "source" in args:
            default_source = self.data_source(args["source"].value)
            self.source_spans[name] = ast.span_of(args["source"].value)
        else:
            self.sink.error(f"task `{name}` needs a data source as first argument", call.name_span,
                            f"e.g. {entry.name}(local(\"data/{name}.jsonl\"))")
        splits: dict[str, DataRef] = {}
        for split in SPLIT_ARGUMENTS:
            if split in args:
                ref = self.split_ref(args[split].value, default_source)
                if ref is not None:
                    splits[split] = ref
                    value = args[split].value
                    self.split_spans[(name, split)] = (ast.span_of(value) if isinstance(value, ast.Call)
                                                       else self.source_spans.get(name, ast.NO_SPAN))
        if "source" in args and not splits and default_source is not None:
            splits = {"train": DataRef(source=default_source, split="train")}
            self.split_spans[(name, "train")] = self.source_spans[name]
        if len(self.sink.errors) > errors_before:
            return  # reported; later uses of the task would only repeat the problem
        self.tasks[name] = TaskDef(name=name, type=entry.name, params=params, splits=splits,
                                   labels=entry.labels)

    def data_source(self, value: ast.Value) -> dict | None:
        if not isinstance(value, ast.Call):
            self.sink.error(f"expected a data source call (hf, local, synthetic), got {describe_value(value)}",
                            ast.span_of(value))
            return None
        bound = bind(value, ("data_source",), self.variables, self.sink)
        if bound is None:
            return None
        entry, params, _ = bound
        return {"source": entry.name, **params}

    def split_ref(self, value: ast.Value, default_source: dict | None, nested: bool = False) -> DataRef | None:
        if isinstance(value, ast.ListValue) and not nested:  # several sources read as one split
            parts = [self.split_ref(item, default_source, nested=True) for item in value.items]
            if not value.items:
                self.sink.error("a list of splits is empty", value.span, 'e.g. train=["train_r1", "train_r2"]')
            if not value.items or any(p is None for p in parts):
                return None
            first = parts[0]
            assert first is not None
            return first if len(parts) == 1 else first.model_copy(update={"parts": parts})
        if isinstance(value, ast.Call):
            source = self.data_source(value)
            return DataRef(source=source) if source else None
        if not isinstance(value, ast.Str):
            self.sink.error(f"a split is a string like \"train\" or \"train[:3000]\", or a data source call; "
                            f"got {describe_value(value)}", ast.span_of(value))
            return None
        text = substitute(value.value, self.variables, self.sink, value.span)
        match = SPLIT_PATTERN.match(text)
        if match is None:
            self.sink.error(f"cannot read split `{text}`", value.span,
                            "write a split name with an optional row range: \"train[:3000]\", \"dev[100:200]\"")
            return None
        rows = None
        if match.group("start") is not None:
            if len(match.group("start")) > 18 or len(match.group("stop")) > 18:
                self.sink.error(f"row numbers too large in `{text}`", value.span)
                return None
            start = int(match.group("start") or 0)
            stop = int(match.group("stop")) if match.group("stop") else None
            if start < 0 or (stop is not None and stop <= start):
                self.sink.error(f"empty or negative row range in `{text}`", value.span)
                return None
            rows = (start, stop if stop is not None else 2**62)
        if default_source is None:
            return None
        return DataRef(source=default_source, split=match.group("name") or None, rows=rows)
