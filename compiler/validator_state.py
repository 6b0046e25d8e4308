"""The state of the spec validator (validate.py) that its rule mixins (validate_blocks.py,
validate_compat.py) read, declared once so that each mixin type-checks on its own."""

from __future__ import annotations

from xexp.compiler import ast
from xexp.compiler.errors import ErrorSink
from xexp.compiler.spec import ModelDef, TaskDef, VariantDef


class ValidatorState:
    sink: ErrorSink
    variables: dict[str, str]
    models: list[ModelDef]
    model_spans: dict[str, ast.Span]
    tasks: dict[str, TaskDef]
    task_spans: dict[str, ast.Span]
    blocks: dict[tuple[str, str | None], ast.Block]
    source_spans: dict[str, ast.Span]  # task -> its data source call
    entry_spans: dict[str, ast.Span]  # perturbation -> its registry name
    split_spans: dict[tuple[str, str], ast.Span]  # (task, split) -> the source it reads
    target_language_spans: dict[str, dict[str, ast.Span]]  # target -> the codes of its `in [...]`
    variants: dict[str, VariantDef]
    variant_spans: dict[str, ast.Span]

    def names_list(self, key: str) -> list[ast.Name] | None:
        raise NotImplementedError  # validate.py
