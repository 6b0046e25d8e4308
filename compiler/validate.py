"""Module (AST) -> Spec: resolve every name, check every value, apply defaults.

Errors are collected, not raised one by one, so a user sees every independent problem of a
file in one run of `xexp check`.
"""

from __future__ import annotations

import re

from xexp.compiler import ast
from xexp.compiler.binding import bind
from xexp.compiler.errors import ErrorSink, did_you_mean
from xexp.compiler.registry.base import FAMILY_FIELDS, REGISTRY, task_family
from xexp.compiler.registry.sources import SPLIT_ARGUMENTS, UNTRAINED_TASKS
from xexp.compiler.spec import DataRef, EvaluateSettings, ModelDef, ReportSettings, Spec, TargetDef, TaskDef, VariantDef
from xexp.compiler.validate_blocks import BLOCKS, BlockRules
from xexp.compiler.validate_compat import CrossChecks
from xexp.compiler.validate_train_use import TrainUseRules
from xexp.compiler.validate_variants import VariantRules
from xexp.compiler.values import describe_value, substitute

HEADERS = ("experiment",)
DECLARATIONS = ("model", "task", "var", "variant")
ASSIGNMENTS = ("intermediate", "target", "languages", "seeds")
SPLIT_PATTERN = re.compile(r"^(?P<name>[^\[\]]*)(\[(?P<start>-?\d*):(?P<stop>-?\d*)\])?$")


class _Validator(BlockRules, CrossChecks, VariantRules, TrainUseRules):
    def __init__(self, module: ast.Module, overrides: dict[str, str] | None, sink: ErrorSink):
        self.module = module
        self.sink = sink
        self.overrides = dict(overrides or {})
        self.variables: dict[str, str] = {}
        self.experiment: str | None = None
        self.models: list[ModelDef] = []
        self.model_spans: dict[str, ast.Span] = {}
        self.tool_models: set[str] = set()
        self.tasks: dict[str, TaskDef] = {}
        self.task_spans: dict[str, ast.Span] = {}
        self.assignments: dict[str, ast.Assignment] = {}
        self.blocks: dict[tuple[str, str | None], ast.Block] = {}
        self.source_spans: dict[str, ast.Span] = {}  # task -> its data source call
        self.entry_spans: dict[str, ast.Span] = {}  # perturbation -> its registry name
        self.split_spans: dict[tuple[str, str], ast.Span] = {}  # (task, split) -> the source it reads
        self.target_language_spans: dict[str, dict[str, ast.Span]] = {}  # target -> its `in [...]` codes
        self.target_languages: list[str] = []  # every code of the targets' `in [...]` lists
        self.default_languages_used = False  # a target without `in [...]`: it needs `languages`
        self.variant_statements: list[ast.Declaration] = []  # resolved once every task is known
        self.variants: dict[str, VariantDef] = {}
        self.variant_spans: dict[str, ast.Span] = {}

    # -- statements ------------------------------------------------------------------------

    def run(self, syntax_failed: bool) -> Spec | None:
        statements = self.module.statements
        for st in statements:  # variables first: later statements may use them anywhere
            if isinstance(st, ast.Declaration) and st.keyword.name == "var":
                self.declare_variable(st)
        for name, value in list(self.overrides.items()):
            if not _is_text(value):  # argv bytes that are not UTF-8 arrive as lone surrogates
                self.sink.error(f"--set {name}=…: the value is not valid UTF-8 text",
                                hint="give paths and values in UTF-8 (the encoding of spec files)")
                del self.overrides[name]
        for name in self.overrides:
            if name not in self.variables:
                self.sink.error(f"--set {name}=…: the spec declares no variable `{name}`", hint=did_you_mean(
                    name, self.variables) or "declare it with `var NAME = \"default\"`")
        self.variables.update(self.overrides)
        for st in statements:
            self.statement(st)
        if self.experiment is None and not syntax_failed:
            self.sink.error("the spec has no `experiment NAME` line", hint="start the file with `experiment my_study`")
        return self.assemble(syntax_failed)

    def statement(self, st: ast.Statement) -> None:
        if isinstance(st, ast.Header):
            if st.keyword.name != "experiment":
                self.unknown_word(st.keyword, HEADERS + DECLARATIONS + BLOCKS + ASSIGNMENTS)
            elif self.experiment is not None:
                self.sink.error("`experiment` is given twice", st.keyword.span)
            else:
                self.experiment = st.name.name
        elif isinstance(st, ast.Declaration):
            kw = st.keyword.name
            if kw == "model":
                self.declare_model(st)
            elif kw == "task":
                self.declare_task(st)
            elif kw == "variant":
                self.variant_statements.append(st)
            elif kw != "var":
                self.unknown_word(st.keyword, DECLARATIONS)
        elif isinstance(st, ast.Assignment):
            if st.name.name not in ASSIGNMENTS:
                self.unknown_word(st.name, ASSIGNMENTS)
            elif st.name.name in self.assignments:
                self.sink.error(f"`{st.name.name}` is given twice", st.name.span)
            else:
                self.assignments[st.name.name] = st
        elif isinstance(st, ast.Block):
            if st.keyword.name not in BLOCKS:
                self.unknown_word(st.keyword, BLOCKS)
                return
            key = (st.keyword.name, st.label.name if st.label else None)
            if key in self.blocks:
                self.sink.error(f"block `{' '.join(k for k in key if k)}` is given twice", st.keyword.span)
            else:
                self.blocks[key] = st

    def unknown_word(self, name: ast.Name, known: tuple[str, ...]) -> None:
        self.sink.error(f"unknown statement `{name.name}`", name.span,
                        did_you_mean(name.name, known) or "statements: " + ", ".join(sorted(set(known))))

    def declare_variable(self, st: ast.Declaration) -> None:
        if not isinstance(st.value, (ast.Str, ast.Num, ast.Name)):
            self.sink.error("a variable holds a string or a number", ast.span_of(st.value))
            return
        if st.name.name in self.variables:
            self.sink.error(f"variable `{st.name.name}` is declared twice", st.name.span)
            return
        value = st.value.value if isinstance(st.value, ast.Str) else (
            st.value.text if isinstance(st.value, ast.Num) else st.value.name)
        self.variables[st.name.name] = str(value)

    def declare_model(self, st: ast.Declaration) -> None:
        if st.name.name in self.model_spans:
            self.sink.error(f"model `{st.name.name}` is declared twice", st.name.span)
            return
        self.model_spans[st.name.name] = st.name.span
        if not isinstance(st.value, ast.Call):
            self.sink.error("a model is defined by a source call, e.g. hf(\"FacebookAI/xlm-roberta-large\")",
                            ast.span_of(st.value))
            return
        bound = bind(st.value, ("model_source",), self.variables, self.sink)
        if bound:
            entry, params, _ = bound
            self.models.append(ModelDef(name=st.name.name, source={"source": entry.name, **params}))

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

    # -- assignments and blocks -------------------------------------------------------------

    def names_list(self, key: str) -> list[ast.Name] | None:
        st = self.assignments.get(key)
        if st is None:
            return None
        items = st.value.items if isinstance(st.value, ast.ListValue) else (st.value,)
        out = []
        for item in items:
            if isinstance(item, ast.Name):
                out.append(item)
            elif isinstance(item, ast.Str):
                out.append(ast.Name(item.value, item.span))
            else:
                self.sink.error(f"`{key}` lists names, got {describe_value(item)}", ast.span_of(item))
        return out

    def intermediate(self) -> list[str]:
        names = self.names_list("intermediate")
        if names is None:
            return ["none"]
        st = self.assignments["intermediate"]
        if isinstance(st.value, ast.ListValue) and not st.value.items:
            self.sink.error("`intermediate` is empty", st.value.span, "list `none` for direct fine-tuning alone")
        out = []
        for n in names:
            if n.name in self.variant_spans:  # a variant (one that failed to validate is reported already)
                if n.name in out:
                    self.sink.error(f"`{n.name}` is listed twice", n.span)
                elif n.name in self.variants:
                    out.append(n.name)
                continue
            if n.name != "none" and n.name not in self.tasks:
                if n.name not in self.task_spans:
                    self.sink.error(f"unknown task `{n.name}`", n.span,
                                    did_you_mean(n.name, list(self.task_spans) + list(self.variant_spans) + ["none"])
                                    or "declare it with `task NAME = …` or `variant NAME = mix([…])`")
                continue
            if n.name in out:
                self.sink.error(f"`{n.name}` is listed twice", n.span)
                continue
            if n.name != "none" and self.tasks[n.name].type in UNTRAINED_TASKS:
                self.sink.error(f"task `{n.name}` is {self.tasks[n.name].type}, which is never trained", n.span,
                                f"make it a target: `target = [..., {n.name}]`")
                continue
            if n.name != "none" and "train" not in self.tasks[n.name].splits:
                self.sink.error(f"task `{n.name}` has no `train=` split to train on", n.span,
                                "an intermediate task is trained: give it a `train=` split")
                continue
            out.append(n.name)
        return out

    def targets(self, languages: list[str]) -> list[TargetDef] | None:
        """`target = A trained_on B`, or a list of them; each target's languages are its
        `in [...]` list or the spec's `languages`. A target task given twice is an error: its
        nodes and report rows are named by the task."""
        st = self.assignments.get("target")
        if st is None:
            self.sink.error("the spec has no `target = TASK trained_on TASK` line",
                            hint="e.g. `target = xnli trained_on mnli`")
            return None
        items = st.value.items if isinstance(st.value, ast.ListValue) else (st.value,)
        if not items:
            self.sink.error("`target` is empty", ast.span_of(st.value),
                            "e.g. `target = [xnli trained_on mnli, pawsx trained_on paws]`")
            return None
        out: list[TargetDef] = []
        ok = True
        for item in items:
            target = self.target(item, languages)
            if target is None:
                ok = False
            elif any(t.task == target.task for t in out):
                ok = False
                self.sink.error(f"target `{target.task}` is listed twice", ast.span_of(item),
                                "give each target task once; to compare trainings of one target, "
                                "use intermediate variants")
            else:
                out.append(target)
        return out if ok else None

    def target(self, value: ast.Value, languages: list[str]) -> TargetDef | None:
        """One target. A bare `TASK` (or `TASK in [...]`) is a retrieval target, which is not
        trained, or else a target trained on itself."""
        if isinstance(value, ast.Name):
            value = ast.TrainedOn(value, None, value.span)
        if not isinstance(value, ast.TrainedOn):
            self.sink.error("write a target as `TASK trained_on TASK`", ast.span_of(value),
                            "e.g. `target = xnli trained_on mnli`, or a list: "
                            "`target = [xnli trained_on mnli, pawsx trained_on paws in [de fr]]`")
            return None
        ok = True
        for n in (value.target, value.source or value.target):
            if n.name not in self.tasks:
                ok = False
                if n.name in self.variant_spans:
                    self.sink.error(f"`{n.name}` is a variant, an intermediate training: a target is trained "
                                    "on one task", n.span, "list the variant in `intermediate = [...]`")
                elif n.name not in self.task_spans:
                    self.sink.error(f"unknown task `{n.name}`", n.span, did_you_mean(n.name, self.task_spans)
                                    or "declare it with `task NAME = …`")
        own = self.language_list(value.languages, f"target `{value.target.name}`") \
            if value.languages is not None else languages
        self.default_languages_used |= value.languages is None
        if own is not None and own is not languages:  # a perturbation's `in [...]` may name them
            self.target_languages += [lang for lang in own if lang not in self.target_languages]
        if not ok or own is None:
            return None
        target = self.tasks[value.target.name]
        if target.type in UNTRAINED_TASKS:
            return self.untrained_target(value, target, own)
        source = self.tasks[(value.source or value.target).name]
        if not self.trainable_as_target([value.target, value.source or value.target]):
            return None
        if target.type != source.type:
            self.sink.error(f"the target `{target.name}` ({target.type}) cannot be trained on "
                            f"`{source.name}` ({source.type}): the head must fit both", value.span,
                            f"train it on a {target.type} task")
        if "test" not in target.splits and "dev" not in target.splits:
            self.sink.error(f"the target task `{target.name}` has no `test=` or `dev=` split to evaluate on",
                            value.target.span, f"give `{target.name}` a `test=` split")
        if "train" not in source.splits:
            self.sink.error(f"task `{source.name}` has no `train=` split to train on",
                            (value.source or value.target).span, f"give `{source.name}` a `train=` split")
        self.note_target_languages(target.name, value)
        return TargetDef(task=target.name, trained_on=source.name, languages=own)

    def untrained_target(self, value: ast.TrainedOn, target: TaskDef, own: list[str]) -> TargetDef | None:
        """A retrieval target: evaluated with each variant's encoder as it is, so nothing trains
        it and `trained_on` would be a setting that changes nothing."""
        if value.source is not None:
            self.sink.error(f"`{target.name}` is a {target.type} target, which is not trained: it embeds "
                            "sentences with each variant's encoder as it is", value.source.span,
                            f"write `{target.name}` or `{target.name} in [...]`, without `trained_on`")
            return None
        if "test" not in target.splits and "dev" not in target.splits:
            self.sink.error(f"the target task `{target.name}` has no `test=` or `dev=` split to evaluate on",
                            value.target.span, f"give `{target.name}` a `test=` split")
            return None
        self.note_target_languages(target.name, value)
        return TargetDef(task=target.name, trained_on=None, languages=own)

    def note_target_languages(self, task: str, value: ast.TrainedOn) -> None:
        if value.languages is not None:
            self.target_language_spans[task] = {n.name: n.span for n in value.languages.items
                                                if isinstance(n, ast.Name)}

    def trainable_as_target(self, names: list[ast.Name]) -> bool:
        """A task type declared `intermediate_only` (masked_lm) has no head to evaluate: it may
        not be a target nor what a target is trained on. Reports each such name; True if none."""
        refused: set[str] = set()
        for n in names:
            task = self.tasks[n.name]
            entry = REGISTRY.get("task_type", task.type)
            if entry is not None and entry.intermediate_only and n.name not in refused:
                refused.add(n.name)
                self.sink.error(f"task `{n.name}` is {task.type}, which cannot be a target or `trained_on`", n.span,
                                f"{task.type} is for intermediate training: list `{n.name}` in `intermediate = [...]`")
        return not refused

    def language_list(self, value: ast.ListValue, what: str) -> list[str] | None:
        """The language codes of a target's `in [...]` (None after an error)."""
        if not value.items:
            self.sink.error(f"`in [...]` of {what} lists no language", value.span, "e.g. `in [de en fr]`")
            return None
        out: list[str] = []
        for item in value.items:
            if not isinstance(item, ast.Name):
                self.sink.error(f"`in [...]` lists language codes, got {describe_value(item)}", ast.span_of(item),
                                "e.g. `in [de en fr]`")
                return None
            code = self.language_code(item, out)
            if code is None:
                return None
            out.append(code)
        return out

    def languages(self) -> list[str] | None:
        """The spec's `languages`, None without the line: then every target needs its own
        `in [...]` (checked in `assemble`)."""
        names = self.names_list("languages")
        if names is None:
            return None
        st = self.assignments["languages"]
        if isinstance(st.value, ast.ListValue) and not st.value.items:
            self.sink.error("`languages` is empty", st.value.span, "e.g. `languages = [en de hi zh]`")
        out: list[str] = []
        for n in names:
            code = self.language_code(n, out)
            if code is not None:
                out.append(code)
        return out

    def seeds(self) -> list[int]:
        st = self.assignments.get("seeds")
        if st is None:
            return [1]
        items = st.value.items if isinstance(st.value, ast.ListValue) else (st.value,)
        out = []
        for item in items:
            if isinstance(item, ast.Num) and isinstance(item.value, int) and item.value >= 0:
                if item.value in out:
                    self.sink.error(f"seed {item.value} is listed twice", item.span)
                else:
                    out.append(item.value)
            else:
                self.sink.error(f"a seed is a non-negative integer, got {describe_value(item)}", ast.span_of(item))
        if not out and items:
            return []
        if not items:
            self.sink.error("`seeds` is empty", st.value.span)
        return out

    def assemble(self, syntax_failed: bool) -> Spec | None:
        self.resolve_variants()
        intermediate = self.intermediate()
        given = self.languages() if not (syntax_failed and "languages" not in self.assignments) else []
        languages = given if given is not None else []
        targets = self.targets(languages) if not (syntax_failed and "target" not in self.assignments) else None
        if given is None and (targets is None or self.default_languages_used):
            self.sink.error("the spec has no `languages = [...]` line", hint="e.g. `languages = [en de hi zh]`, "
                            "or give every target its own: `xnli trained_on mnli in [en de]`")
        seeds = self.seeds()
        target_types = [self.tasks[t.task].type for t in targets or [] if t.task in self.tasks]
        perturbations = self.perturbations(evaluated_languages(languages, targets) if targets is not None
                                           else languages + [x for x in self.target_languages if x not in languages],
                                           target_types)
        train = self.train_settings()
        evaluate, evaluate_targets = self.evaluate_settings(targets)
        resources = self.resources()
        report = self.settings_block("report", None, ReportSettings, calls=self.reference_file)
        self.check_primary(report.primary, perturbations)
        failed_variants = set(self.variant_spans) - set(self.variants)  # reported where declared
        if report.baseline not in intermediate and intermediate and report.baseline not in failed_variants:
            block = self.blocks.get(("report", None))
            listed = self.assignments.get("intermediate")
            fallback = ast.span_of(listed.value) if listed is not None else ast.NO_SPAN
            span = next((ast.span_of(e.value) for e in block.entries if e.key == "baseline"), block.span) if block \
                else fallback
            self.sink.error(f"the report baseline `{report.baseline}` is not in `intermediate`", span,
                            did_you_mean(report.baseline, list(intermediate))
                            or "add it to `intermediate = [...]` (`none` is direct fine-tuning)")
        if not self.model_spans and not syntax_failed:
            self.sink.error("the spec declares no model", hint="e.g. `model xlmr = hf(\"FacebookAI/xlm-roberta-large\")`")
        if targets is not None:
            for target in targets:
                self.check_languages_reachable(target.task, target.languages)
            targets = self.perturbations_by_target(targets, perturbations)
            self.check_train_blocks_apply(intermediate, targets)
            if not self.sink.errors:  # the parts are sound: do they fit together?
                self.cross_check(targets, intermediate, perturbations, train, evaluate, evaluate_targets)
        trained_models = [m for m in self.models if m.name not in self.tool_models]
        if self.models and not trained_models:
            names = ", ".join(sorted(self.tool_models))
            self.sink.error(f"every declared model ({names}) is a tool of an attack: none is left to train",
                            self.model_spans.get(sorted(self.tool_models)[0], ast.NO_SPAN),
                            "declare the encoder to study, e.g. `model e5 = packaged(\"multilingual-e5-small\")`")
        if self.sink.errors or targets is None or self.experiment is None:
            return None
        return Spec(
            experiment=self.experiment, variables=self.variables, models=trained_models,
            tools=[m for m in self.models if m.name in self.tool_models], tasks=self.tasks,
            variants=self.variants, intermediate=intermediate, targets=targets, languages=languages,
            seeds=seeds, perturbations=perturbations, train=train, evaluate=evaluate,
            evaluate_targets=evaluate_targets, member_lengths=self.member_lengths(train),
            resources=resources, report=report,
        )

    def perturbations_by_target(self, targets: list[TargetDef], perturbations: list) -> list[TargetDef]:
        """Each target with the perturbations that apply to it.

        One target: every perturbation must fit it (an error otherwise, as always). Several
        targets of different task types: a perturbation applies to the targets it fits (its
        task types, a tagging target's token-keeping rule) and whose languages its `in [...]`
        meets; it is an error only when it fits none of them, because a spec cannot otherwise
        say "this sentence-pair perturbation, but not on the POS target". `xexp plan` lists
        what applies where."""
        if len(targets) == 1:
            target = targets[0]
            self.check_per_token_perturbations(target.task, perturbations)
            return [target.model_copy(update={"perturbations": [
                p.name for p in perturbations if p.languages is None or set(p.languages) & set(target.languages)]})]
        applies: dict[str, list[str]] = {t.task: [] for t in targets}
        for p in perturbations:
            problems: list = []
            fits_one = False
            for target in targets:
                if p.languages is not None and not set(p.languages) & set(target.languages):
                    continue
                fields = FAMILY_FIELDS.get(task_family(self.tasks[target.task].type))
                if p.on is not None and fields is not None and p.on not in fields:
                    continue  # `on context` is for the QA target, not the NLI one (checked in perturbations())
                before = len(self.sink.errors)
                self.check_per_token_perturbations(target.task, [p])
                self.check_perturbations_fit(self.tasks[target.task], [p])
                found = self.sink.errors[before:]
                del self.sink.errors[before:]
                if found:
                    problems += found
                else:
                    fits_one = True
                    applies[target.task].append(p.name)
            if not fits_one:
                self.sink.errors.extend(problems)
        return [t.model_copy(update={"perturbations": applies[t.task]}) for t in targets]

    def check_per_token_perturbations(self, target: str, perturbations: list) -> None:
        """A tagging target keeps one tag per token: only perturbations that change characters
        inside tokens apply (word by word), on the one text there is."""
        task = self.tasks[target]
        entry = REGISTRY.get("task_type", task.type)
        if entry is None or not entry.per_token:
            return
        block = self.blocks.get(("perturbations", None))
        spans = {e.key: e for e in block.entries} if block else {}
        keeping = ", ".join(e.name for e in REGISTRY.of("perturbation") if e.keeps_tokens)
        for p in perturbations:
            where = spans.get(p.name)
            span = ast.NO_SPAN
            if where is not None:
                # A bare name (`typo`) has no separate name span, only a call has.
                span = where.value.name_span if isinstance(where.value, ast.Call) else ast.span_of(where.value)
            reg = REGISTRY.get(p.category, p.entry)
            if reg is None:
                continue  # an unknown perturbation is reported where it is resolved
            if p.category != "attack" and not reg.keeps_tokens:
                self.sink.error(f"`{p.entry}` adds, removes or reorders tokens, so the tags of the "
                                f"{task.type} target `{target}` would no longer line up", span,
                                f"perturbations that keep tokens: {keeping}")
            elif where is not None and where.on is not None:
                self.sink.error(f"a {task.type} target has one text, its tokens: `on {where.on.name}` "
                                "does not apply", where.on.span, f"write `{p.name} = {p.entry}(…)`")

    def check_languages_reachable(self, target: str, languages: list[str]) -> None:
        task = self.tasks[target]
        ref = task.splits.get("test") or task.splits.get("dev")
        if ref is None or len(languages) <= 1:
            return
        if not ref.depends_on_language:
            self.sink.error(f"the target task `{target}` is evaluated in {len(languages)} languages but its "
                            "source does not depend on `{lang}`", self.task_spans.get(target, ast.NO_SPAN),
                            "put `{lang}` in the path or config, e.g. local(\"data/xnli/dev.{lang}.jsonl\")")


def evaluated_languages(languages: list[str], targets: list[TargetDef]) -> list[str]:
    """Every language some target is evaluated in: the spec's, then the targets' own, in order
    (a perturbation's `in [...]` may name any of them)."""
    out = list(languages) if any(t.languages == languages for t in targets) else []
    for target in targets:
        out += [lang for lang in target.languages if lang not in out]
    return out


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def validate(module: ast.Module, variables: dict[str, str] | None = None, *,
             syntax_errors: list | None = None, spans: dict | None = None) -> Spec:
    """Validate a parsed module. Raises SpecError/SpecErrors with every problem found.

    `spans`, when given, receives where each ("split", task, split) names its data source and
    each ("entry", perturbation) its registry name, for the checks of local inputs
    (compiler/input_check.py)."""
    sink = ErrorSink(module.filename, module.source)
    sink.errors.extend(syntax_errors or [])
    validator = _Validator(module, variables, sink)
    spec = validator.run(bool(syntax_errors))
    if spans is not None:
        spans.update({("split", *key): span for key, span in validator.split_spans.items()})
        spans.update({("entry", name): span for name, span in validator.entry_spans.items()})
    sink.raise_if_any()
    assert spec is not None
    return spec
