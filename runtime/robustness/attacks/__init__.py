"""Model-aware adversarial attacks (char_attack, codeswitch_attack), run inside evaluation.

`run_attack` attacks a list of pair examples through a batched `predict_proba`; `summarize`
turns its records into TextAttack's figures. See `search` for the shared greedy scheme.
"""

from xexp.runtime.robustness.attacks.runner import run_attack
from xexp.runtime.robustness.attacks.summary import summarize

__all__ = ["run_attack", "summarize"]
