"""How a MUSE dictionary names its language pair: `en-de.txt` holds English-German pairs.

Read by the compiler (is there a lexicon for every language a code-switching entry meets?) and
by the runtime (which file serves which language), so both read names the same way.
"""

from __future__ import annotations

import os
import re

_MUSE_NAME = re.compile(r"^en-([a-z]{2,3})\.txt$")


def muse_language(path: str) -> str | None:
    """The foreign language a MUSE file is named for (en-de.txt -> "de"), if its name says."""
    match = _MUSE_NAME.match(os.path.basename(path))
    return match.group(1) if match else None
