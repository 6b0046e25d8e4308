"""What `xexp check` looks at beyond the text: the spec's local input files, cheaply.

For each local file a run would read — every split of every task the graph uses, in every
language it is loaded in — the path must exist once `{lang}` and `{split}` are filled (a glob
must match), and its first rows must parse and carry the task's fields and labels. Reading
those rows is the runtime's job (its readers and normalizer are the one definition of a valid
row), so it comes in as `preview`; without one, only paths are checked. Lexicon files named by
perturbations are checked for existence too. Nothing here makes a network call: `hf(…)` data
and models are left to the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from xexp.compiler import ast
from xexp.compiler.errors import ErrorSink
from xexp.compiler.inputs import absolute_path, is_glob, matching_files
from xexp.compiler.spec import DataRef, Spec, TaskDef

#: `preview(source, task_type, path)` -> None when the first rows are fine, else the problem.
Preview = Callable[[dict[str, Any], str, Path], str | None]


@dataclass(frozen=True)
class LocalRead:
    """One local read a run will make: which task and split, in which language, which path."""

    task: TaskDef
    split: str
    language: str | None
    ref: DataRef
    pattern: str


def local_reads(spec: Spec) -> Iterator[LocalRead]:
    """Every local data read of the spec's graph, each (task, split, language) once."""
    uses: list[tuple[TaskDef, str, list[str]]] = []
    for name in [*(v for v in spec.intermediate if v != "none"), *(t.trained_on for t in spec.targets if t.trained_on)]:
        uses += spec.trained_reads(name)  # a variant's members, in the languages it reads them in
    for target_def in spec.targets:
        target = spec.tasks[target_def.task]
        uses.append((target, "test" if "test" in target.splits else "dev", target_def.languages))
    seen: set[tuple[str, str, str | None]] = set()
    for task, split, languages in uses:
        ref = task.splits[split]
        if ref.source.get("source") != "local":
            continue
        for lang in languages:
            language = lang if ref.depends_on_language else None
            if (task.name, split, language) in seen:
                continue
            seen.add((task.name, split, language))
            pattern = str(ref.source["path"]).replace("{split}", ref.split or split)
            yield LocalRead(task, split, language, ref, pattern.replace("{lang}", language or "{lang}"))


def check_local_inputs(spec: Spec, spans: dict[tuple, ast.Span], sink: ErrorSink,
                       preview: Preview | None = None, base: Path | None = None) -> None:
    """Report (into `sink`) every local input that a run would fail to read; `spans` as
    `validate(…, spans=…)` fills it. Relative paths mean `base`, the spec's folder (as lowering
    reads them, compiler/inputs.py), or the current directory for a spec given as text."""
    folder = Path(base) if base is not None else Path.cwd()
    for read in local_reads(spec):
        span = spans.get(("split", read.task.name, read.split), ast.NO_SPAN)
        where = f"task `{read.task.name}`, split {read.split}" + (f", language {read.language}" if read.language else "")
        files = matching_files(absolute_path(read.pattern, folder))
        if not files:
            what = "no file matches" if is_glob(read.pattern) else "no such file"
            sink.error(f"{what}: {read.pattern} ({where})", span,
                       f"relative paths are read from the spec's folder ({folder}); "
                       "check the path or pass the data folder with --set")
            continue
        if preview is not None:
            problem = preview(read.ref.source, read.task.type, files[0])
            if problem is not None:
                sink.error(f"{problem} ({where})", span,
                           "the first rows of each local file are read at check time; fix the data or the "
                           "source's columns={…} / labels={…} mapping")
    for p in spec.perturbations:
        for lexicon in _lexicons(p.params):
            for lang in p.languages or spec.languages:
                path = lexicon.replace("{lang}", lang)
                if not Path(absolute_path(path, folder)).is_file():
                    sink.error(f"no such lexicon file: {path} (perturbation `{p.name}`, language {lang})",
                               spans.get(("entry", p.name), ast.NO_SPAN), hint=f"give `{p.name}` only the languages that have a lexicon: "
                                    f"`{p.name} = {p.entry}(…) in [...]`")
                    break


def _lexicons(params: dict[str, Any]) -> Iterator[str]:
    """The file paths of the MUSE lexicons a perturbation's parameters name."""
    lexicons = params.get("lexicon")
    for ref in lexicons if isinstance(lexicons, (list, tuple)) else [lexicons]:
        if isinstance(ref, dict) and ref.get("kind") == "muse" and ref.get("path"):
            yield str(ref["path"])
