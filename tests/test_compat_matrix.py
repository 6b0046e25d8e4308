"""`xexp check` passing means it will run (issue 13): every task type × every registered
perturbation and attack × every field placement × every language restriction, on tiny real
files. Each combination is either rejected by `xexp check` (exit 2, a caret, a hint) or runs
end to end on a tiny model. Zero combinations pass check and then fail in a node.

The accepted combinations of one task type run together in one spec: the graph shares every
node two combinations have in common (a restriction `in [en]` is the unrestricted entry's
English node), so the run does each distinct piece of work once.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xexp.cli import main
from xexp.compiler import SpecError
from xexp.compiler.registry import REGISTRY
from xexp.compiler.registry.base import FAMILY_FIELDS, FIELDS as FIELD_NAMES
from xexp.preflight import compile_checked

TASK_TYPES = [e.name for e in REGISTRY.of("task_type")]
ENTRIES = [e for category in ("perturbation", "attack") for e in REGISTRY.of(category)]
FIELDS = [None, *FIELD_NAMES]
LANGUAGES = ["en", "zh"]
RESTRICTIONS = [None, ["en"], ["zh"]]
#: Arguments an entry needs (or that keep an attack small); every other parameter keeps its default.
ARGUMENTS = {
    "stress": '"negation"',
    "code_switch": 'lexicon=synthetic(), to="de"',
    "char_attack": "max_queries=12, examples=2",
    "codeswitch_attack": "lexicon=synthetic(), languages=[de], max_queries=12, examples=2",
    "word_attack": "mlm=mlm, max_queries=12, examples=2",
}
#: The masked LM word_attack names: declared only where a line uses it (it is a tool, not trained).
TOOL_MODEL = "model mlm = tiny(layers=1, hidden=16, heads=2, intermediate=32, seed=5)\n"

PAIRS = {
    "en": [("The cat sleeps on the warm mat.", "A cat is sleeping."),
           ("The man reads a long book.", "Nobody is reading."),
           ("Two children play football in the park.", "Kids are outside."),
           ("She drinks hot coffee every morning.", "She dislikes coffee.")],
    "zh": [("猫在温暖的垫子上睡觉。", "一只猫在睡觉。"), ("那个人在读一本很长的书。", "没有人在读书。"),
           ("两个孩子在公园里踢足球。", "孩子们在外面。"), ("她每天早上喝热咖啡。", "她不喜欢咖啡。")],
}
LABELS = {"nli": ["entailment", "contradiction", "neutral", "contradiction"],
          "paraphrase": ["paraphrase", "not_paraphrase", "paraphrase", "not_paraphrase"]}


def words(sentence: str, lang: str) -> list[str]:
    """Tokens of a tagged row: words split on spaces, or characters where the script has no
    spaces (zh), with the final full stop a token of its own."""
    body, stop = sentence[:-1], sentence[-1]
    return [*(body.split() if lang != "zh" else list(body)), stop]


def bio_tags(n: int) -> list[str]:
    """A valid BIO sequence (B- then I-, others O) so the tagger is scored by entity F1."""
    return ["B-ENT" if k % 4 == 1 else "I-ENT" if k % 4 == 2 else "O" for k in range(n)]


def rows(task_type: str, lang: str) -> list[dict]:
    out = []
    for i, (first, second) in enumerate(PAIRS[lang]):
        if task_type in LABELS:
            out.append({"premise": first, "hypothesis": second, "label": LABELS[task_type][i]})
        elif task_type == "token_classification":
            tokens = words(first, lang)
            out.append({"tokens": tokens, "tags": bio_tags(len(tokens))})
        elif task_type == "extractive_qa":
            answer = second[:4]
            context = f"{first} {second}"
            out.append({"context": context, "question": first,
                        "answers": {"text": [answer], "answer_start": [context.index(answer)]}})
        elif task_type == "multiple_choice":
            out.append({"context": first, "endings": [second, first[:6], "—"], "label": i % 3})
        elif task_type == "masked_lm":
            out.append({"text": f"{first} {second}"})
        elif task_type == "retrieval":  # the sentence in `lang`, and its English counterpart
            out.append({"query": first, "candidate": PAIRS["en"][i][0]})
        else:
            raise ValueError(f"the matrix has no rows for task type {task_type!r}: add them")
    return out


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("matrix")
    for task_type in TASK_TYPES:
        folder = root / task_type
        folder.mkdir()
        train = rows(task_type, "en") * 2
        (folder / "train.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in train))
        for lang in LANGUAGES:
            (folder / f"test.{lang}.jsonl").write_text(
                "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows(task_type, lang)))
    return root


def spec_text(task_type: str, lines: list[str]) -> str:
    untrained = bool(REGISTRY.get("task_type", task_type).untrained)  # retrieval: no training
    target = "target = tgt" if untrained else "target = tgt trained_on src\ntrain target { epochs=1 batch=4 max_len=32 }"
    return f"""\
experiment matrix_{task_type}
var d = "."
model m = tiny(layers=1, hidden=16, heads=2, intermediate=32)
{TOOL_MODEL if any("mlm=" in line for line in lines) else ""}task src = {task_type}(local("{{d}}/{task_type}/train.jsonl"), train="train")
task tgt = {task_type}(local("{{d}}/{task_type}/test.{{lang}}.jsonl"), test="test")
{target}
languages = [{' '.join(LANGUAGES)}]
evaluate {{ batch=8 max_len=32 }}
report {{ bootstrap=100 examples=0 }}
perturbations {{
{chr(10).join('  ' + line for line in lines)}
}}
"""


def entry_line(name: str, entry, field, restriction) -> str:
    line = f"{name} = {entry.name}({ARGUMENTS.get(entry.name, '')})"
    if field:
        line += f" on {field}"
    if restriction:
        line += f" in [{' '.join(restriction)}]"
    return line


def combinations():
    for task_type in TASK_TYPES:
        for entry in ENTRIES:
            for field in FIELDS:
                for restriction in RESTRICTIONS:
                    yield task_type, entry, field, restriction


def test_every_task_type_has_matrix_data():
    """A new task type must get real rows here, not fall through to another type's shape."""
    for task_type in TASK_TYPES:
        assert rows(task_type, "en"), task_type


@pytest.fixture(scope="module")
def verdicts(data) -> dict[tuple, str | None]:
    """Each combination's check verdict: None when accepted, else the rendered error."""
    out = {}
    for task_type, entry, field, restriction in combinations():
        text = spec_text(task_type, [entry_line("c", entry, field, restriction)])
        try:
            compile_checked(text, "matrix.xexp", {"d": str(data)})
            out[(task_type, entry.name, field, tuple(restriction or ()))] = None
        except SpecError as err:
            out[(task_type, entry.name, field, tuple(restriction or ()))] = err.render()
    return out


def test_every_rejection_is_a_check_error_with_caret_and_hint(data, verdicts, tmp_path, capsys):
    rejected = [key for key, error in verdicts.items() if error is not None]
    assert rejected, "the matrix rejects nothing: it tests nothing"
    for task_type, name, field, restriction in rejected:
        entry = next(e for e in ENTRIES if e.name == name)
        spec = tmp_path / f"{task_type}_{name}_{field}_{'_'.join(restriction)}.xexp"
        spec.write_text(spec_text(task_type, [entry_line("c", entry, field, list(restriction) or None)]))
        assert main(["check", str(spec), "--set", f"d={data}"]) == 2
        err = capsys.readouterr().err
        assert "^" in err and "hint:" in err and "Traceback" not in err, err


def family(task_type: str) -> str:
    entry = REGISTRY.get("task_type", task_type)
    assert entry is not None
    return entry.family


def test_qa_and_multiple_choice_take_perturbations_and_attacks_on_their_own_fields(verdicts):
    """On extractive_qa and multiple_choice targets a perturbation or attack of text is accepted
    on the task's own fields (or without `on`) in the languages it supports; a field of another
    family is refused naming the target's fields; `stress` is refused naming the task type.
    Retrieval takes perturbations on its one field, the query (the non-English side); attacks
    on it are refused naming the task type (no retrieval success rule yet)."""
    accepted = {"extractive_qa": 0, "multiple_choice": 0, "retrieval": 0}
    attacks_accepted: dict[str, set] = {"extractive_qa": set(), "multiple_choice": set()}
    for (task_type, name, field, restriction), error in verdicts.items():
        if task_type not in accepted:
            continue
        entry = next(e for e in ENTRIES if e.name == name)
        own = FAMILY_FIELDS[family(task_type)]
        if task_type not in (entry.task_types or ()):
            assert error is not None and f"`{name}` does not work on {task_type} targets" in error, (name, error)
            continue
        if field is not None and field not in own:
            assert error is not None and f"{task_type} examples have no field `{field}`" in error, error
            continue
        languages = restriction or ("en", "zh")
        if entry.languages is not None and not set(languages) <= entry.languages:
            assert error is not None and "does not support language" in error, error
            continue
        assert error is None, (task_type, name, field, restriction, error)
        accepted[task_type] += 1
        if entry.category == "attack" and task_type in attacks_accepted:
            attacks_accepted[task_type].add(name)
    assert all(accepted.values()), accepted
    # no attack row is refused on a task type with text fields
    every_attack = {e.name for e in ENTRIES if e.category == "attack"}
    assert all(names == every_attack for names in attacks_accepted.values()), attacks_accepted


def test_intermediate_only_task_types_are_refused_as_targets(verdicts):
    """masked_lm has no head to evaluate: every combination is refused, for that reason."""
    only = [e.name for e in REGISTRY.of("task_type") if e.intermediate_only]
    assert only, "no intermediate-only task type: the registry lost masked_lm"
    for (task_type, name, field, restriction), error in verdicts.items():
        if task_type in only:
            assert error is not None and "cannot be a target or `trained_on`" in error, (task_type, name, error)


def test_token_classification_rejects_fields_and_token_changes_and_takes_attacks(verdicts):
    """A tagged target has one text and one tag per token: a field placement or a perturbation
    that does not keep tokens is rejected; some character-level ones are accepted, and every
    attack (its edits stay inside tokens) without `on`."""
    keeping = {e.name for e in REGISTRY.of("perturbation") if e.keeps_tokens}
    keeping |= {e.name for e in REGISTRY.of("attack")}
    accepted = 0
    for (task_type, name, field, restriction), error in verdicts.items():
        if task_type != "token_classification":
            continue
        if field is not None or name not in keeping:
            assert error is not None, (name, field, restriction)
        accepted += error is None
    assert accepted > 0, "no perturbation is accepted on a tagging target: the run tests nothing"


@pytest.mark.slow
@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_every_accepted_combination_runs_end_to_end(task_type, data, verdicts, tmp_path, ray_local):
    from xexp.running import run_spec

    accepted = [key for key, error in verdicts.items() if key[0] == task_type and error is None]
    if REGISTRY.get("task_type", task_type).intermediate_only:
        assert not accepted  # refused as a target: nothing to run (see the test above)
        return
    if task_type in ("nli", "paraphrase", "extractive_qa", "multiple_choice"):
        assert len(accepted) > len(ENTRIES), "a task with text fields accepts most entries"
    lines = []
    for i, (_t, name, field, restriction) in enumerate(accepted):
        entry = next(e for e in ENTRIES if e.name == name)
        lines.append(entry_line(f"c{i}", entry, field, list(restriction) or None))
    spec = tmp_path / "matrix.xexp"
    spec.write_text(spec_text(task_type, lines) if lines else spec_text(task_type, []).replace(
        "perturbations {\n\n}\n", ""))
    summary = run_spec(spec, keep_going=True, variables={"d": str(data)}, show_progress=False)
    assert summary["failed"] == 0, json.dumps(summary, indent=1, default=str)[:4000]
    assert summary["executed"] == summary["nodes"]
    if task_type == "extractive_qa":  # every perturbed context still holds each answer at its offset
        import pyarrow.parquet as pq

        perturbed = list(Path(summary["store"]).glob("perturb/*/data.parquet"))
        assert perturbed
        for path in perturbed:
            for row in pq.read_table(path).to_pylist():
                for answer in row["answers"]:
                    assert row["context"][answer["start"]:answer["start"] + len(answer["text"])] == answer["text"]
