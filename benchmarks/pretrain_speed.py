"""Pretraining throughput: ours (TensorFlow) against the strongest PyTorch reference we could build.

Both sides train the same ELECTRA (generator + discriminator with tied embeddings) with the
same objective on the same random full-length batches: 15% of the tokens chosen (at most
max_predictions_per_seq per sequence), 85% of those replaced by [MASK], replacements sampled
from the generator, loss = MLM + 50 x replaced-token detection, AdamW with weight decay 0.01
(not on LayerNorm and biases), warmup + linear decay, global-norm clipping at 1.0, dropout 0.1.

The reference (PyTorch + transformers) gets its best shot:
- `ElectraForPreTraining` (discriminator) and `ElectraModel` + `ElectraGeneratorPredictions`
  (generator) sharing one embedding module; the generator's output layer runs on the masked
  positions only (gathered, a fixed number per sequence, as ours);
- replacements sampled by inverting the CDF in two levels (block sums, then one block), the
  same algorithm as ours, not `torch.multinomial` over the [positions, vocabulary] table;
- the whole forward pass and loss under `torch.compile` (inductor), fused AdamW
  (`torch.optim.AdamW(fused=True)`), foreach gradient clipping;
- for the bf16 comparison, `torch.autocast("cpu", torch.bfloat16)` around the forward pass
  (ours: `pretrain.mixed_precision: true`, bfloat16 matmuls with float32 weights).

Same conditions: every measurement is a fresh process (the two frameworks' thread pools
never compete), rounds interleave the two sides, both get `--threads` threads (PyTorch:
`torch.set_num_threads`, and OMP_WAIT_POLICY=PASSIVE in its environment before it is
imported, so its OpenMP threads sleep instead of spinning; TensorFlow: intra-op `--threads`,
inter-op 1), and both run with GLIBC_TUNABLES=glibc.malloc.hugetlb=1 (large allocations on
transparent huge pages: on this project's machine page faults on fresh [608, 30000] tensors
made PyTorch's elementwise ops 3x slower). Ours runs as `krelectra pretrain train` runs
(`krelectra.pretrain.runtime.configure`, which also pools TensorFlow's CPU memory) with the
`pretrain.xla` setting given by --xla (default `auto`, what the pipeline uses). Besides
wall-clock tokens/s, each side's CPU time per step (user + system, all its threads) is
printed: on a shared machine it is the steadier measure of the work a step costs (neither
side spins; TensorFlow's inter-op thread also computes a share of each op, so it can have
`--threads` + 1 threads busy at a moment, which the CPU time counts).

Model FLOP utilisation. Matrix-multiply FLOPs of one training step (forward x 3: the backward
pass computes a gradient for the input and one for the weight of every product):

    F_step = 3 x [ sum over the two encoders (hidden h, layers l) of
                     l x (24 B T h^2 + 4 B T^2 h) + 2 B T E h [E != h]
                   + 2 B T (H^2 + H)                  (discriminator head)
                   + 2 B P (G E + E V) ]              (generator head, masked positions only)

with B batch, T sequence length, P = max_predictions_per_seq, E embedding size, H and G the
discriminator's and the generator's hidden sizes, V the vocabulary. Achieved FLOP/s =
F_step / seconds per step; it is reported as a fraction of the matrix-multiply peak of the
same dtype measured in the same run: the best GFLOP/s of a [B T, H] x [H, 4H] and a 1024^3
product over several repeats, in each framework (TensorFlow: with and without XLA; PyTorch:
`@` and `nn.functional.linear`, whose bfloat16 paths differ), each in a
fresh process with the same threads. "% of peak" below uses the larger of the two
frameworks' peaks (the machine's), and each side's own peak in brackets. The same fraction
is also given per CPU second (F_step / CPU seconds per step, against the best GFLOP per CPU
second of the same products): on a shared machine the peak, measured in bursts of
milliseconds, and the step, seconds long, get different shares of the cores, which moves
the wall-clock fraction by 2x from run to run; CPU time counts only the time the threads
ran. On an idle machine, with every thread busy, the two fractions agree.

    python benchmarks/pretrain_speed.py [--rounds 5] [--steps 5] [--threads 2] [--dtypes fp32,bf16]
        [--hidden 256] [--layers 4] [--seq 128] [--batch 32] [--vocab 30000] [--xla auto|on|off]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MASK_PROB, DISC_WEIGHT = 0.15, 50.0
PAD_ID, CLS_ID, SEP_ID, MASK_ID, FIRST_WORD = 0, 2, 3, 4, 5  # [PAD] [UNK] [CLS] [SEP] [MASK]
SAMPLE_BLOCK = 128
SIDES = {"tf": "ours (TensorFlow)", "torch": "reference (PyTorch, compiled)"}


def model_sizes(args) -> dict:
    gen_hidden = round(args.hidden * args.generator_fraction)
    return {
        "vocab": args.vocab,
        "embedding": args.embedding or args.hidden,
        "hidden": args.hidden,
        "layers": args.layers,
        "heads": max(1, args.hidden // 64),
        "gen_hidden": gen_hidden,
        "gen_heads": max(1, gen_hidden // 64),
        "predictions": int((MASK_PROB + 0.005) * args.seq),
    }


def step_flops(s: dict, batch: int, seq: int) -> float:
    """Matrix-multiply FLOPs of one training step (the formula in the module docstring)."""

    def encoder(hidden: int) -> float:
        layers = s["layers"] * (24 * batch * seq * hidden**2 + 4 * batch * seq**2 * hidden)
        return layers + 2 * batch * seq * s["embedding"] * hidden * (s["embedding"] != hidden)

    forward = (
        encoder(s["hidden"])
        + encoder(s["gen_hidden"])
        + 2 * batch * seq * (s["hidden"] ** 2 + s["hidden"])
        + 2 * batch * s["predictions"] * (s["gen_hidden"] * s["embedding"] + s["embedding"] * s["vocab"])
    )
    return 3.0 * forward


def random_batch(args, seed: int = 0):
    """Full-length sequences `[CLS] tokens [SEP]` of random word ids (numpy int64)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    ids = rng.integers(FIRST_WORD, args.vocab, size=(args.batch, args.seq))
    ids[:, 0], ids[:, -1] = CLS_ID, SEP_ID
    return ids.astype(np.int64), np.ones_like(ids), np.zeros_like(ids)


def timed_steps(run_steps, args) -> dict:
    """Wall-clock and CPU (user + system, all threads) seconds per step over `--steps` steps
    after `--warmup` untimed ones (stops early, after at least one timed step, once
    `--max-seconds` have passed)."""
    run_steps(args.warmup)
    done, started, cpu_started = 0, time.perf_counter(), time.process_time()
    while done < args.steps:
        run_steps(1)
        done += 1
        if time.perf_counter() - started > args.max_seconds:
            break
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {"seconds_per_step": wall / done, "cpu_seconds_per_step": cpu / done}


# -- ours --------------------------------------------------------------------------------


def run_tf(args) -> dict:
    sys.path.insert(0, str(REPO / "src"))
    from krelectra.pretrain.runtime import configure

    configure(args.threads, inter_op_threads=1)
    import tensorflow as tf

    from krelectra.pretrain.config import PretrainConfig
    from krelectra.pretrain.model import ModelConfig
    from krelectra.pretrain.objective import Objective, mask_batch
    from krelectra.pretrain.runtime import resolve_settings
    from krelectra.pretrain.train import Trainer

    s = model_sizes(args)
    config = PretrainConfig.from_dict(
        {
            "xla": {"on": True, "off": False}.get(args.xla, "auto"),
            "mixed_precision": args.dtype == "bf16",
            "examples": {"max_seq_length": args.seq},
            "train": {"train_batch_size": args.batch, "num_train_steps": 1000, "num_warmup_steps": 10},
            "model": {
                "hidden_size": args.hidden,
                "embedding_size": s["embedding"],
                "num_hidden_layers": args.layers,
                "generator_hidden_size": args.generator_fraction,
            },
        }
    )
    settings = resolve_settings(config)
    model_config = ModelConfig.from_recipe(
        args.vocab, s["embedding"], args.hidden, args.layers, args.generator_fraction
    )
    objective = Objective(
        MASK_PROB, s["predictions"], 1.0, DISC_WEIGHT, 1.0, MASK_ID, (CLS_ID, SEP_ID, MASK_ID, PAD_ID)
    )
    ids, mask, segments = random_batch(args)
    features = {"input_ids": ids, "input_mask": mask, "segment_ids": segments}
    base = tf.data.Dataset.from_tensors(features).repeat().enumerate()
    dataset = base.map(lambda step, f: mask_batch(f, tf.stack([tf.constant(0, tf.int64), step]), objective))
    trainer = Trainer(config, model_config, objective, tf.distribute.get_strategy())
    iterator = iter(dataset.prefetch(2))
    timing = timed_steps(lambda n: float(trainer.train_loop(iterator, tf.constant(n))["tokens"]) if n else None, args)
    return {**timing, "xla": settings.xla, "mixed_precision": settings.mixed_precision}


def tf_matmul_peak(args) -> dict:
    sys.path.insert(0, str(REPO / "src"))
    from krelectra.pretrain.runtime import configure

    configure(args.threads, inter_op_threads=1)
    import tensorflow as tf

    dtype = tf.bfloat16 if args.dtype == "bf16" else tf.float32
    best, best_cpu = 0.0, 0.0
    for m, k, n in matmul_shapes(args):
        a = tf.cast(tf.random.stateless_normal([m, k], seed=[1, 2]), dtype)
        b = tf.cast(tf.random.stateless_normal([k, n], seed=[3, 4]), dtype)
        for jit in (False, True):
            product = tf.function(lambda a, b: tf.matmul(a, b)[0, 0], jit_compile=jit)
            run = lambda product=product, a=a, b=b: float(product(a, b))
            wall, cpu = best_gflops(run, 2.0 * m * k * n, args)
            best, best_cpu = max(best, wall), max(best_cpu, cpu)
    return {"gflops": best, "gflops_per_cpu_second": best_cpu}


# -- the PyTorch reference ---------------------------------------------------------------


def run_torch(args) -> dict:
    import torch
    import torch.nn.functional as F
    from transformers import ElectraConfig, ElectraForPreTraining, ElectraModel
    from transformers.models.electra.modeling_electra import ElectraGeneratorPredictions

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    s = model_sizes(args)
    common = {
        "vocab_size": s["vocab"],
        "embedding_size": s["embedding"],
        "max_position_embeddings": 512,
        "type_vocab_size": 2,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "pad_token_id": PAD_ID,
    }
    disc_config = ElectraConfig(
        hidden_size=s["hidden"],
        num_hidden_layers=s["layers"],
        num_attention_heads=s["heads"],
        intermediate_size=4 * s["hidden"],
        **common,
    )
    gen_config = ElectraConfig(
        hidden_size=s["gen_hidden"],
        num_hidden_layers=s["layers"],
        num_attention_heads=s["gen_heads"],
        intermediate_size=4 * s["gen_hidden"],
        **common,
    )

    class Electra(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.discriminator = ElectraForPreTraining(disc_config)
            self.generator = ElectraModel(gen_config)
            self.generator.embeddings = self.discriminator.electra.embeddings  # tied embeddings
            self.generator_predictions = ElectraGeneratorPredictions(gen_config)
            self.output_bias = torch.nn.Parameter(torch.zeros(s["vocab"]))

    model = Electra().train()
    word_embeddings = model.discriminator.electra.embeddings.word_embeddings.weight
    predictions, vocab = s["predictions"], s["vocab"]
    autocast = args.dtype == "bf16"

    def sample(logits, uniform):  # the two-level inverse CDF, as ours
        n = logits.shape[0]
        blocks = -(-vocab // SAMPLE_BLOCK)
        weights = torch.exp(logits - logits.amax(-1, keepdim=True))
        weights = F.pad(weights, (0, blocks * SAMPLE_BLOCK - vocab)).view(n, blocks, SAMPLE_BLOCK)
        block_cdf = weights.sum(-1).cumsum(-1)
        target = uniform * block_cdf[:, -1]
        block = (block_cdf <= target[:, None]).sum(-1).clamp(max=blocks - 1)
        before = torch.where(block > 0, block_cdf.gather(1, (block - 1).clamp(min=0)[:, None])[:, 0], 0.0)
        inner = weights.gather(1, block[:, None, None].expand(-1, 1, SAMPLE_BLOCK))[:, 0].cumsum(-1)
        within = (inner <= (target - before)[:, None]).sum(-1).clamp(max=SAMPLE_BLOCK - 1)
        return (block * SAMPLE_BLOCK + within).clamp(max=vocab - 1)

    def loss_fn(ids, attention_mask, segments):
        batch, length = ids.shape
        candidates = attention_mask.bool()
        for special in (CLS_ID, SEP_ID, MASK_ID, PAD_ID):
            candidates = candidates & (ids != special)
        scores = torch.where(candidates, torch.rand(batch, length), -1.0)
        count = torch.round(attention_mask.sum(-1) * MASK_PROB).clamp(1, predictions)
        top, positions = scores.topk(predictions, dim=-1)
        chosen = (torch.arange(predictions)[None] < count[:, None]) & (top >= 0)
        originals = ids.gather(1, positions)
        use_mask = chosen & (torch.rand(batch, predictions) < 0.85)
        masked_ids = ids.scatter(1, positions, torch.where(use_mask, MASK_ID, originals))
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            hidden = model.generator(
                input_ids=masked_ids, attention_mask=attention_mask, token_type_ids=segments
            ).last_hidden_state
            picked = hidden.gather(1, positions[..., None].expand(-1, -1, hidden.shape[-1]))
            logits = F.linear(model.generator_predictions(picked), word_embeddings, model.output_bias)
        logits = logits.float().flatten(0, 1)
        weights = chosen.flatten().float()
        mlm = F.cross_entropy(logits, originals.flatten(), reduction="none")
        gen_loss = (mlm * weights).sum() / weights.sum()
        with torch.no_grad():
            sampled = sample(logits.detach(), torch.rand(logits.shape[0])).view(batch, predictions)
        fake = ids.scatter(1, positions, torch.where(chosen, sampled, originals))
        replaced = ((fake != ids) & attention_mask.bool()).float()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            disc_logits = model.discriminator(
                input_ids=fake, attention_mask=attention_mask, token_type_ids=segments
            ).logits
        mask_f = attention_mask.float()
        disc = F.binary_cross_entropy_with_logits(disc_logits.float(), replaced, reduction="none") * mask_f
        return gen_loss + DISC_WEIGHT * disc.sum() / mask_f.sum()

    params = dict(model.named_parameters())  # shared parameters appear once
    no_decay = [p for n, p in params.items() if "LayerNorm" in n or "bias" in n]
    decay = [p for n, p in params.items() if not ("LayerNorm" in n or "bias" in n)]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
        lr=2e-4,
        betas=(0.9, 0.999),
        eps=1e-6,
        fused=True,
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / 10, 1.0) * max(0.0, 1.0 - step / 1000)
    )
    compiled = torch.compile(loss_fn)
    ids_np, mask_np, seg_np = random_batch(args)
    ids, attention_mask, segments = (torch.from_numpy(x) for x in (ids_np, mask_np, seg_np))
    all_params = list(params.values())

    def run_steps(n: int) -> None:
        for _ in range(n):
            loss = compiled(ids, attention_mask, segments)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(all_params, 1.0, foreach=True)
            optimizer.step()
            schedule.step()
        if n:
            float(loss)

    started = time.perf_counter()
    run_steps(1)  # compiles
    compile_seconds = time.perf_counter() - started
    return {**timed_steps(run_steps, args), "first_step_seconds": compile_seconds}


def torch_matmul_peak(args) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    best, best_cpu = 0.0, 0.0
    for m, k, n in matmul_shapes(args):
        a, b = torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype)
        weight = b.t().contiguous()  # what a Linear layer holds: [out, in]
        product = lambda a=a, b=b: float((a @ b)[0, 0])
        linear = lambda a=a, w=weight: float(torch.nn.functional.linear(a, w)[0, 0])
        for run in (product, linear):
            wall, cpu = best_gflops(run, 2.0 * m * k * n, args)
            best, best_cpu = max(best, wall), max(best_cpu, cpu)
    return {"gflops": best, "gflops_per_cpu_second": best_cpu}


# -- matmul peak -------------------------------------------------------------------------


def matmul_shapes(args) -> list[tuple[int, int, int]]:
    return [(args.batch * args.seq, args.hidden, 4 * args.hidden), (1024, 1024, 1024)]


def best_gflops(run, flops: float, args) -> tuple[float, float]:
    """Best GFLOP/s over several repeats (at least 3, about `--peak-seconds` in all): per
    wall-clock second, and per CPU second of the process (user + system, all threads)."""
    run()
    times, cpu_times, started = [], [], time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - started < args.peak_seconds and len(times) < 50):
        began, cpu_began = time.perf_counter(), time.process_time()
        run()
        times.append(time.perf_counter() - began)
        cpu_times.append(time.process_time() - cpu_began)
    return flops / min(times) / 1e9, flops / max(min(cpu_times), 1e-9) / 1e9


# -- driver ------------------------------------------------------------------------------

CHILDREN = {
    "tf": run_tf,
    "torch": run_torch,
    "tf_peak": tf_matmul_peak,
    "torch_peak": torch_matmul_peak,
}


def measure(child: str, dtype: str, argv: list[str]) -> dict:
    env = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONPATH": str(REPO / "src"),
        "OMP_WAIT_POLICY": "PASSIVE",
        "GLIBC_TUNABLES": "glibc.malloc.hugetlb=1",
    }
    command = [sys.executable, __file__, "--child", child, "--dtype", dtype, *argv]
    out = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(f"{child} ({dtype}) failed:\n{out.stderr[-3000:]}")


def child_argv(args) -> list[str]:
    """The measurement options, passed on to every child process."""
    names = ("steps", "warmup", "max_seconds", "peak_seconds", "threads", "hidden", "embedding", "layers")
    names += ("generator_fraction", "seq", "batch", "vocab", "xla")
    return [part for name in names for part in (f"--{name.replace('_', '-')}", str(getattr(args, name)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--bf16-rounds", type=int, default=0, help="rounds of the bf16 comparison (0: --rounds)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per measurement")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (after tracing / compiling)")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="stop timing after this long (>= 1 step)")
    parser.add_argument("--peak-seconds", type=float, default=3.0, help="time spent per matmul peak shape")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--dtypes", default="fp32,bf16", help="comma-separated: fp32, bf16")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--embedding", type=int, default=0, help="0: same as --hidden")
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--generator-fraction", type=float, default=0.25)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--vocab", type=int, default=30000)
    parser.add_argument("--xla", choices=["auto", "on", "off"], default="auto", help="ours: pretrain.xla")
    parser.add_argument("--child", choices=list(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print("RESULT " + json.dumps(CHILDREN[args.child](args)), flush=True)
        return

    argv = child_argv(args)
    sizes = model_sizes(args)
    flops = step_flops(sizes, args.batch, args.seq)
    tokens = args.batch * args.seq
    dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    print(
        f"model {json.dumps(sizes)}, sequence {args.seq}, batch {args.batch}, {args.threads} threads each; "
        f"{flops / 1e9:.1f} GFLOP (matmul) per step; {args.steps} timed steps per measurement",
        flush=True,
    )
    seconds = {(side, d): [] for side in SIDES for d in dtypes}
    cpu_seconds = {(side, d): [] for side in SIDES for d in dtypes}
    peaks = {(side, d): [] for side in SIDES for d in dtypes}
    cpu_peaks = {(side, d): [] for side in SIDES for d in dtypes}
    extra: dict = {}
    for dtype in dtypes:
        rounds = args.bf16_rounds if dtype == "bf16" and args.bf16_rounds else args.rounds
        for round_ in range(rounds):
            for side in SIDES:
                peak = measure(f"{side}_peak", dtype, argv)
                peaks[(side, dtype)].append(peak["gflops"])
                cpu_peaks[(side, dtype)].append(peak["gflops_per_cpu_second"])
                result = measure(side, dtype, argv)
                seconds[(side, dtype)].append(result["seconds_per_step"])
                cpu_seconds[(side, dtype)].append(result["cpu_seconds_per_step"])
                extra[(side, dtype)] = result
                print(
                    f"{dtype} round {round_ + 1}: {SIDES[side]:30s} {tokens / result['seconds_per_step']:8.0f} tokens/s"
                    f"  ({result['seconds_per_step']:.3f} s/step, {result['cpu_seconds_per_step']:.3f} CPU s/step; "
                    f"matmul peak {peaks[(side, dtype)][-1]:.1f} GFLOP/s, "
                    f"{cpu_peaks[(side, dtype)][-1]:.1f} per CPU second)",
                    flush=True,
                )
    print()
    print(
        "| dtype | side | tokens/s (median) | CPU s/step (median) | achieved GFLOP/s | % of matmul peak [own] "
        "| GFLOP per CPU second | % of the per-CPU-second peak [own] |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for dtype in dtypes:
        machine_peak = max(statistics.median(peaks[(side, dtype)]) for side in SIDES)
        machine_cpu_peak = max(statistics.median(cpu_peaks[(side, dtype)]) for side in SIDES)
        for side in SIDES:
            step = statistics.median(seconds[(side, dtype)])
            own_peak = statistics.median(peaks[(side, dtype)])
            achieved = flops / step / 1e9
            note = ""
            if side == "tf":
                info = extra[(side, dtype)]
                note = f" (xla={info['xla']}, mixed_precision={info['mixed_precision']})"
            cpu = statistics.median(cpu_seconds[(side, dtype)])
            per_cpu, own_cpu_peak = flops / cpu / 1e9, statistics.median(cpu_peaks[(side, dtype)])
            print(
                f"| {dtype} | {SIDES[side]}{note} | {tokens / step:.0f} | {cpu:.2f} | {achieved:.1f} | "
                f"{100 * achieved / machine_peak:.0f}% [{100 * achieved / own_peak:.0f}% of {own_peak:.1f}] | "
                f"{per_cpu:.1f} | {100 * per_cpu / machine_cpu_peak:.0f}% "
                f"[{100 * per_cpu / own_cpu_peak:.0f}% of {own_cpu_peak:.1f}] |"
            )
    print()
    for dtype in dtypes:
        ratio = statistics.median(seconds[("torch", dtype)]) / statistics.median(seconds[("tf", dtype)])
        cpu_ratio = statistics.median(cpu_seconds[("torch", dtype)]) / statistics.median(cpu_seconds[("tf", dtype)])
        print(f"ratio ours / reference, {dtype}: {ratio:.2f} (tokens/s, medians); {cpu_ratio:.2f} (CPU time per step)")


if __name__ == "__main__":
    main()
