"""One dispatch: a name a spec uses reaches its code only through its registry entry.

Every entry's `implementation` ("module:attribute") is resolved by runtime/implementations.py,
and so is each node kind's op, its class's `IMPLEMENTATION` (compiler/graph/kinds.py). This
file checks the three things that make that true: every implementation resolves and has its kind's shape; nothing in
runtime/ branches on an entry's name instead (an AST scan); and an entry registered here, in a
temporary copy of the registry, pointing at code in this file, is what the runtime calls, with
no runtime code edited.
"""

from __future__ import annotations

import ast
import inspect
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any, get_args

import pytest

from xexp.compiler.graph.contracts import LoadParams, ModelParams
from xexp.compiler.graph.node import NODE_KINDS, Node
from xexp.compiler.registry import REGISTRY, Params, register
from xexp.compiler.registry.base import Category
from xexp.runtime.engine.context import NodeContext
from xexp.runtime.data.raw import DataError, RawSource
from xexp.runtime.implementations import resolve, resolve_path
from xexp.runtime.robustness.perturbations.base import Outcome, Perturbation
from xexp.runtime.learning.tasks.base import Task

REPO = Path(__file__).resolve().parents[1]
RUNTIME = REPO / "runtime"


# --- every implementation resolves, in its kind's shape ----------------------------------------


def _binds(function: Any, *args: Any, **kwargs: Any) -> bool:
    """Whether `function` can be called with these arguments (its signature, not a call)."""
    try:
        inspect.signature(function).bind(*args, **kwargs)
    except TypeError:
        return False
    return True


#: Per category, whether an implementation has the shape its caller expects (the Protocol or base
#: class in the calling module: tasks.base.Task, data.sources.SourceReader,
#: models.sources.ModelMaterializer, perturbations.lexicon.LexiconReader, perturbations.base
#: .Perturbation, and attacks/runner.py's factory call that gives an ExampleAttack).
SHAPES = {
    "task_type": lambda impl, entry: isinstance(impl, Task) and impl.name == entry.name,
    "data_source": lambda impl, entry: _binds(impl, {}, task_type="nli", split="dev", language="en"),
    "model_source": lambda impl, entry: _binds(impl, {}, Path(".")),
    "lexicon": lambda impl, entry: _binds(impl, {}, "de"),
    "perturbation": lambda impl, entry: (inspect.isclass(impl) and issubclass(impl, Perturbation)
                                         and impl.name == entry.name),
    "attack": lambda impl, entry: _binds(impl, {}, lang="en",
                                         **({"models": {}} if entry.model_params else {})),
}


def test_every_category_has_a_shape_check():
    assert set(SHAPES) == set(get_args(Category))


@pytest.mark.parametrize("entry", [e for c in get_args(Category) for e in REGISTRY.of(c)],
                         ids=lambda e: f"{e.category}:{e.name}")
def test_every_entry_resolves_to_an_implementation_of_its_kinds_shape(entry):
    implementation = resolve(entry)
    assert SHAPES[entry.category](implementation, entry), \
        f"{entry.category} {entry.name!r}: {entry.implementation} is not shaped as its caller expects"


def test_every_node_kind_names_an_op():
    from xexp.compiler.graph.kinds import KINDS

    assert set(KINDS) == set(NODE_KINDS)
    for kind, declared in KINDS.items():
        op = resolve_path(declared.IMPLEMENTATION)
        assert _binds(op, "node", "ctx"), f"the {kind} op {declared.IMPLEMENTATION} is not op(node, ctx)"


def test_the_dispatching_modules_import_no_implementation():
    """Implementations load when a node runs: importing the modules that dispatch (as the
    driver and the planner do) pulls in no model or dataset library."""
    modules = ["xexp.runtime.ops", "xexp.runtime.learning.tasks", "xexp.runtime.data.sources",
               "xexp.runtime.learning.models.sources", "xexp.runtime.robustness.perturbations.lexicon"]
    code = (f"import sys\nfor m in {modules!r}: __import__(m)\n"
            "print(sorted({'torch', 'transformers', 'datasets', 'ray'} & set(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# --- one clear error for an unknown name, wherever it is met ------------------------------------


def _unknown_task_type(tmp_path):
    from xexp.runtime.learning.tasks import get_task

    get_task("sentimant")


def _unknown_data_source(tmp_path):
    from xexp.runtime.data.sources import load_rows

    load_rows({"source": "ftp"}, task_type="nli", split="dev", rows=None, language="en")


def _unknown_model_source(tmp_path):
    from xexp.runtime.learning.models.sources import materialize_model

    materialize_model({"source": "tinny"}, tmp_path)


def _unknown_lexicon(tmp_path):
    from xexp.runtime.robustness.perturbations.lexicon import english_to

    english_to({"kind": "musee"}, "de")


def _unknown_perturbation(tmp_path):
    from xexp.runtime.robustness import perturbations

    perturbations.apply("char_nose", "text", lang="en")


def _unknown_attack(tmp_path):
    from xexp.runtime.robustness.attacks.runner import run_task_attack

    run_task_attack("char_atack", {}, [], lang="en", field="both", target=None, seed=0)


@pytest.mark.parametrize("call, kind, message", [
    (_unknown_task_type, ValueError, "unknown task type 'sentimant' (known task types: extractive_qa, "),
    # a data problem, said as one: where it is, then what is wrong
    (_unknown_data_source, DataError,
     "{'source': 'ftp'}: unknown data source 'ftp' (known data sources: hf, local, synthetic)"),
    (_unknown_model_source, ValueError, "unknown model source 'tinny'; did you mean 'tiny'? (known model sources: "),
    (_unknown_lexicon, ValueError, "unknown lexicon 'musee'; did you mean 'muse'? (known lexicons: muse, synthetic)"),
    (_unknown_perturbation, ValueError,
     "unknown perturbation 'char_nose'; did you mean 'char_noise'? (known perturbations: "),
    (_unknown_attack, ValueError, "unknown attack 'char_atack'; did you mean 'char_attack'? (known attacks: "),
])
def test_an_unknown_name_is_one_clear_error(call, kind, message, tmp_path):
    with pytest.raises(kind) as error:
        call(tmp_path)
    assert message in str(error.value) and "\n" not in str(error.value)


# --- no second dispatch by name ---------------------------------------------------------------

#: Functions of runtime/ that still compare a value with a registry name, and why that is not a
#: second way to find an implementation ("module.function": the file's stem, or its package for
#: an __init__.py). A new comparison anywhere else fails; an entry here that no longer compares
#: fails too, so the list only shrinks.
NOT_DISPATCH = {
    "synthetic.generate": "the synthetic source's own `task` parameter, spelled like the task type it feeds",
    # cost estimates read each source kind's own parameters (no implementation is chosen)
    "history.model_label": "how plans name a model: hub id, packaged name, tiny's shape",
    "models.parameter_count": "a model's size from its source's parameters",
    "work.load_rows": "a planned load's rows from its source's parameters",
    # the hub source is the one model source not built into the store
    "model_op.run": "a built model's manifest points at its folder in the store",
    "prefetch.hub_models": "hub models are downloaded before a run",
    "provenance.model_origin": "only a hub source may trust remote code, and it is not in the store",
    "executor.make_executor": "the executor named 'local' (--executor), not the data source",
}


def _registry_names() -> set[str]:
    return {name for category in get_args(Category) for name in REGISTRY.names(category)}


def _function_of(path: Path, tree: ast.Module) -> dict[ast.AST, str]:
    """Each node of `tree` -> "module.function" of the innermost function holding it."""
    module = path.parent.name if path.stem == "__init__" else path.stem
    owner: dict[ast.AST, str] = {}

    def visit(node: ast.AST, where: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = (f"{module}.{child.name}" if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
                     else where)
            owner[child] = inner
            visit(child, inner)

    visit(tree, f"{module}.<module>")
    return owner


def _strings(node: ast.AST) -> list[str]:
    """The string constants an operand is or lists (`x in ("nli", "paraphrase")`)."""
    items = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else [node]
    return [i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)]


def name_dispatches(source: str, path: Path, names: set[str]) -> list[tuple[str, str]]:
    """(function, "file:line: code") of every place in `source` that chooses by a registry name:
    a comparison or `match` case against one, or a table keyed by several."""
    tree = ast.parse(source)
    owner = _function_of(path, tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            hit = any(s in names for o in operands for s in _strings(o)) and not all(
                isinstance(o, ast.Constant) for o in operands)
        elif isinstance(node, ast.match_case):
            hit = any(isinstance(p, ast.MatchValue) and set(_strings(p.value)) & names
                      for p in ast.walk(node.pattern))
        elif isinstance(node, ast.Dict):
            hit = sum(s in names for k in node.keys if k is not None for s in _strings(k)) >= 2
        else:
            continue
        if hit:
            shown = node.pattern if isinstance(node, ast.match_case) else node  # a case has no line
            found.append((owner[node], f"{path.relative_to(REPO)}:{shown.lineno}: {ast.unparse(shown)}"))
    return found


def test_no_runtime_code_chooses_by_a_registry_name():
    names = _registry_names()
    found = [hit for path in sorted(RUNTIME.rglob("*.py"))
             for hit in name_dispatches(path.read_text(encoding="utf-8"), path, names)]
    second_paths = [where for function, where in found if function not in NOT_DISPATCH]
    assert not second_paths, ("runtime/ chooses by a registry name instead of resolving the entry's "
                              "implementation (runtime/implementations.py):\n" + "\n".join(second_paths))
    stale = set(NOT_DISPATCH) - {function for function, _ in found}
    assert not stale, f"no longer compared with a registry name: remove from NOT_DISPATCH: {sorted(stale)}"


@pytest.mark.parametrize("code", [
    "def get(kind):\n    if kind == 'tiny':\n        return 1\n",
    "def get(kind):\n    return 1 if kind in ('nli', 'paraphrase') else 2\n",
    "def get(kind):\n    match kind:\n        case 'muse':\n            return 1\n",
    "def get(kind):\n    return {'hf': 1, 'local': 2}[kind]\n",
])
def test_the_scan_sees_each_way_of_choosing_by_name(code):
    assert name_dispatches(code, RUNTIME / "example.py", _registry_names())


# --- a new entry, registered here, is what the runtime calls --------------------------------------


@pytest.fixture
def registry_copy(monkeypatch):
    """The registry as it is, plus what the test registers; the real one comes back after."""
    monkeypatch.setattr(REGISTRY, "_entries", dict(REGISTRY._entries))
    return REGISTRY


def _context(node: Node, tmp_path: Path) -> NodeContext:
    return NodeContext(node=node, out_dir=tmp_path / "out", scratch_dir=tmp_path / "scratch", inputs={},
                       logger=logging.getLogger("test_dispatch"), log_path=tmp_path / "node.log")


class InlineData(Params):
    """Examples written in the source itself (a data source declared by this test)."""

    examples: list[dict[str, str]]


def read_inline(source: dict, *, task_type: str, split: str | None, language: str | None) -> RawSource:
    examples = source["examples"]
    return RawSource(name="inline", count=len(examples), fetch=lambda rows: [examples[i] for i in rows],
                     where=lambda i: f"inline example {i + 1}")


def test_a_declared_data_source_is_what_the_load_op_reads(registry_copy, tmp_path):
    import pyarrow.parquet as pq

    from xexp.runtime.ops import execute

    register("inline", "data_source", implementation=f"{__name__}:read_inline")(InlineData)
    examples = [{"premise": "A dog runs.", "hypothesis": "An animal moves.", "label": "entailment"},
                {"premise": "A cat sleeps.", "hypothesis": "A cat runs.", "label": "contradiction"}]
    params = LoadParams(task_type="nli", source={"source": "inline", "examples": examples}, split="dev",
                        rows=None, language="en").to_params()
    node = Node.make("load", "load inline", params)
    manifest = execute(node, _context(node, tmp_path))
    table = pq.read_table(tmp_path / "out" / manifest.file)
    assert table.column("premise").to_pylist() == ["A dog runs.", "A cat sleeps."]


class CopiedModel(Params):
    """A model folder copied into the store (a model source declared by this test)."""

    folder: str


def materialize_copy(source: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    import shutil

    shutil.copytree(source["folder"], out_dir)
    return {"source": source["source"], "path_or_id": str(out_dir), "revision": None,
            "trust_remote_code": False}


def test_a_declared_model_source_is_what_the_model_op_materializes(registry_copy, tmp_path):
    from xexp.runtime.ops import execute

    register("copied", "model_source", implementation=f"{__name__}:materialize_copy")(CopiedModel)
    (tmp_path / "made").mkdir()
    (tmp_path / "made" / "config.json").write_text("{}")
    params = ModelParams(source={"source": "copied", "folder": str(tmp_path / "made")}).to_params()
    node = Node.make("model", "copied model", params)
    manifest = execute(node, _context(node, tmp_path))
    assert manifest.source == "copied" and (tmp_path / "out" / "model" / "config.json").is_file()


class Shouting(Task):
    name = "shouting"


SHOUTING = Shouting()


class ShoutingTask(Params):
    """A task type declared by this test."""


def test_a_declared_task_type_is_what_get_task_gives(registry_copy):
    from xexp.runtime.learning.tasks import get_task

    register("shouting", "task_type", implementation=f"{__name__}:SHOUTING", family="pair")(ShoutingTask)
    assert get_task("shouting") is SHOUTING
    register("muddled", "task_type", implementation=f"{__name__}:read_inline", family="pair")(ShoutingTask)
    with pytest.raises(TypeError, match="task type 'muddled': its implementation is .* not a Task"):
        get_task("muddled")


class InlineLexicon(Params):
    """A lexicon declared by this test."""


def read_pets(ref, foreign: str) -> dict[str, tuple[str, ...]]:
    return {"dog": ("Hund",), "cat": ("Katze",)}


def test_a_declared_lexicon_is_what_code_switching_reads(registry_copy):
    from xexp.runtime.robustness.perturbations.lexicon import english_to, to_english

    register("pets", "lexicon", implementation=f"{__name__}:read_pets")(InlineLexicon)
    assert english_to({"kind": "pets"}, "de")["dog"] == ("Hund",)
    assert to_english({"kind": "pets"}, "de")["Katze"] == ("cat",)


class Shout(Perturbation):
    name = "shout"

    def _apply(self, text: str, lang: str, rng) -> Outcome:
        return Outcome(text.upper(), len(text), sum(c.islower() for c in text))


class ShoutParams(Params):
    """A perturbation declared by this test."""


def test_a_declared_perturbation_is_what_perturbing_applies(registry_copy):
    from xexp.runtime.robustness import perturbations

    register("shout", "perturbation", implementation=f"{__name__}:Shout")(ShoutParams)
    assert perturbations.apply("shout", "a dog", lang="en") == "A DOG"


def record_node(node: Node, ctx: NodeContext) -> dict:
    return {"ran": node.kind}


def test_the_op_the_kind_names_is_the_one_that_runs(monkeypatch, tmp_path):
    from xexp.compiler.graph.kinds import ReportKind
    from xexp.runtime.ops import execute

    monkeypatch.setattr(ReportKind, "IMPLEMENTATION", f"{__name__}:record_node")
    node = Node.make("report", "report", {})
    assert execute(node, _context(node, tmp_path)) == {"ran": "report"}
