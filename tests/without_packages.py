"""Run xexp's CLI as if some packages were not installed: `python tests/without_packages.py
ray,datasets -- run spec.xexp ...`. A finder placed first on `sys.meta_path` refuses the named
top-level packages (and their submodules) with the ModuleNotFoundError an absent package gives,
so a stray import anywhere fails the command, as it would on a machine without them."""

from __future__ import annotations

import importlib.abc
import sys


class Refuse(importlib.abc.MetaPathFinder):
    def __init__(self, names: set[str]) -> None:
        self.names = names

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {fullname!r} (refused by the test)", name=fullname)
        return None


def main(argv: list[str]) -> int:
    names, separator, rest = argv[0], argv[1], argv[2:]
    assert separator == "--", "usage: without_packages.py NAME[,NAME] -- XEXP ARGS"
    refused = set(names.split(","))
    loaded = refused & {m.split(".")[0] for m in sys.modules}
    assert not loaded, f"already imported: {loaded}"
    sys.meta_path.insert(0, Refuse(refused))
    from xexp.cli import main as xexp_main

    return xexp_main(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
