"""Task types: each owns its preprocessing, head (AutoModelFor...), loss, metric and decoding.

A task type's `Task` is the object its registry entry names (compiler/registry/sources.py,
`implementation=`); `get_task` resolves it, importing only that task's module, so naming a task
type stays cheap and declaring one is all it takes to add one.
"""

from __future__ import annotations

from xexp.runtime.implementations import implementation_of
from xexp.runtime.learning.tasks.base import Task


def get_task(task_type: str) -> Task:
    """The Task object of `task_type` (runtime/learning/tasks/base.py is the interface every one has)."""
    task = implementation_of("task_type", task_type)
    if not isinstance(task, Task):
        raise TypeError(f"task type {task_type!r}: its implementation is {task!r}, not a Task")
    return task
