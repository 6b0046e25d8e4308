"""The failure record (``<kind>/<key>/_failed.json``) as one typed model.

Written when a node's work raised or the store refused its writes (worker.execute_node), and
when the driver gave up on a node (runtime/engine/scheduler.py: resources the cluster never has, a
worker that died too often, an input that stays altered). Read by `xexp plan` (why a node runs
again) and `xexp run` (the FAILED line).

Its ``category`` (xexp/errors.py) says what kind of failure it was, so a reader decides by it
and never by the message or the class name. Records written before categories existed have
none: they read as ``unknown`` (``system`` when they say the worker died), as does a category
this version does not know; a record that does not validate at all counts as no record.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError, field_validator, model_validator

from xexp.errors import Category

_CATEGORIES = frozenset(c.value for c in Category)


class FailureRecord(BaseModel):
    """Why a node's last attempt failed, and where to read more (its ``log`` and traceback)."""

    key: str
    kind: str
    name: str
    category: Category
    error_type: str
    message: str
    traceback: str
    attempt: int | None
    time: float
    hostname: str
    run_id: str
    log: str

    @model_validator(mode="before")
    @classmethod
    def _category_of_an_older_record(cls, data: Any) -> Any:
        """Before categories a record said only whether the worker died (``system_failure``)."""
        if isinstance(data, dict) and "category" not in data:
            died = data.get("system_failure") is True
            return {**data, "category": Category.SYSTEM if died else Category.UNKNOWN}
        return data

    @field_validator("category", mode="before")
    @classmethod
    def _unknown_category(cls, value: Any) -> Any:
        return value if isinstance(value, str) and value in _CATEGORIES else Category.UNKNOWN


def parse_failure(data: Any) -> FailureRecord | None:
    """The record in ``data`` (a parsed JSON value), or None when it is not a usable one."""
    try:
        return FailureRecord.model_validate(data)
    except ValidationError:
        return None
