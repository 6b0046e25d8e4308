"""Spec -> Graph: the explicit cross product of models × variants × seeds × targets × languages × conditions.

Keys carry only what determines a node's output (see graph/node.py), which is what makes
work shared: every variant reads the same `load` and `perturb` nodes, an intermediate
training never sees target settings, and a task's *name* never enters a key. Local files and
lexicons enter by content: `LocalInputs` (compiler/inputs.py) resolves their paths against the
spec's folder and adds their sha256.
"""

from __future__ import annotations

import os
from typing import Any

from xexp.compiler.graph.contracts import (
    AttackParams, EvaluateParams, LoadParams, LoadPart, MixMember, ModelParams, PerturbParams, TrainParams, member_input,
)
from xexp.compiler.graph.report_contract import CLEAN, ReportParams, ReportTarget
from xexp.compiler.graph.node import Graph, Node, Resources, canonical_json, keyed
from xexp.compiler.inputs import LocalInputs
from xexp.compiler.registry import REGISTRY
from xexp.compiler.registry.attacks import MODEL_PARAMS as ATTACK_MODEL_PARAMS
from xexp.compiler.registry.sources import UNTRAINED_TASKS
from xexp.compiler.spec import TRAINING_LANGUAGE, PerturbationDef, Spec, TargetDef, TaskDef, VariantDef

BASELINE = "none"
ARROW = "→"


def with_language(value: Any, lang: str | None) -> Any:
    """Fill `{lang}` in every string of a (nested) parameter value."""
    if lang is None:
        return value
    if isinstance(value, str):
        return value.replace("{lang}", lang)
    if isinstance(value, list):
        return [with_language(v, lang) for v in value]
    if isinstance(value, dict):
        return {k: with_language(v, lang) for k, v in value.items()}
    return value


class _Lowering:
    def __init__(self, spec: Spec, inputs: LocalInputs):
        self.spec = spec
        self.inputs = inputs
        self.nodes: dict[str, Node] = {}
        self.multi_model = len(spec.models) > 1
        # the same load/perturb is asked for once per variant and seed: build its node once
        self.memo: dict[tuple, str] = {}
        self.params_memo: dict[tuple, tuple[dict, str]] = {}
        self.resources_by_kind: dict[str, Resources] = {}

    def add(self, node: Node) -> str:
        self.nodes.setdefault(node.key, node)  # the first name of a shared node wins
        return node.key

    def resources(self, kind: str) -> Resources:
        if kind not in self.resources_by_kind:
            self.resources_by_kind[kind] = self.spec.resources_for(kind)
        return self.resources_by_kind[kind]

    def prefix(self, model: str) -> str:
        return f"{model}/" if self.multi_model else ""

    # -- node makers --------------------------------------------------------------------------

    def model(self, name: str, source: dict) -> str:
        source = self.inputs.hub_source(source) if source.get("source") == "hf" else source
        params = ModelParams(source=source).to_params()
        return self.add(Node.make("model", f"model:{name}", params, resources=self.resources("model"),
                                  labels={"model": name}))

    def load(self, task: TaskDef, split: str, lang: str | None, limit: int | None = None) -> str:
        memo = ("load", task.name, split, lang, limit)
        if memo not in self.memo:
            self.memo[memo] = self._load(task, split, lang, limit)
        return self.memo[memo]

    def _load(self, task: TaskDef, split: str, lang: str | None, limit: int | None) -> str:
        ref = task.splits[split]
        language = lang if ref.depends_on_language else None
        rows = ref.rows
        if limit is not None:
            start = rows[0] if rows else 0
            stop = min(rows[1], start + limit) if rows else start + limit
            rows = (start, stop)
        split_name = ref.split if ref.split is not None else split
        parts = None
        if ref.parts:  # several sources as one split: each part keeps its own split and rows
            parts = [LoadPart(source=self.inputs.data_source(with_language(p.source, language), p.split or split),
                              split=p.split or split, rows=p.rows) for p in ref.parts]
        params = LoadParams(task_type=task.type, source=self.inputs.data_source(with_language(ref.source, language), split_name),
                            split=split_name, rows=rows, language=language, parts=parts).to_params()
        where = f"{task.name}/{split}" + (f"/{language}" if language else "")
        return self.add(Node.make("load", f"load:{where}", params, resources=self.resources("load"),
                                  labels={"task": task.name, "split": split, "language": language}))

    def train(self, task: TaskDef | VariantDef, phase: str, base: str, seed: int, name: str, labels: dict) -> str:
        settings = self.spec.train_settings(phase, task.name)
        if isinstance(task, VariantDef):
            params, inputs = self.mix(task, settings, seed)
            labels = {**labels, "members": list(task.members)}
        else:
            inputs = {"train": self.load(task, "train", TRAINING_LANGUAGE)}
            if "dev" in task.splits:
                inputs["dev"] = self.load(task, "dev", TRAINING_LANGUAGE)
            params = TrainParams(task_type=task.type, task_params=task.params, hparams=settings, seed=seed).to_params()
        inputs = {"base": base, **inputs}
        resources = self.resources("train")
        labels = {"phase": phase, "task": task.name, "seed": seed, **labels}
        trial_resources = None
        if settings.sweeps():
            # the node only coordinates a Ray Tune search; each trial gets the training resources
            trial_resources = resources
            resources = Resources(num_cpus=0, memory=resources.memory, custom=resources.custom)
        return self.add(Node.make("train", name, params, inputs, resources, labels=labels,
                                  trial_resources=trial_resources))

    def mix(self, variant: VariantDef, settings, seed: int) -> tuple[dict, dict[str, str]]:
        """A variant's training params and inputs: per member, the same `load` nodes a training
        on that task alone reads, once per language the member is read in."""
        members, inputs = [], {}
        for index, task in enumerate(self.spec.tasks[m] for m in variant.members):
            read = {split: variant.languages_of(task.splits[split]) if split in task.splits else []
                    for split in ("train", "dev")}
            for split, languages in read.items():
                for lang in languages:
                    inputs[member_input(split, index, lang)] = self.load(task, split, lang)
            own = self.spec.member_lengths.get(task.name)
            members.append(MixMember(task_type=task.type, task_params=task.params, languages=read["train"],
                                     dev_languages=read["dev"],
                                     max_len=own if own is not None and own != settings.max_len else None))
        params = TrainParams(task_params={}, hparams=settings, seed=seed, members=members,
                             sampling=variant.sampling).to_params()
        return params, inputs

    def perturb(self, data: str, p: PerturbationDef, lang: str, seed: int, target: TaskDef) -> str:
        memo = ("perturb", data, p.name, lang, seed)
        if memo not in self.memo:
            self.memo[memo] = self._perturb(data, p, lang, seed, target)
        return self.memo[memo]

    def _perturb(self, data: str, p: PerturbationDef, lang: str, seed: int, target: TaskDef) -> str:
        params = PerturbParams(perturbation=p.entry, params=self.inputs.lexicons(with_language(p.params, lang)),
                               field=p.field_for(target.type), language=lang, seed=seed,
                               description=with_language(p.description, lang),
                               entry_version=self.entry_version(p)).to_params()
        where = f"{target.name}/" if len(self.spec.targets) > 1 else ""  # names stay unique per target
        return self.add(Node.make("perturb", f"perturb:{where}{p.name}/{lang}/seed{seed}", params, {"data": data},
                                  self.resources("perturb"),
                                  labels={"perturbation": p.name, "language": lang, "seed": seed}))

    @staticmethod
    def entry_version(p: PerturbationDef) -> int:
        entry = REGISTRY.get(p.category, p.entry)
        assert entry is not None, p.entry  # the validator resolved it
        return entry.version

    # -- the cross product ----------------------------------------------------------------------

    def lower(self) -> Graph:
        """Per model, seed and variant: the intermediate training once, shared by every target;
        per target, its own target training and evaluations in its own languages."""
        spec = self.spec
        several = len(spec.targets) > 1
        cells: list[dict] = []
        for model in spec.models:
            model_key = self.model(model.name, model.source)
            pre = self.prefix(model.name)
            for seed in spec.seeds:
                for variant in spec.intermediate:
                    base = model_key
                    if variant != BASELINE:
                        task = spec.variants.get(variant) or spec.tasks[variant]
                        base = self.train(task, "intermediate", model_key, seed, f"train:{pre}{variant}/seed{seed}",
                                          {"model": model.name, "variant": variant})
                    for target_def in spec.targets:
                        # a target's label enters only the labels and report cells of a spec with
                        # several targets, so the report of a one-target spec keeps its key
                        labels = {"model": model.name, "variant": variant,
                                  **({"target": target_def.task} if several else {})}
                        cells += self.target(target_def, base, seed, pre, labels)
        self.report(cells)
        return Graph(experiment=spec.experiment, nodes=self.ordered())

    def target(self, target_def: TargetDef, base: str, seed: int, pre: str, labels: dict) -> list[dict]:
        """One target's training on top of `base` and its evaluations; the report cells."""
        spec = self.spec
        target = spec.tasks[target_def.task]
        eval_split = "test" if "test" in target.splits else "dev"
        perturbations = [p for p in spec.perturbations if p.name in target_def.perturbations]
        chain = f"{labels['variant']}{ARROW}{target.name}"
        if target_def.trained_on is None:  # retrieval: the variant's encoder as it is
            tuned = base
        else:
            source = spec.tasks[target_def.trained_on]
            tuned = self.train(source, "target", base, seed, f"train:{pre}{chain}/seed{seed}", labels)
        cells: list[dict] = []
        for lang in target_def.languages:
            clean = self.load(target, eval_split, lang, spec.evaluate_settings(target.name).limit)
            cells.append(self.evaluate(tuned, clean, labels, chain, lang, seed, CLEAN, "", target))
            for p in perturbations:
                if p.languages is not None and lang not in p.languages:
                    continue
                if p.category == "attack":
                    cells.append(self.attack(tuned, clean, p, labels, chain, lang, seed, target))
                else:
                    data = self.perturb(clean, p, lang, seed, target)
                    cells.append(self.evaluate(tuned, data, labels, chain, lang, seed, p.name, p.description,
                                               target))
        return cells

    def evaluate(self, tuned: str, data: str, where: dict, chain: str, lang: str,
                 seed: int, condition: str, description: str, target: TaskDef) -> dict:
        memo = ("evaluate params", target.name)  # one target's evaluations differ in inputs only
        if memo not in self.params_memo:
            settings = self.spec.evaluate_settings(target.name)
            untrained = target.type in UNTRAINED_TASKS  # the only targets whose params reach evaluation
            params = EvaluateParams(task_type=target.type, batch=settings.batch, max_len=settings.max_len,
                                    doc_stride=target.params.get("doc_stride"),
                                    task_params=target.params if untrained else {}).to_params()
            self.params_memo[memo] = params, canonical_json(keyed(params))
        params, params_json = self.params_memo[memo]
        labels = {**where, "language": lang, "condition": condition, "seed": seed, "description": description}
        key = self.add(Node.make("evaluate", f"evaluate:{self.prefix(where['model'])}{chain}/{lang}/{condition}/seed{seed}",
                                 params, {"model": tuned, "data": data}, self.resources("evaluate"), labels,
                                 params_json=params_json))
        return {"node": key, "data": data, "kind": "evaluate", **labels}

    def attack(self, tuned: str, clean: str, p: PerturbationDef, where: dict, chain: str, lang: str,
               seed: int, target: TaskDef) -> dict:
        settings = self.spec.evaluate_settings(target.name)
        params = AttackParams(attack=p.entry, params=self.inputs.lexicons(with_language(p.params, lang)),
                              field=p.field_for(target.type),
                              language=lang, seed=seed, description=with_language(p.description, lang),
                              task_type=target.type, batch=settings.batch, max_len=settings.max_len,
                              doc_stride=target.params.get("doc_stride"),
                              entry_version=self.entry_version(p)).to_params()
        labels = {**where, "language": lang, "condition": p.name, "seed": seed,
                  "description": p.description}  # one per condition in the report: `{lang}` kept
        inputs = {"model": tuned, "data": clean}
        tools = {m.name: m for m in self.spec.tools}
        for role in ATTACK_MODEL_PARAMS:  # word_attack's masked LM and encoder: `model` nodes, untrained
            name = p.params.get(role)
            if name is not None and name in tools:
                inputs[role] = self.model(name, tools[name].source)
        key = self.add(Node.make("attack", f"attack:{self.prefix(where['model'])}{chain}/{lang}/{p.name}/seed{seed}",
                                 params, inputs, self.resources("attack"), labels))
        return {"node": key, "data": clean, "kind": "attack", **labels}

    def report(self, cells: list[dict]) -> str:
        inputs: dict[str, str] = {}
        table = []
        for i, cell in enumerate(cells):
            inputs[f"cell{i}"] = cell["node"]
            inputs[f"data{i}"] = cell["data"]
            table.append({k: v for k, v in cell.items() if k not in ("node", "data")})
        targets = [ReportTarget(task=t.task, trained_on=t.trained_on, task_type=self.spec.tasks[t.task].type,
                                languages=t.languages,
                                normalization=self.spec.tasks[t.task].params.get("answers"),
                                mining=self.spec.tasks[t.task].params.get("metric") == "f1")
                   for t in self.spec.targets] if len(self.spec.targets) > 1 else []
        settings = self.spec.report
        if settings.reference is not None:  # the published figures enter the key by content
            settings = settings.model_copy(update={"reference": self.inputs.fingerprint(settings.reference, many=False)})
        # the cells as plain dicts: the contract validates all of them in one call
        params = ReportParams.model_validate({"settings": settings, "cells": table,
                                              "experiment": self.spec.experiment, "targets": targets}).to_params()
        # No input file is named in a report's params (its data arrive as inputs), so `keyed`
        # would walk thousands of cells to change nothing: the params encode as they are.
        return self.add(Node.make("report", f"report:{self.spec.experiment}", params, inputs,
                                  self.resources("report"),
                                  params_json=None if settings.reference is not None else canonical_json(params)))

    def ordered(self) -> list[Node]:
        """Topological order, stable: inputs before consumers, otherwise creation order."""
        done: set[str] = set()
        out: list[Node] = []

        def visit(key: str) -> None:
            stack = [(key, False)]
            while stack:
                current, expanded = stack.pop()
                if current in done:
                    continue
                if expanded:
                    done.add(current)
                    out.append(self.nodes[current])
                    continue
                stack.append((current, True))
                for dep in reversed(list(self.nodes[current].inputs.values())):
                    if dep not in done:
                        stack.append((dep, False))

        for key in self.nodes:
            visit(key)
        return out


def lower(spec: Spec, base_dir: str | os.PathLike | None = None) -> Graph:
    """The graph of a spec; relative local paths resolve against `base_dir` (the spec's folder;
    the current directory when None). A spec without local files touches no file."""
    inputs = LocalInputs(base_dir)
    graph = _Lowering(spec, inputs).lower()
    inputs.cache.save()
    return graph
