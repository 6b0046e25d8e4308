"""Task types: each owns its preprocessing, head (AutoModelFor...), loss, metric and decoding.

`get_task` imports the one module it needs, so naming a task type stays cheap.
"""

from __future__ import annotations

from xexp.compiler.registry import REGISTRY

TASK_TYPES = tuple(REGISTRY.names("task_type"))  # declared in compiler/registry/sources.py


def get_task(task_type: str):
    """The Task object of `task_type` (see runtime/tasks/base.py for its interface)."""
    if task_type == "nli":
        from xexp.runtime.tasks.pair import NLI

        return NLI
    if task_type == "paraphrase":
        from xexp.runtime.tasks.pair import PARAPHRASE

        return PARAPHRASE
    if task_type == "extractive_qa":
        from xexp.runtime.tasks.qa import EXTRACTIVE_QA

        return EXTRACTIVE_QA
    if task_type == "multiple_choice":
        from xexp.runtime.tasks.mc import MULTIPLE_CHOICE

        return MULTIPLE_CHOICE
    if task_type == "token_classification":
        from xexp.runtime.tasks.tagging import TOKEN_CLASSIFICATION

        return TOKEN_CLASSIFICATION
    if task_type == "retrieval":
        from xexp.runtime.tasks.retrieval import Retrieval

        return Retrieval()
    if task_type == "masked_lm":
        from xexp.runtime.tasks.mlm import MASKED_LM

        return MASKED_LM
    raise ValueError(f"unknown task type {task_type!r}: expected one of {', '.join(TASK_TYPES)}")
