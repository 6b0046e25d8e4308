"""Lists the packages of the four top-level folders under the one `xexp` namespace.

pyproject.toml maps the folders (`[tool.setuptools] package-dir`); this walk only names their
subpackages, so adding a subpackage needs no edit here and no top-level `compiler` or `runtime`
module is ever installed.
"""

import os

from setuptools import setup

FOLDERS = {"xexp": "xexp", "xexp.compiler": "compiler", "xexp.runtime": "runtime", "xexp.grammar": "grammar"}


def packages() -> list[str]:
    found = []
    for package, folder in FOLDERS.items():
        for dirpath, _dirs, files in os.walk(folder):
            if "__init__.py" in files:
                found.append(package + dirpath[len(folder):].replace(os.sep, "."))
    return found


setup(packages=packages())
