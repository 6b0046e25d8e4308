"""xexp/errors.py: every error xexp raises on purpose is a class of one hierarchy that sets its
own category, which the failure record carries and the scheduler decides by (the root's
`unexpected` is what a bug or a library's own error gets)."""

from __future__ import annotations

import importlib
import pkgutil

import xexp.runtime
from xexp.compiler import SpecError
from xexp.errors import Category, XexpError


def test_every_error_xexp_raises_on_purpose_has_a_category_of_its_own():
    for module in pkgutil.walk_packages(xexp.runtime.__path__, "xexp.runtime."):
        importlib.import_module(module.name)  # wherever a class of the hierarchy is defined
    found, stack = set(), [XexpError]
    while stack:
        for subclass in stack.pop().__subclasses__():
            found.add(subclass)
            stack.append(subclass)
    assert {c.__name__ for c in found} >= {"SpecError", "SpecErrors", "SpecValueError", "DataError", "StoreError",
                                           "StoreFault", "LeaseLost", "ModelError", "ResourceError", "SystemFailure",
                                           "GcRefused"}
    for subclass in found:
        assert subclass.category not in (Category.UNEXPECTED, Category.UNKNOWN), subclass
        assert subclass.__doc__, subclass
    assert SpecError("x").category == Category.SPEC
