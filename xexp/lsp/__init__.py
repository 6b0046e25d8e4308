"""`xexp lsp`: a language server for `.xexp` specs, built on the compiler itself.

The server needs pygls and lsprotocol, an optional extra (`pip install "xexp[lsp]"`); without
them `xexp lsp` says so in one line instead of a traceback. The modules below the server
(analysis, cursor, completion, hover, navigation, lens) import lsprotocol's types only.
"""

from __future__ import annotations

INSTALL_HINT = 'xexp lsp needs pygls and lsprotocol: pip install "xexp[lsp]"'


def missing_dependency() -> str | None:
    """The one line to print when the server's libraries are not installed, else None."""
    try:
        import lsprotocol.types  # noqa: F401
        import pygls.lsp.server  # noqa: F401
    except ImportError:
        return INSTALL_HINT
    return None
