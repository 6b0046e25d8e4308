"""Per-example predictions of a trained checkpoint on a normalized table.

`evaluate` writes nothing itself: it returns the predictions table of runtime/data/formats.py (QA
adds an `f1` column) and the `evaluate` node stores it. `predictor` is the same model behind a
plain function of text pairs, for attacks that query the model many times.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from xexp.compiler.graph.contracts import DEFAULT_MAX_LEN
from xexp.runtime.learning.device import inference_batch_size
from xexp.runtime.learning.tasks import get_task
from xexp.runtime.learning.tasks.base import softmax
from xexp.runtime.learning.tasks.runner import forward_features, pad_id_of, pick_device, quiet_loading


def load_for_inference(model_dir: str, task_type: str, task_params: dict | None = None):
    """(task, tokenizer, model on the best device) of a checkpoint trained for `task_type`
    (retrieval: any encoder; `task_params` configure the task where evaluation reads them)."""
    from xexp.runtime.learning.models.sources import load_model, load_tokenizer

    task = get_task(task_type).configured(task_params or {})
    manifest = {"path_or_id": str(model_dir), "revision": None, "trust_remote_code": False}
    with quiet_loading():
        tokenizer = load_tokenizer(manifest)
        model = load_model(manifest, task.auto_class(), **task.inference_kwargs())
    task.check_model(model.config)
    device = pick_device()
    model.to(device)
    model.eval()
    return task, tokenizer, model, device


def evaluate(*, model_dir: str, task_type: str, table, batch: int = 64, max_len: int = DEFAULT_MAX_LEN,
             doc_stride: int | None = None, task_params: dict | None = None):
    """Predictions for every row of `table` (a normalized table of `task_type`), in its order."""
    task, tokenizer, model, device = load_for_inference(model_dir, task_type, task_params)
    return predict_table(task, tokenizer, model, device, table, batch=batch, max_len=max_len,
                         doc_stride=doc_stride)


def predict_table(task, tokenizer, model, device, table, *, batch: int, max_len: int,
                  doc_stride: int | None = None):
    """The predictions table of an already loaded model. On CUDA `batch` is only a floor: the
    batch grows to what the free memory allows (runtime/learning/device.py)."""
    features = task.featurize(table, tokenizer, max_len, training=False, doc_stride=doc_stride)
    batch = inference_batch_size(model, batch, max_len, device)
    outputs = forward_features(model, task, features, batch_size=batch,
                               pad_id=pad_id_of(tokenizer), device=device)
    return task.decode(table, features, outputs, model.config)


def predictor(model_dir: str, task_type: str = "nli", *, max_len: int = DEFAULT_MAX_LEN,
              batch: int = 64) -> Callable[[list[tuple[str, str]]], np.ndarray]:
    """A function from (premise, hypothesis) pairs to probabilities, shape (n, n_labels), in
    the task's label order (runtime/data/formats.py), for pair-classification checkpoints."""
    import pyarrow as pa

    task, tokenizer, model, device = load_for_inference(model_dir, task_type)
    if not hasattr(task, "labels"):
        raise ValueError(f"predictor serves pair-classification tasks, not {task_type!r}")
    order = task.output_order(model.config)
    pad_id = pad_id_of(tokenizer)
    batch = inference_batch_size(model, batch, max_len, device)

    def predict(pairs: list[tuple[str, str]]) -> np.ndarray:
        if not pairs:
            return np.zeros((0, len(task.labels)), dtype=np.float64)
        table = pa.table({"premise": [p for p, _ in pairs], "hypothesis": [h for _, h in pairs]})
        features = task.featurize(table, tokenizer, max_len, training=False)
        logits = np.stack(forward_features(model, task, features, batch_size=batch,
                                           pad_id=pad_id, device=device))[:, order]
        return softmax(logits.astype(np.float64), axis=1)

    return predict



def table_predictor(model_dir: str, task_type: str, *, max_len: int = DEFAULT_MAX_LEN, batch: int = 64,
                    doc_stride: int | None = None):
    """A function from normalized rows (dicts of the task's columns) to their predictions
    table, the model loaded once: what attacks on QA, multiple-choice and tagging targets ask."""
    import pyarrow as pa

    task, tokenizer, model, device = load_for_inference(model_dir, task_type)

    def predict(rows: list[dict]):
        return predict_table(task, tokenizer, model, device, pa.Table.from_pylist(rows), batch=batch,
                             max_len=max_len, doc_stride=doc_stride)

    return predict
