"""Module (AST) -> Spec: resolve every name, check every value, apply defaults.

Errors are collected, not raised one by one, so a user sees every independent problem of a
file in one run of `xexp check`. This module reads the statements and assembles the Spec; the
rules of each part live in the validator's mixins: task declarations (validate_tasks.py),
targets (validate_targets.py), blocks (validate_blocks.py), variants (validate_variants.py),
checks across parts (validate_compat.py, validate_train_use.py).
"""

from __future__ import annotations

from xexp.compiler import ast
from xexp.compiler.binding import bind
from xexp.compiler.errors import ErrorSink, did_you_mean
from xexp.compiler.registry.sources import UNTRAINED_TASKS
from xexp.compiler.spec import ModelDef, ReportSettings, Spec, TaskDef, VariantDef
from xexp.compiler.validate_blocks import BLOCKS, BlockRules
from xexp.compiler.validate_compat import CrossChecks
from xexp.compiler.validate_targets import TargetRules, evaluated_languages
from xexp.compiler.validate_tasks import TaskRules
from xexp.compiler.validate_train_use import TrainUseRules
from xexp.compiler.validate_variants import VariantRules
from xexp.compiler.values import describe_value

HEADERS = ("experiment",)
DECLARATIONS = ("model", "task", "var", "variant")
ASSIGNMENTS = ("intermediate", "target", "languages", "seeds")


class _Validator(BlockRules, CrossChecks, TaskRules, TargetRules, VariantRules, TrainUseRules):
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
