"""Where a node's model runs, and what keeps a GPU busy rather than waiting on the host.

* Placement. Inside a Ray task the GPUs a node may use are the ones Ray assigned to it: Ray
  points ``CUDA_VISIBLE_DEVICES`` at them, so the assigned card is ``cuda:0``. A task given no
  GPU (``train.gpus=0`` on a GPU machine) must stay off the card even though Ray leaves the
  variable alone for such tasks, so the assignment, not ``torch.cuda.is_available()``, decides.
  Outside Ray (benchmarks, direct calls) any visible GPU is used.
* Precision. bf16 autocast on CUDA with fp32 master weights (the optimizer and the weights stay
  fp32; only matmuls and activations run in bf16); fp32 matmuls that remain may use TF32. On CPU
  everything stays fp32: bf16 matmuls there are slower than fp32 and change results.
* Host-device traffic. Batches are pinned and copied with ``non_blocking`` so the host can pad
  the next batch while the GPU computes; the training loss is summed on the device and read
  only at log points, since every ``.item()`` waits for the GPU to drain its queue.
* Evaluation batch size on CUDA comes from the memory Ray's share of the card leaves free; on
  CPU the spec's batch is kept (bigger batches do not help a CPU and would change timings).
"""

from __future__ import annotations

import contextlib
import functools
import sys

#: Largest evaluation batch chosen from free memory: past this an encoder's throughput is flat
#: and one batch's padding (length-sorted, so small) is all that grows.
MAX_INFERENCE_BATCH = 1024
#: Part of the free share of the card the activations of one evaluation batch may take; the
#: rest is headroom for the allocator's fragmentation and for a neighbour sharing the card.
MEMORY_HEADROOM = 0.5


def _ray_task_gpus() -> tuple[list[str], float] | None:
    """(assigned GPU ids, GPU share) inside a Ray task or actor; None outside Ray workers."""
    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        return None
    try:
        context = ray.get_runtime_context()
        if context.worker.mode != ray.WORKER_MODE:
            return None
        ids = [str(i) for i in context.get_accelerator_ids().get("GPU", [])]
        share = float(context.get_assigned_resources().get("GPU", 0.0))
    except Exception:  # an older or client-mode Ray: fall back to what torch sees
        return None
    return ids, share


def pick_device():
    """The device a node's model goes on (see the module docstring for the rules)."""
    import torch

    assigned = _ray_task_gpus()
    if assigned is not None and not assigned[0]:
        return torch.device("cpu")
    if not torch.cuda.is_available():
        return torch.device("cpu")
    configure_cuda()
    return torch.device("cuda", 0)


@functools.cache
def configure_cuda() -> None:
    """Process-wide CUDA math settings, once: TF32 for the fp32 matmuls autocast leaves alone."""
    import torch

    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    torch.set_float32_matmul_precision("high")


def autocast(device):
    """bf16 autocast on CUDA; a no-op on CPU, where bf16 matmuls are slower than fp32."""
    import torch

    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def to_device(tensor, device):
    """`tensor` on `device`; host-to-GPU copies go through pinned memory without blocking."""
    if device.type == "cuda" and tensor.device.type == "cpu":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)


def batch_to_device(batch: dict, device) -> dict:
    """Every tensor of a collated batch on `device` (other values unchanged)."""
    return {k: to_device(v, device) if hasattr(v, "pin_memory") else v for k, v in batch.items()}


class LossSum:
    """A running sum of losses kept on the device, read (one sync) only when taken.

    Summed in float64, as Python floats were before: the logged means do not depend on where
    a resumed run's checkpoint fell between two log points.
    """

    def __init__(self) -> None:
        self._sum = None

    def add(self, value) -> None:
        self._sum = value if self._sum is None else self._sum + value

    def take(self) -> float:
        """The sum so far (0.0 if nothing was added), and start again from zero."""
        value, self._sum = self._sum, None
        return 0.0 if value is None else float(value)


def weighted_loss(loss, weight: float):
    """`loss * weight` detached, in float64, on the loss's device (no host sync)."""
    return loss.detach().double() * weight


def inference_batch_size(model, spec_batch: int, max_len: int, device) -> int:
    """The evaluation batch: the spec's on CPU; on CUDA the largest power of two (at most
    `MAX_INFERENCE_BATCH`, at least the spec's) whose activations fit the free memory of this
    node's share of the card. The estimate is deliberately generous (see `_bytes_per_example`)."""
    if device.type != "cuda":
        return spec_batch
    import torch

    free, total = torch.cuda.mem_get_info(device)
    assigned = _ray_task_gpus()
    share = assigned[1] if assigned is not None and assigned[1] > 0 else 1.0
    # A neighbour on the same card may not have allocated yet: count only our share of it.
    budget = min(free, total * min(share, 1.0)) * MEMORY_HEADROOM
    fits = int(budget // max(_bytes_per_example(model.config, max_len), 1))
    size = spec_batch
    while size * 2 <= min(fits, MAX_INFERENCE_BATCH):
        size *= 2
    return size


def _bytes_per_example(config, max_len: int) -> int:
    """Peak activation bytes of one sequence in a bf16 forward pass, over-estimated: the
    hidden states live in a few copies (residual, attention in/out, Q, K, V), the feed-forward
    expansion once, and the attention scores as if materialised in fp32."""
    hidden = int(getattr(config, "hidden_size", 768))
    intermediate = int(getattr(config, "intermediate_size", 4 * hidden))
    heads = int(getattr(config, "num_attention_heads", 12))
    return 2 * max_len * (8 * hidden + 2 * intermediate) + 4 * 2 * heads * max_len * max_len
