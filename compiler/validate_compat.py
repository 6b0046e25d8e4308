"""Checks across statements: does every part of the spec fit the parts it meets at run time?

Each rule here is one way a spec used to pass `xexp check` and then fail inside a node: a
perturbation on a task whose examples lack the fields it changes, a language a data source has
no data in, synthetic data of another task type, a QA window overlap as wide as the window, a
sequence longer than a tiny model's positions. With several targets, it also decides which
perturbations apply to which target (a perturbation that fits none is the error). A mixin of the validator in validate.py: it
reads the collected tasks, spans and settings and reports into the same error sink.
"""

from __future__ import annotations

from typing import get_args

from xexp.compiler import ast
from xexp.compiler.registry import REGISTRY
from xexp.compiler.registry.base import FAMILY_FIELDS, task_family
from xexp.compiler.validator_state import ValidatorState
from xexp.compiler.spec import (  # training and its dev set are loaded in English, a mix aside
    TRAINING_LANGUAGE, DataRef, EvaluateSettings, PerturbationDef, TargetDef, TaskDef, TrainSettings,
)

#: Special tokens of a question/context pair (RoBERTa-style `<s> q </s></s> c </s>`, BERT has 3).
QA_SPECIAL_TOKENS = 4


def doc_stride_limit(max_len: int) -> int:
    """The largest `doc_stride` every window of `max_len` tokens has room for.

    runtime/learning/tasks/qa.py clips questions to `max(1, max_len // 2 - 2)` tokens, so a context
    gets at least `max_len - that - QA_SPECIAL_TOKENS` tokens per window, and the tokenizer
    needs the overlap strictly below that."""
    return max_len - max(1, max_len // 2 - 2) - QA_SPECIAL_TOKENS - 1


class CrossChecks(ValidatorState):
    """Methods of `_Validator`; see validate.py for the state they use."""

    def cross_check(self, targets: list[TargetDef], intermediate: list[str],
                    perturbations: list[PerturbationDef], train: dict[str, TrainSettings],
                    evaluate: EvaluateSettings, evaluate_targets: dict[str, EvaluateSettings]) -> None:
        if len(targets) == 1:  # several targets: perturbations were matched to targets already
            self.check_perturbations_fit(self.tasks[targets[0].task], perturbations)
        # (task, phase, the name its `train NAME {…}` settings go by); a variant trains its members
        trained = [(self.tasks[name], "intermediate", name) for name in intermediate if name in self.tasks]
        trained += [(self.tasks[member], "intermediate", name) for name in intermediate if name in self.variants
                    for member in self.variants[name].members]
        for target in targets:
            if target.trained_on is None:  # a retrieval target: nothing trains it
                continue
            source = self.tasks[target.trained_on]
            if (source, "target", source.name) not in trained:
                trained.append((source, "target", source.name))
        for task, _phase, name in trained:
            variant = self.variants.get(name)
            for split in ("train", "dev"):
                if split in task.splits:
                    ref = task.splits[split]
                    self.check_source_fits(task, ref, variant.languages_of(ref) if variant else [TRAINING_LANGUAGE],
                                           None)
        lengths = [(task, settings.max_len, f"train {phase}") for task, phase, name in trained
                   for settings in [train.get(f"{phase}:{name}") or train[phase]]]
        for target in targets:
            target_task = self.tasks[target.task]
            eval_split = "test" if "test" in target_task.splits else "dev"
            if eval_split in target_task.splits:
                spans = self.target_language_spans.get(target.task) or {
                    n.name: n.span for n in (self.names_list("languages") or [])}
                self.check_source_fits(target_task, target_task.splits[eval_split], target.languages, spans)
            own = target.task in evaluate_targets  # `evaluate TARGET { … }` refines `evaluate { … }`
            lengths.append((target_task, (evaluate_targets[target.task] if own else evaluate).max_len,
                            f"evaluate {target.task}" if own else "evaluate"))
        self.check_doc_stride(lengths)
        self.check_model_positions(lengths)
        self.check_patience(trained, train)

    def check_perturbations_fit(self, target: TaskDef, perturbations: list[PerturbationDef]) -> None:
        """Every perturbation and attack works on the target's task type (its registry
        `task_types`); the hint names what does work there."""
        for p in perturbations:
            entry = REGISTRY.get(p.category, p.entry)
            if entry is None or entry.task_types is None or target.type in entry.task_types:
                continue
            usable = [e.name for e in REGISTRY.of("perturbation")
                      if e.task_types is None or target.type in e.task_types]
            if p.category == "attack":
                why = (f"attacks search against a sentence-pair classifier's label probabilities "
                       f"({' and '.join(entry.task_types)} targets)")
            else:
                why = f"`{p.entry}` works on {' and '.join(entry.task_types)} targets only"
            example = "char_noise" if "char_noise" in usable else usable[0] if usable else ""
            instead = (f"perturbations that work on {target.type}: {', '.join(usable)}, e.g. "
                       f"`{p.name} = {example}(…)`" if usable else f"remove `{p.name}`")
            self.sink.error(f"`{p.entry}` does not work on {target.type} targets: the target `{target.name}` is "
                            f"{target.type}", self.entry_spans.get(p.name, ast.NO_SPAN), f"{why}; {instead}")

    def check_source_fits(self, task: TaskDef, ref: DataRef, loaded_in: list[str],
                          language_spans: dict[str, ast.Span] | None) -> None:
        """A source with declared languages has data in every language it is loaded in, and
        synthetic data is generated for the task type it feeds."""
        name = ref.source.get("source")
        entry = REGISTRY.get("data_source", name) if isinstance(name, str) else None
        if entry is None:
            return
        span = self.source_spans.get(task.name, self.task_spans.get(task.name, ast.NO_SPAN))
        if name == "synthetic" and ref.source.get("task") != task.type:
            self.sink.error(f"task `{task.name}` is {task.type} but its synthetic data is "
                            f"{ref.source.get('task')}", span,
                            f"write {task.type}(synthetic(\"{task.type}\"), …)" if task.type in _synthetic_tasks()
                            else f"synthetic data exists for {' and '.join(_synthetic_tasks())}: give "
                                 f"`{task.name}` local(…) or hf(…) data")
            return
        if entry.languages is None or not ref.depends_on_language:
            return
        missing = [lang for lang in loaded_in if lang not in entry.languages]
        if not missing:
            return
        covered = " ".join(sorted(entry.languages))
        spans = language_spans or {}
        for lang in missing:
            self.sink.error(f"`{name}` data has no language `{lang}` (task `{task.name}`)",
                            spans.get(lang, span), f"{name} data covers: {covered}")

    def check_doc_stride(self, lengths: list[tuple[TaskDef, int, str]]) -> None:
        reported: set[str] = set()
        for task, max_len, where in lengths:
            stride = task.params.get("doc_stride")
            if stride is None or task.name in reported or stride <= doc_stride_limit(max_len):
                continue
            reported.add(task.name)
            self.sink.error(f"task `{task.name}`: doc_stride={stride} leaves no room for new tokens in windows of "
                            f"max_len={max_len} ({where})", self.task_spans.get(task.name, ast.NO_SPAN),
                            f"with max_len={max_len}, doc_stride is at most {doc_stride_limit(max_len)}; "
                            "lower it or raise max_len")

    def check_patience(self, trained: list[tuple[TaskDef, str, str]], train: dict[str, TrainSettings]) -> None:
        """`patience` counts dev evaluations: a training without a dev split has none, and would
        run to the end while the spec says it stops early."""
        has_dev: dict[str, bool] = {}
        for task, phase, name in trained:
            has_dev[f"{phase}:{name}"] = has_dev.get(f"{phase}:{name}", False) or "dev" in task.splits
        reported: set[tuple[str, str | None]] = set()
        for where, dev in has_dev.items():
            phase, name = where.split(":", 1)
            label = name if f"{phase}:{name}" in train else phase
            settings = train.get(f"{phase}:{name}") or train[phase]
            if dev or settings.patience is None:
                continue
            block = self.blocks.get(("train", label))
            entry = next((e for e in block.entries if e.key == "patience"), None) if block else None
            if (label, None) in reported:
                continue
            reported.add((label, None))
            self.sink.error(f"`{name}` has no `dev=` split, so `patience` (dev evaluations without a new best) "
                            f"never counts: its training would not stop early", entry.key_span if entry else
                            self.task_spans.get(name, ast.NO_SPAN),
                            f"give `{name}` a `dev=` split (e.g. dev=\"train[:500]\") or drop `patience` "
                            f"from `train {label}`")

    def check_model_positions(self, lengths: list[tuple[TaskDef, int, str]]) -> None:
        tiny = REGISTRY.get("model_source", "tiny")
        assert tiny is not None
        for model in self.models:
            if model.source.get("source") != "tiny":
                continue  # a pretrained model's tokenizer truncates to its own limit
            limit = model.source.get("max_positions", tiny.params.model_fields["max_positions"].default)
            too_long = [(max_len, where) for _task, max_len, where in lengths if max_len > limit]
            if too_long:
                max_len, where = max(too_long)
                self.sink.error(f"model `{model.name}` reads at most {limit} tokens, but `{where}` sets "
                                f"max_len={max_len}", self.model_spans.get(model.name, ast.NO_SPAN),
                                f"lower max_len or build the model with tiny(max_positions={max_len})")

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


def _synthetic_tasks() -> tuple[str, ...]:
    entry = REGISTRY.get("data_source", "synthetic")
    assert entry is not None
    return get_args(entry.params.model_fields["task"].annotation)  # the Literal's values
