"""Hugging Face datasets -> a RawSource, with the ClassLabel names the dataset declares.

`id` is a hub id (for users online) or a local directory: either one written by
`Dataset(Dict).save_to_disk` or a folder of data files that `datasets.load_dataset` recognizes
(parquet/json/csv named by split). Only the selected rows are materialized as Python objects,
so `rows=(0, 3000)` of a 400k-row split stays cheap.
"""

from __future__ import annotations

from pathlib import Path

from xexp.runtime.data.raw import DataError, RawSource


def read_hf(source: dict, *, task_type: str, split: str | None, language: str | None) -> RawSource:
    import datasets

    dataset_id = str(source.get("id") or "")
    if not dataset_id:
        raise DataError("hf source", "no dataset 'id' given")
    config = source.get("config")
    if language and "{lang}" in dataset_id:
        dataset_id = dataset_id.replace("{lang}", language)
    if language and config and "{lang}" in config:
        config = config.replace("{lang}", language)
    name = dataset_id + (f" ({config})" if config else "")
    if split and "[" in split:
        raise DataError(name, f"split {split!r}: give the plain split name and select rows with rows=")

    local = Path(dataset_id)
    commit = None
    try:
        if local.is_dir() and ((local / "dataset_dict.json").exists() or (local / "state.json").exists()):
            loaded = datasets.load_from_disk(str(local))
        elif local.is_dir():
            loaded = datasets.load_dataset(dataset_id, config, revision=source.get("revision"))
        else:  # a hub id: read the commit the revision resolves to now, and record it
            from xexp.runtime.data.hub_revision import hub_commit

            commit = hub_commit(dataset_id, source.get("revision"), "dataset")
            loaded = datasets.load_dataset(dataset_id, config, revision=commit or source.get("revision"))
    except (FileNotFoundError, ValueError, ConnectionError, OSError) as exc:
        raise DataError(name, f"cannot load the dataset: {exc}") from exc

    dataset = _pick_split(loaded, split, name)
    class_labels = {}
    for column, feature in dataset.features.items():
        inner = getattr(feature, "feature", None)  # a Sequence/List of ClassLabel: per-token tags
        if isinstance(feature, datasets.ClassLabel) or isinstance(inner, datasets.ClassLabel):
            class_labels[column] = list((inner if inner is not None else feature).names)
    if split:
        shown_split = split
    else:
        shown_split = next(iter(loaded.keys())) if hasattr(loaded, "keys") else "all rows"

    def fetch(indices: range) -> list[dict]:
        if len(indices) == 0:
            return []
        if indices.step == 1:
            return dataset.select(indices).to_list()
        return dataset.select(list(indices)).to_list()

    return RawSource(
        name=name,
        count=len(dataset),
        fetch=fetch,
        where=lambda i: f"{name} [{shown_split}], row {i + 1}",
        class_labels=class_labels,
        revision=commit,
    )


def _pick_split(loaded, split: str | None, name: str):
    """A DatasetDict needs a split (unless it has exactly one); a Dataset is the split."""
    if not hasattr(loaded, "keys"):
        return loaded
    splits = list(loaded.keys())
    if split is None:
        if len(splits) == 1:
            return loaded[splits[0]]
        raise DataError(name, f"the dataset has splits {splits}: name one with split=")
    if split not in loaded:
        raise DataError(name, f"no split {split!r} (the dataset has {splits})")
    return loaded[split]
