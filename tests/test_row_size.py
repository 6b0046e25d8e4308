"""Bounded memory on any input: a 50 MB text field is cut where it is loaded (one line naming
file, line and field), featurizers cut text before tokenizing, and a real evaluation of such
a row stays far below the 14 GB one row used to take (issue 22)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa

from xexp.runtime.data.row_size import MAX_TEXT_CHARS
from xexp.runtime.data.sources import load_rows
from xexp.runtime.learning.tasks import get_task
from xexp.runtime.learning.tasks.base import CHARS_PER_TOKEN

HUGE = 50 * 1024 * 1024


def test_an_overlong_field_is_cut_at_load_with_one_line_naming_file_line_and_field(tmp_path, caplog):
    path = tmp_path / "dev.jsonl"
    rows = [{"premise": "a b c", "hypothesis": "a", "label": "neutral"},
            {"premise": "word " * (MAX_TEXT_CHARS // 5 + 10), "hypothesis": "h", "label": "entailment"}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    table = load_rows({"source": "local", "path": str(path)}, task_type="nli", split=None, rows=None,
                      language="en")
    premises = table.column("premise").to_pylist()
    assert premises[0] == "a b c" and len(premises[1]) == MAX_TEXT_CHARS
    lines = [r.getMessage() for r in caplog.records if "cut to" in r.getMessage()]
    assert lines == [f"{path}, line 2, field 'premise': {len(rows[1]['premise'])} characters, cut to "
                     f"the {MAX_TEXT_CHARS} a text field may hold"]


def test_featurizers_tokenize_the_same_ids_from_a_clipped_text(tiny_base):
    """Clipping before tokenizing changes nothing the model sees, and bounds what is tokenized."""
    from xexp.runtime.learning.models.sources import load_tokenizer

    tokenizer = load_tokenizer(tiny_base)
    long = "the quick brown fox " * 200
    table = pa.table({"id": ["1"], "premise": [long], "hypothesis": ["a fox"], "label": ["neutral"]})
    features = get_task("nli").featurize(table, tokenizer, 16, training=False)
    whole = tokenizer([long], ["a fox"], truncation=True, max_length=16)
    assert features.items[0]["input_ids"] == whole["input_ids"][0]
    calls = []
    original = tokenizer.__class__.__call__

    def spy(self, *args, **kwargs):
        calls.append(max(len(t) for t in args[0]))
        return original(self, *args, **kwargs)

    tokenizer.__class__.__call__ = spy
    try:
        get_task("nli").featurize(table, tokenizer, 16, training=False)
    finally:
        tokenizer.__class__.__call__ = original
    assert calls == [CHARS_PER_TOKEN * 16]


def test_a_50_mb_row_evaluates_with_peak_rss_under_2_gb(tmp_path, tiny_base):
    path = tmp_path / "dev.jsonl"
    with open(path, "w") as f:
        f.write(json.dumps({"premise": "a" * 10 + " lorem ipsum" * (HUGE // 12), "hypothesis": "a",
                            "label": "neutral"}) + "\n")
        f.write(json.dumps({"premise": "short", "hypothesis": "b", "label": "entailment"}) + "\n")
    assert path.stat().st_size > HUGE * 0.99
    script = textwrap.dedent(f"""
        from xexp.runtime.data.sources import load_rows
        from xexp.runtime.learning.evaluation import evaluate
        from xexp.runtime.learning.models.sources import load_model, load_tokenizer
        from xexp.runtime.learning.tasks import get_task
        base = {{"path_or_id": {tiny_base['path_or_id']!r}}}
        task = get_task("nli")  # an untrained NLI head on the tiny encoder: a checkpoint for nli
        load_model(base, task.auto_class(), **task.model_kwargs()).save_pretrained({str(tmp_path / 'nli')!r})
        load_tokenizer(base).save_pretrained({str(tmp_path / 'nli')!r})
        table = load_rows({{"source": "local", "path": {str(path)!r}}}, task_type="nli", split=None,
                          rows=None, language="en")
        predictions = evaluate(model_dir={str(tmp_path / 'nli')!r}, task_type="nli", table=table,
                               batch=2, max_len=32)
        # VmHWM: this process's own peak; ru_maxrss would also count the forked pytest parent's
        # pages (Linux keeps the pre-exec peak), which in a long suite is gigabytes
        peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
        print(predictions.num_rows, peak)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    rows, peak_kib = map(int, done.stdout.split()[-2:])
    assert rows == 2
    assert peak_kib * 1024 < 2 * 1024**3, f"peak RSS {peak_kib / 1024:.0f} MiB"
    print(f"peak RSS evaluating a 50 MB row: {peak_kib / 1024:.0f} MiB")
