"""What a few tests need from outside the repository, and what happens when it is absent.

The real data (``shared/data`` beside the clone, described by its README) and a headless Chromium
are not part of a clone. On a fresh clone the tests that need them are skipped, and conftest.py
prints one line saying how many and how to enable them. Under CI (``CI=true``, which .ci/run sets)
their absence fails those tests instead: CI can never pass by skipping.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

#: ../shared/data beside the clone; XEXP_TEST_DATA names another folder
DATA = Path(os.environ.get("XEXP_TEST_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
#: skip reasons start with these; conftest.py counts the skips by them
DATA_REASON = "needs real data"
BROWSER_REASON = "needs chromium"
TEX_REASON = "needs pdflatex"


def strict() -> bool:
    """Under CI a missing requirement is a failure, not a skip."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _absent(message: str) -> None:
    if strict():
        pytest.fail(f"{message} (CI=true: required)", pytrace=False)
    pytest.skip(message)


def data(*parts: str) -> Path:
    """The path of a real data file (or of the data folder itself), or skip/fail when absent."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        _absent(f"{DATA_REASON}: {path} is missing")
    return path


def chromium() -> str:
    """The headless browser that renders report.html, or skip/fail when it is not installed."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        _absent(f"{BROWSER_REASON}: no chromium on PATH")
    return found


def pdflatex() -> str:
    """The TeX engine that compiles report.tex (Debian: texlive-latex-base and
    texlive-latex-recommended), or skip/fail when it is not installed."""
    found = shutil.which("pdflatex")
    if not found:
        _absent(f"{TEX_REASON}: no pdflatex on PATH")
    return found
