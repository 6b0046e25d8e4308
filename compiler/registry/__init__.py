"""Every name a spec may use. Importing this package registers all declarations."""

from xexp.compiler.registry.base import REGISTRY, Entry, Params, Registry, register

from xexp.compiler.registry import sources  # noqa: F401  (registers)

for _optional in ("perturbations", "attacks"):
    try:  # declarations written alongside their runtime implementations
        __import__(f"xexp.compiler.registry.{_optional}")
    except ModuleNotFoundError as _missing:
        if _missing.name != f"xexp.compiler.registry.{_optional}":
            raise

__all__ = ["REGISTRY", "Entry", "Params", "Registry", "register"]
