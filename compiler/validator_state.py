"""The state of the spec validator (validate.py) that its rule mixins (validate_tasks.py,
validate_targets.py, validate_blocks.py, validate_compat.py, validate_variants.py,
validate_train_use.py) read, declared once so that each mixin type-checks on its own."""

from __future__ import annotations

from collections.abc import Sequence

from xexp.compiler import ast
from xexp.compiler.errors import ErrorSink, did_you_mean
from xexp.compiler.languages import KNOWN_LANGUAGES, XNLI_LANGUAGES
from xexp.compiler.spec import ModelDef, TaskDef, VariantDef
from xexp.compiler.values import describe_value


class ValidatorState:
    sink: ErrorSink
    variables: dict[str, str]
    models: list[ModelDef]
    model_spans: dict[str, ast.Span]
    tool_models: set[str]  # models an attack names (word_attack's mlm, encoder): not trained
    tasks: dict[str, TaskDef]
    task_spans: dict[str, ast.Span]
    assignments: dict[str, ast.Assignment]
    blocks: dict[tuple[str, str | None], ast.Block]
    source_spans: dict[str, ast.Span]  # task -> its data source call
    entry_spans: dict[str, ast.Span]  # perturbation -> its registry name
    split_spans: dict[tuple[str, str], ast.Span]  # (task, split) -> the source it reads
    target_language_spans: dict[str, dict[str, ast.Span]]  # target -> the codes of its `in [...]`
    target_languages: list[str]  # every code of the targets' `in [...]` lists
    default_languages_used: bool  # a target without `in [...]`: it needs `languages`
    variants: dict[str, VariantDef]
    variant_spans: dict[str, ast.Span]

    def names_list(self, key: str) -> list[ast.Name] | None:
        raise NotImplementedError  # validate.py

    def language_code(self, name: ast.Name, listed: list[str]) -> str | None:
        """One code of a language list (`languages`, a target's `in [...]`, a mix's
        `languages=`): the code, or None once reported with its caret (unknown, or listed twice)."""
        if name.name not in KNOWN_LANGUAGES:
            self.sink.error(f"unknown language code `{name.name}`", name.span,
                            did_you_mean(name.name, KNOWN_LANGUAGES) or "XNLI languages: " + " ".join(XNLI_LANGUAGES))
            return None
        if name.name in listed:
            self.sink.error(f"language `{name.name}` is listed twice", name.span, "list each language once")
            return None
        return name.name

    def language_codes(self, items: Sequence[ast.Value], not_a_code: str, hint: str | None = None) -> list[str] | None:
        """The codes of a language list's items, each checked by `language_code`; an item that
        is no bare name is reported as `not_a_code` ("{item}": how it was written). None after
        the first error."""
        out: list[str] = []
        for item in items:
            if not isinstance(item, ast.Name):
                self.sink.error(not_a_code.format(item=describe_value(item)), ast.span_of(item), hint)
                return None
            code = self.language_code(item, out)
            if code is None:
                return None
            out.append(code)
        return out
