"""Finetuning steps on one GPU: one job's model FLOPs utilisation (MFU), the per-step
overhead options of `krelectra finetune train` each alone, and the throughput of k
finetuning jobs running at once on that GPU (k = 1, 2, 4, 8), to check the utilisation
that benchmarks/evaluate_cost.py assumes and to pick finetune.jobs_per_gpu,
finetune.torch_compile and finetune.dataloader_workers.

    python benchmarks/finetune_gpu_rate.py [--rounds 3] [--steps 30] [--concurrent 1,2,4,8] [--options all]
    python benchmarks/finetune_gpu_rate.py --device cpu --tiny --compile-backend aot_eager   # a smoke test

One job: a randomly initialised ELECTRA-Base discriminator (12 layers, hidden 768,
vocabulary 35,000: KR-ELECTRA's shape) with the heads the harness trains, at KR-ELECTRA's
batch sizes and max lengths (sentence classification: batch 32 x 128; KorQuAD: batch
8 x 512; scoring: forward only, batch 128 x 128), full-length batches, bf16 autocast of
the forward pass (what `krelectra finetune train` picks on such a GPU), fused AdamW,
gradient clipping at 1.0. Reported: tokens per second and the achieved FLOP/s of the
analytic count (evaluate_cost.py's formula: 3F per training token, F per scored token) as
a fraction of the peak given (H100 SXM / H200 dense bf16: 989 TFLOP/s), and, measured in
the same run, a large bf16 matrix product's FLOP/s as the reachable ceiling. Median of
`rounds` rounds of `steps` steps after warm-up.

k jobs at once: k processes (spawned on a GPU, as separate `krelectra finetune train`
jobs are: each its own CUDA context, no MPS assumed) each build the sentence-classification job
above, warm up, wait for one another at a barrier, then run `steps` training steps. The
throughput is all their tokens over the time from the first start to the last end; its
ratio to k = 1 (measured in the same run) is the speed-up several jobs per GPU give, and
the eight-task estimate of evaluate_cost.py divided by it is what the table would take at
that k (an estimate: every task's steps are assumed to gain as the classification step
does). Also printed: each job's peak GPU memory (which bounds k). Median of `rounds`.

Per-step overhead options (--options, needs krelectra installed): the sentence-classification
job trained by the harness's own Trainer (krelectra.finetune.train: its TrainingArguments,
its Trainer class with bf16 autocast of the loss on a GPU, its padding collator) on random
features of lengths drawn uniformly from max length / 4 to max length (dynamic padding has
work to do), the same seed, batches and order for every option. Each row changes one thing
against the baseline, the job as it was before these options (SDPA attention, transformers'
default; the Trainer's NaN/inf filter on; collation in the training process; no
compilation): `eager` attention; `no-nan-filter` (the filter tests every step's loss on the
host, a device sync per step); `workers` (2 data loader workers); `compile` (the Trainer's
torch_compile, batches padded to the longest); `compile-buckets` (the same, batches padded
to multiples of 32, finetune.torch_compile); `all` (no filter, compile with buckets, 2
workers). Reported per row: seconds per step and steps per second (median of `rounds`
rounds of `steps` steps, after `--warmup-steps` steps whose time, compilation included, is
printed too), non-padding tokens per second, MFU of their analytic FLOPs (3F at the max
length), and the ratio of steps per second to the baseline's in the same run.

--device cpu runs everything on the CPU in fp32 (autocast off, no fused AdamW, the
matrix-product ceiling in fp32, one thread per concurrent job) and --tiny shrinks the
model (2 layers, hidden 64) and batches: a smoke test of the script, not a measurement
(--compile-backend aot_eager skips inductor's minutes of code generation there).
Needs torch + transformers; --options also krelectra (`--options ''` runs without it).
"""

from __future__ import annotations

import argparse
import itertools
import logging
import multiprocessing
import queue
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

# Batch shapes: (name, head, batch, max length) of the training steps, and the scoring batch.
TRAIN_SHAPES = (("train: sentence classification", "classification", 32, 128), ("train: KorQuAD", "qa", 8, 512))
SCORE_SHAPE = (128, 128)
BASE = {"layers": 12, "hidden": 768, "heads": 12, "vocab": 35000}
TINY = {"layers": 2, "hidden": 64, "heads": 2, "vocab": 1000}


def encoder_flops_per_token(hidden: int, layers: int, seq: int) -> float:
    """Same formula as benchmarks/scale_model.py (kept here so the script runs alone)."""
    return layers * 2 * (12 * hidden * hidden + 2 * seq * hidden)


def shapes(tiny: bool) -> tuple[list[tuple[str, str, int, int]], tuple[int, int]]:
    """Training shapes and the scoring shape; --tiny divides batches by 8 and lengths by 4."""
    if not tiny:
        return list(TRAIN_SHAPES), SCORE_SHAPE
    return [(n, h, max(1, b // 8), s // 4) for n, h, b, s in TRAIN_SHAPES], (SCORE_SHAPE[0] // 8, SCORE_SHAPE[1] // 4)


def synchronize(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def timed_rounds(step, rounds: int, steps: int, device: str) -> float:
    """Median seconds per call of `step` over `rounds` rounds of `steps` calls, after 5 warm-up calls."""
    for _ in range(5):
        step()
    synchronize(device)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        synchronize(device)
        times.append((time.perf_counter() - start) / steps)
    return statistics.median(times)


def electra(shape: dict, head: str, device: str, attn: str | None = None):
    """A freshly initialised ELECTRA discriminator of `shape` with a classification or QA head,
    with attention implementation `attn` (None: transformers' choice, SDPA for ELECTRA)."""
    from transformers import ElectraConfig, ElectraForQuestionAnswering, ElectraForSequenceClassification

    config = ElectraConfig(
        vocab_size=shape["vocab"],
        embedding_size=shape["hidden"],
        hidden_size=shape["hidden"],
        num_hidden_layers=shape["layers"],
        num_attention_heads=shape["heads"],
        intermediate_size=4 * shape["hidden"],
        max_position_embeddings=512,
        attn_implementation=attn,
    )
    model_class = ElectraForSequenceClassification if head == "classification" else ElectraForQuestionAnswering
    return model_class(config).to(device)


def build_job(shape: dict, head: str, batch: int, seq: int, device: str):
    """A training step of a freshly initialised discriminator with `head` on one full-length
    random batch: bf16 autocast on a GPU, AdamW (fused on a GPU), clipping at 1.0."""
    import torch

    model = electra(shape, head, device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5, fused=device == "cuda")
    ids = torch.randint(5, shape["vocab"], (batch, seq), device=device)
    labels = (
        {"labels": torch.randint(0, 2, (batch,), device=device)}
        if head == "classification"
        else {
            "start_positions": torch.randint(0, seq, (batch,), device=device),
            "end_positions": torch.randint(0, seq, (batch,), device=device),
        }
    )

    def step():
        with torch.autocast(device, dtype=torch.bfloat16, enabled=device == "cuda"):
            loss = model(input_ids=ids, **labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def concurrent_job(shape: dict, batch: int, seq: int, device: str, steps: int, threads: int, barrier, results) -> None:
    """One of k jobs at once (a spawned process): warm up, wait for the others, time `steps`
    steps; put (start, end, tokens, peak GPU memory in bytes) on `results`."""
    import torch

    torch.set_num_threads(threads)
    if isinstance(shape.get("option"), str):  # the harness's Trainer job of that option
        concurrent_trainer_job(shape, batch, seq, device, steps, barrier, results)
        return
    step = build_job(shape, "classification", batch, seq, device)
    for _ in range(3):
        step()
    synchronize(device)
    barrier.wait()
    start = time.perf_counter()  # CLOCK_MONOTONIC: one clock for every process of the machine
    for _ in range(steps):
        step()
    synchronize(device)
    end = time.perf_counter()
    memory = torch.cuda.max_memory_allocated() if device == "cuda" else 0
    results.put((start, end, batch * seq * steps, memory))


def concurrent_trainer_job(shape: dict, batch: int, seq: int, device: str, steps: int, barrier, results) -> None:
    """`concurrent_job` with `option_trainer`'s job of shape["option"]: shape["warmup"] steps,
    then the barrier, then `steps` timed steps of non-padding tokens."""
    import torch
    from transformers import TrainerCallback

    warmup, marks = shape["warmup"], []

    class Timer(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step in (warmup, warmup + steps):
                synchronize(device)
                if state.global_step == warmup:
                    barrier.wait()
                marks.append(time.perf_counter())
                control.should_training_stop = len(marks) == 2

    with tempfile.TemporaryDirectory(prefix="finetune-gpu-rate-") as work:
        option, backend = shape["option"], shape["compile_backend"]
        trainer = option_trainer(option, shape, batch, seq, device, warmup + steps, backend, work)
        trainer.add_callback(Timer())
        trainer.train()
    memory = torch.cuda.max_memory_allocated() if device == "cuda" else 0
    results.put((marks[0], marks[1], round(steps * batch * (seq // 4 + seq) / 2), memory))


def concurrent_throughput(shape: dict, batch: int, seq: int, device: str, steps: int, k: int) -> tuple[float, int]:
    """(tokens per second of k jobs together, the largest job's peak GPU memory)."""
    # CUDA cannot be forked; on a CPU a fork saves each job the imports (one thread each).
    context = multiprocessing.get_context("spawn" if device == "cuda" else "fork")
    barrier, results = context.Barrier(k), context.Queue()
    jobs = [
        context.Process(target=concurrent_job, args=(shape, batch, seq, device, steps, 1, barrier, results))
        for _ in range(k)
    ]
    for job in jobs:
        job.start()
    done: list = []
    while len(done) < k:
        try:
            done.append(results.get(timeout=5))
        except queue.Empty:
            if failed := [job.exitcode for job in jobs if job.exitcode]:  # (the others wait at the barrier)
                for job in jobs:
                    job.kill()
                raise RuntimeError(f"{len(failed)} of {k} concurrent jobs failed (exit codes {failed})") from None
    for job in jobs:
        job.join()
    start, end = min(d[0] for d in done), max(d[1] for d in done)
    return sum(d[2] for d in done) / (end - start), max(d[3] for d in done)


# Per-step overhead options: what each changes against the baseline (the job before them).
BASELINE = {"attn": "sdpa", "nan_inf_filter": True, "workers": 0, "compile": False, "buckets": False}
OPTIONS = {
    "baseline": {},
    "eager": {"attn": "eager"},
    "no-nan-filter": {"nan_inf_filter": False},
    "workers": {"workers": 2},
    "compile": {"compile": True},
    "compile-buckets": {"compile": True, "buckets": True},
    "all": {"nan_inf_filter": False, "workers": 2, "compile": True, "buckets": True},
}


def random_features(count: int, seq: int, vocab: int, seed: int = 0) -> list[dict]:
    """`count` classification features of lengths uniform in [seq // 4, seq] ([CLS] ... [SEP]
    with random ids, one segment, a label of two), as krelectra's encoders make them."""
    rnd = random.Random(seed)
    features = []
    for _ in range(count):
        length = rnd.randint(max(2, seq // 4), seq)
        ids = [2] + [rnd.randrange(5, vocab) for _ in range(length - 2)] + [3]
        features.append(
            {
                "input_ids": ids,
                "attention_mask": [1] * length,
                "token_type_ids": [0] * length,
                "labels": rnd.randrange(2),
            }
        )
    return features


def option_trainer(option: str, shape: dict, batch: int, seq: int, device: str, steps: int, backend: str, work: str):
    """krelectra's Trainer (its TrainingArguments, Trainer class and collator) of the
    sentence-classification job with `option`, on one epoch of `steps` + 1 batches of
    `random_features`, checkpoints in `work` (none within `steps`)."""
    import torch
    from transformers import PrinterCallback

    from krelectra.finetune.tasks import TASKS
    from krelectra.finetune.train import (
        LENGTH_BUCKET,
        PaddingCollator,
        _trainer_class,
        speed_settings,
        training_arguments,
    )

    settings = dict(BASELINE, **OPTIONS[option])
    features = random_features(batch * (steps + 1), seq, shape["vocab"])  # no short last batch
    precision = "bf16" if device == "cuda" else "fp32"
    lengths = [len(f["input_ids"]) for f in features]
    workers = settings["workers"]
    speed = speed_settings(precision, "random", lengths, batch, settings["compile"], workers)
    hp = dict(TASKS["nsmc"].hyperparameters, train_batch_size=batch, max_seq_length=seq)
    hp.update(num_train_epochs=1, save_steps=steps + 1)  # no checkpoint while timed
    torch.manual_seed(0)
    model = electra(shape, "classification", "cpu", settings["attn"])  # the Trainer moves it
    args = training_arguments(hp, len(features), work, 0, speed)
    args.logging_nan_inf_filter = settings["nan_inf_filter"]
    if settings["compile"]:
        args.torch_compile_backend = backend
    collator = PaddingCollator(0, LENGTH_BUCKET, seq) if settings["buckets"] else PaddingCollator(0)
    trainer = _trainer_class(precision)(model=model, args=args, data_collator=collator, train_dataset=features)
    trainer.remove_callback(PrinterCallback)  # its log lines would interleave with the table
    return trainer


def option_rate(
    option: str, shape: dict, batch: int, seq: int, device: str, rounds: int, steps: int, warmup: int, backend: str
) -> tuple[float, float]:
    """(median seconds per training step, seconds of the first `warmup` steps) of the
    sentence-classification job with `option` (`option_trainer`)."""
    from transformers import TrainerCallback

    marks: list[float] = []

    class Timer(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            synchronize(device)
            marks.append(time.perf_counter())

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step >= warmup and (state.global_step - warmup) % steps == 0:
                synchronize(device)
                marks.append(time.perf_counter())
                control.should_training_stop = len(marks) == rounds + 2

    with tempfile.TemporaryDirectory(prefix="finetune-gpu-rate-") as work:
        trainer = option_trainer(option, shape, batch, seq, device, warmup + rounds * steps, backend, work)
        trainer.add_callback(Timer())
        trainer.train()
    if len(marks) != rounds + 2:
        raise RuntimeError(f"option {option}: {len(marks) - 2} of {rounds} rounds timed")
    per_step = [(b - a) / steps for a, b in itertools.pairwise(marks[1:])]
    return statistics.median(per_step), marks[1] - marks[0]


def option_table(args, shape: dict, batch: int, seq: int, device: str, name: str) -> None:
    """Prints the row of each option of `args.options`, the baseline's first (the ratios are
    against it)."""
    import transformers

    transformers.logging.set_verbosity_error()
    logging.getLogger("torch._dynamo").setLevel(logging.ERROR)
    chosen = ["baseline"] + [o for o in args.options if o != "baseline"]
    tokens_per_step = batch * (seq // 4 + seq) / 2  # mean length of random_features
    per_token = 3 * encoder_flops_per_token(shape["hidden"], shape["layers"], seq)
    print(
        f"\nper-step overhead options, sentence-classification job ({batch} × up to {seq}, random lengths) "
        f"on one {name}, krelectra's Trainer, median of {args.rounds} rounds of {args.steps} steps:"
    )
    print("| option | s / step | steps / s | tokens / s (non-padding) | MFU | vs baseline | warm-up (s) |")
    print("|---|---|---|---|---|---|---|")
    base = None
    for option in chosen:
        seconds, warm = option_rate(
            option, shape, batch, seq, device, args.rounds, args.steps, args.warmup_steps, args.compile_backend
        )
        base = base or seconds
        tokens = tokens_per_step / seconds
        print(
            f"| {option} | {seconds * 1e3:.1f} ms | {1 / seconds:.2f} | {tokens:,.0f} | "
            f"{tokens * per_token / (args.peak_tflops * 1e12):.1%} | {base / seconds:.2f}x | {warm:.1f} |"
        )


def eight_task_hours(peak: float) -> float | None:
    """evaluate_cost.py's estimate for the eight tasks, one seed, one job on the GPU (hours)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    try:
        import evaluate_cost
    except ImportError:  # krelectra not installed: the script still measures
        return None
    from krelectra.finetune.tasks import TASKS

    return sum(evaluate_cost.task_seconds(evaluate_cost.task_cost(t), peak) for t in TASKS) / 3600


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--peak-tflops", type=float, default=989.0)
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    parser.add_argument("--tiny", action="store_true", help="a 2-layer, hidden-64 model and small batches")
    parser.add_argument(
        "--concurrent", default="1,2,4,8", help="numbers of jobs at once on the GPU, comma separated ('' for none)"
    )
    parser.add_argument(
        "--options",
        default="all",
        help=f"per-step overhead options to measure, comma separated, of {', '.join(OPTIONS)} "
        "('all': every one; '': none); the baseline is always measured",
    )
    parser.add_argument("--warmup-steps", type=int, default=10, help="untimed steps before each option's rounds")
    parser.add_argument(
        "--concurrent-option",
        default=None,
        help="run each of the k concurrent jobs as the harness's Trainer job with this option (e.g. baseline, "
        "all; --warmup-steps untimed steps first) instead of the bare training step",
    )
    parser.add_argument(
        "--compile-backend", default="inductor", help="torch.compile backend of the compile options (default inductor)"
    )
    args = parser.parse_args()
    device = args.device
    if args.warmup_steps < 1 or args.steps < 1 or args.rounds < 1:
        parser.error("--warmup-steps, --steps and --rounds: at least 1")
    args.options = list(OPTIONS) if args.options == "all" else [o.strip() for o in args.options.split(",") if o.strip()]
    if args.concurrent_option is not None and args.concurrent_option not in OPTIONS:
        parser.error(f"--concurrent-option: unknown {args.concurrent_option}; expected one of {', '.join(OPTIONS)}")
    if unknown := sorted(set(args.options) - set(OPTIONS)):
        parser.error(f"--options: unknown {', '.join(unknown)}; expected 'all' or some of {', '.join(OPTIONS)}")
    if device == "cuda" and not torch.cuda.is_available():
        parser.error("no CUDA GPU: --device cpu (with --tiny) runs the script on the CPU as a smoke test")
    shape = TINY if args.tiny else BASE
    train_shapes, (score_batch, score_seq) = shapes(args.tiny)
    hidden, layers = shape["hidden"], shape["layers"]
    torch.manual_seed(0)
    name = torch.cuda.get_device_name() if device == "cuda" else "CPU"
    print(f"device: {name}, torch {torch.__version__}, model {layers} layers x {hidden}")

    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    n = 8192 if not args.tiny else 512
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    matmul = timed_rounds(lambda: a @ b, args.rounds, 10 if not args.tiny else 2, device)
    ceiling = 2 * n**3 / matmul
    print(
        f"{dtype} {n}^3 matrix product: {ceiling / 1e12:.2f} TFLOP/s "
        f"({ceiling / (args.peak_tflops * 1e12):.0%} of peak)"
    )

    rows = []
    for row_name, head, batch, seq in train_shapes:
        step = build_job(shape, head, batch, seq, device)
        seconds = timed_rounds(step, args.rounds, args.steps, device)
        rows.append((row_name, batch, seq, seconds, 3 * encoder_flops_per_token(hidden, layers, seq)))

    scorer = electra(shape, "classification", device).eval()
    model_inputs = torch.randint(5, shape["vocab"], (score_batch, score_seq), device=device)

    def score():
        with torch.no_grad(), torch.autocast(device, dtype=torch.bfloat16, enabled=device == "cuda"):
            scorer(input_ids=model_inputs)

    seconds = timed_rounds(score, args.rounds, args.steps, device)
    rows.append(
        ("score: forward only", score_batch, score_seq, seconds, encoder_flops_per_token(hidden, layers, score_seq))
    )

    print("| step | batch × len | s / step | tokens / s | TFLOP/s (analytic) | MFU |")
    print("|---|---|---|---|---|---|")
    for row_name, batch, seq, seconds, per_token in rows:
        tokens = batch * seq / seconds
        flops = tokens * per_token
        print(
            f"| {row_name} | {batch} × {seq} | {seconds * 1e3:.1f} ms | {tokens:,.0f} | {flops / 1e12:.2f} | "
            f"{flops / (args.peak_tflops * 1e12):.0%} |"
        )

    if args.options:
        _, _, batch, seq = train_shapes[0]
        option_table(args, shape, batch, seq, device, name)

    counts = [int(k) for k in args.concurrent.split(",") if k.strip()]
    if not counts:
        return
    counts = sorted(set(counts) | {1})  # the speed-ups are against one job, measured in this run
    _, _, batch, seq = train_shapes[0]
    per_token = 3 * encoder_flops_per_token(hidden, layers, seq)
    job = "the bare training step, full-length batches"
    if args.concurrent_option is not None:  # the job's settings travel in `shape` to the spawned processes
        shape = dict(shape, option=args.concurrent_option, warmup=args.warmup_steps)
        shape["compile_backend"] = args.compile_backend
        job = f"krelectra's Trainer, option {args.concurrent_option}, random lengths, non-padding tokens"
    measured = {}
    for k in counts:
        runs = [concurrent_throughput(shape, batch, seq, device, args.steps, k) for _ in range(args.rounds)]
        measured[k] = (statistics.median(r[0] for r in runs), max(r[1] for r in runs))
    hours = eight_task_hours(args.peak_tflops * 1e12) if not args.tiny else None
    base = measured[1][0]
    print(
        f"\nk sentence-classification training jobs ({batch} × {seq}; {job}) at once on one {name}, "
        f"median of {args.rounds} rounds:"
    )
    print(
        "| jobs | tokens / s, all jobs | per job | vs 1 job | MFU, all jobs | peak memory per job | "
        "eight tasks, one seed (estimate) |"
    )
    print("|---|---|---|---|---|---|---|")
    for k, (tokens, memory) in measured.items():
        speedup = tokens / base
        estimate = f"{hours / speedup:.1f} h" if hours is not None else "n/a"
        print(
            f"| {k} | {tokens:,.0f} | {tokens / k:,.0f} | {speedup:.2f}x | "
            f"{tokens * per_token / (args.peak_tflops * 1e12):.0%} | {memory / 2**30:.1f} GiB | {estimate} |"
        )


if __name__ == "__main__":
    main()
