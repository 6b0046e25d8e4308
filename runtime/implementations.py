"""The one resolver of registry implementations: `"module:attribute"` -> the object.

Registry entries (compiler/registry/) name their implementation as a dotted path so that the
compiler never imports the runtime; the runtime resolves the path here, lazily, and only for
the entries a node uses. tests/test_contracts.py resolves every entry
(`test_every_registry_entry_resolves_to_its_implementation`), so a renamed function fails a
test instead of a node.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from typing import Any

from xexp.compiler.registry import Entry


@lru_cache(maxsize=None)
def resolve_path(implementation: str) -> Any:
    module_name, sep, attribute = implementation.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"an implementation is 'module:attribute', got {implementation!r}")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ValueError(f"{module_name} has no {attribute!r} (named by the registry as {implementation!r})") from None


def resolve(entry: Entry) -> Any:
    """The implementation of a registry entry."""
    return resolve_path(entry.implementation)
