"""The one resolver of registry implementations: `"module:attribute"` -> the object.

Registry entries (compiler/registry/) name their implementation as a dotted path so that the
compiler never imports the runtime; the runtime resolves the path here, lazily, and only for
the entries a node uses. tests/test_contracts.py resolves every entry
(`test_every_registry_entry_resolves_to_its_implementation`), so a renamed function fails a
test instead of a node.
"""

from __future__ import annotations

import difflib
import importlib
from functools import lru_cache
from typing import Any

from xexp.compiler.registry import REGISTRY, Entry
from xexp.compiler.registry.base import Category
from xexp.errors import SpecValueError


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


def entry_of(category: Category, name: str) -> Entry:
    """The registry entry `name` of `category`; for a name nobody declared, the one error every
    dispatch gives (what was asked, the closest known name, all known names)."""
    entry = REGISTRY.get(category, name)
    if entry is None:
        one = category.replace("_", " ")
        known = REGISTRY.names(category)
        close = difflib.get_close_matches(str(name), known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise SpecValueError(f"unknown {one} {name!r}{hint} (known {one}s: {', '.join(known) or 'none'})")
    return entry


def implementation_of(category: Category, name: str) -> Any:
    """The implementation the registry names for `name`: the only way the runtime goes from a
    name in a spec to the code that serves it, so declaring an entry is all it takes to add one."""
    return resolve(entry_of(category, name))
