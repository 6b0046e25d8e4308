"""Validation of `target = [A trained_on B in [de fr], …]`: each target task, what it is trained
on, the languages it is evaluated in, and whether its source can reach them.

A target is trained on a task of its own type, or not at all when its task type is declared
`untrained` (retrieval). A mixin of the validator in validate.py: it reads the declared tasks and
variants and reports into the same error sink.
"""

from __future__ import annotations

from xexp.compiler import ast
from xexp.compiler.errors import did_you_mean
from xexp.compiler.registry import REGISTRY
from xexp.compiler.registry.sources import UNTRAINED_TASKS
from xexp.compiler.spec import TargetDef, TaskDef
from xexp.compiler.validator_state import ValidatorState


class TargetRules(ValidatorState):
    """Methods of `_Validator` for targets; see validate.py for the state they use."""

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
        return self.language_codes(value.items, "`in [...]` lists language codes, got {item}", "e.g. `in [de en fr]`")

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
