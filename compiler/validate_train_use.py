"""Does every `train NAME { … }` block change some training?

A block for a task that nothing trains used to be accepted and ignored (issue 24: `train
squad_translated { max_len=384 }` for a task that trains only inside a mix). A setting that
changes nothing is refused here, with a caret and a hint that names where it would apply.

The rule inside a mix (one rule, documented in the README and docs/phang2020.md): the mix
trains with `train intermediate {…}` refined by `train MIX {…}`; a member keeps one setting of
its own, `max_len` from its `train TASK {…}`, so SQuAD reads 384 tokens alone and inside
`mix([mnli squad])` alike. Every other setting of a member's own block applies only where the
task trains alone, so where it trains only inside mixes it is refused.
"""

from __future__ import annotations

from xexp.compiler import ast
from xexp.compiler.spec import TargetDef, TrainSettings
from xexp.compiler.validator_state import ValidatorState

#: The settings a mix member keeps from its own `train TASK {…}` block.
MEMBER_SETTINGS = ("max_len",)


class TrainUseRules(ValidatorState):
    """Methods of `_Validator`; see validate.py for the state they use."""

    def member_lengths(self, train: dict[str, TrainSettings]) -> dict[str, int]:
        """Tasks whose own `train TASK {…}` sets `max_len`: the length they keep inside a mix."""
        out: dict[str, int] = {}
        for task in self.tasks:
            block = self.blocks.get(("train", task))
            if block is not None and any(e.key == "max_len" for e in block.entries) \
                    and f"intermediate:{task}" in train:
                out[task] = train[f"intermediate:{task}"].max_len
        return out

    def check_train_blocks_apply(self, intermediate: list[str], targets: list[TargetDef]) -> None:
        """Each `train TASK {…}` / `train VARIANT {…}` must refine a training the spec runs."""
        alone = {name for name in intermediate if name in self.tasks} | {t.trained_on for t in targets}
        listed_mixes = [v for v in intermediate if v in self.variants]
        for (keyword, label), block in self.blocks.items():
            if keyword != "train" or label is None or label in ("intermediate", "target") or label in alone:
                continue
            if label in self.variants:
                if label not in intermediate:
                    self.sink.error(f"`train {label}` applies to no training: the mix `{label}` is not in "
                                    "`intermediate`", ast.span_of(block.label),
                                    f"list it: `intermediate = [... {label}]`, or remove the block")
                continue
            if label not in self.tasks:
                continue  # an unknown name: reported by train_settings
            mixes = [v for v in listed_mixes if label in self.variants[v].members]
            if not mixes:
                unlisted = [v for v, d in self.variants.items() if label in d.members]
                where = (f"`{label}` is a member of `{unlisted[0]}`, which `intermediate` does not list"
                         if unlisted else f"`{label}` is not in `intermediate`, trains no target and is in no listed mix")
                self.sink.error(f"`train {label}` applies to no training: {where}", ast.span_of(block.label),
                                f"it would apply with `intermediate = [... {label}]` or a target "
                                f"`… trained_on {label}`")
                continue
            for entry in block.entries:
                if entry.key not in MEMBER_SETTINGS:
                    self.sink.error(f"setting `{entry.key}` of `train {label}` applies to no training: `{label}` "
                                    f"trains only inside the mix `{mixes[0]}`, where a member keeps only its "
                                    f"{', '.join(f'`{s}`' for s in MEMBER_SETTINGS)}", entry.key_span,
                                    f"set it for the whole mix: `train {mixes[0]} {{ {entry.key}=… }}`")
