"""Pretraining throughput: our TensorFlow ELECTRA against a PyTorch reference.

The reference is built from Hugging Face `transformers`: ElectraForMaskedLM (generator)
+ ElectraForPreTraining (discriminator) with tied embeddings and the same objective
(15% masking, 85% [MASK], sampled replacements, loss = MLM + 50 x discriminator, AdamW
without decay on LayerNorm/bias, linear schedule, global-norm clipping 1.0). Both train
the same model size on the same random token batches. Each measurement runs in its own
process (so the two frameworks' thread pools never compete); rounds alternate between
the two, and the script prints the median tokens/s of each and their ratio
(target on a CPU: ours >= 1.0 x the reference).

On a GPU it also prints our model FLOPs utilisation (MFU) for the base size at
sequence 128 with bfloat16 and XLA (`--mfu`).

    python benchmarks/pretrain_speed.py [--rounds 5] [--steps 10] [--hidden 256] [--layers 4]
        [--seq 128] [--batch 32] [--vocab 30000] [--xla] [--mfu]
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
MASK_PROB, MASK_ID, SPECIAL_IDS = 0.15, 4, (0, 1, 2, 3, 4)  # [PAD] [UNK] [CLS] [SEP] [MASK]
CLS_ID, SEP_ID = 2, 3
IMPLEMENTATIONS = {
    "tf": "ours (TensorFlow)",
    "torch": "reference (transformers ElectraForMaskedLM as is)",
    "torch_gathered": "reference (same modules, MLM head on masked only)",
}


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
    }


def random_batch(args, seed: int = 0):
    """Full-length sequences `[CLS] tokens [SEP]` of random non-special ids (numpy)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    ids = rng.integers(len(SPECIAL_IDS), args.vocab, size=(args.batch, args.seq))
    ids[:, 0], ids[:, -1] = CLS_ID, SEP_ID
    return ids.astype(np.int64), np.ones_like(ids), np.zeros_like(ids)


# -- ours --------------------------------------------------------------------------------


def run_tf(args) -> dict:
    import tensorflow as tf

    sys.path.insert(0, str(REPO / "src"))
    from krelectra.pretrain.config import PretrainConfig
    from krelectra.pretrain.model import ModelConfig
    from krelectra.pretrain.objective import Objective, default_max_predictions, mask_batch
    from krelectra.pretrain.train import Trainer

    sizes = model_sizes(args)
    config = PretrainConfig.from_dict(
        {
            "xla": args.xla,
            "mixed_precision": args.bf16,
            "examples": {"max_seq_length": args.seq},
            "train": {"train_batch_size": args.batch, "num_train_steps": 1000, "num_warmup_steps": 10},
            "model": {
                "hidden_size": args.hidden,
                "embedding_size": sizes["embedding"],
                "num_hidden_layers": args.layers,
                "generator_hidden_size": args.generator_fraction,
            },
        }
    )
    model_config = ModelConfig.from_recipe(
        args.vocab, sizes["embedding"], args.hidden, args.layers, args.generator_fraction
    )
    objective = Objective(
        MASK_PROB, default_max_predictions(MASK_PROB, args.seq), 1.0, 50.0, 1.0, MASK_ID, (CLS_ID, SEP_ID, MASK_ID, 0)
    )
    ids, mask, segments = random_batch(args)
    features = {"input_ids": ids, "input_mask": mask, "segment_ids": segments}
    base = tf.data.Dataset.from_tensors(features).repeat().enumerate()
    dataset = base.map(lambda step, f: mask_batch(f, tf.stack([tf.constant(0, tf.int64), step]), objective))
    trainer = Trainer(config, model_config, objective, tf.distribute.get_strategy())
    iterator = iter(dataset.prefetch(2))
    float(trainer.train_loop(iterator, tf.constant(args.warmup))["tokens"])
    start = time.perf_counter()
    float(trainer.train_loop(iterator, tf.constant(args.steps))["tokens"])
    seconds = time.perf_counter() - start
    return {"tokens_per_sec": args.steps * args.batch * args.seq / seconds, "seconds": seconds}


# -- the PyTorch reference ---------------------------------------------------------------


def run_torch(args, gathered_head: bool = False) -> dict:
    """gathered_head=False: ElectraForMaskedLM as is (its MLM head runs on all B x T
    positions); True: the same modules, with the head run on the masked positions only
    (as the TF1 recipe and our implementation do)."""
    import torch
    from transformers import ElectraConfig, ElectraForMaskedLM, ElectraForPreTraining

    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count() or 1)
    s = model_sizes(args)
    common = {
        "vocab_size": s["vocab"],
        "embedding_size": s["embedding"],
        "max_position_embeddings": 512,
        "type_vocab_size": 2,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
    }
    discriminator = ElectraForPreTraining(
        ElectraConfig(
            hidden_size=s["hidden"],
            num_hidden_layers=s["layers"],
            num_attention_heads=s["heads"],
            intermediate_size=4 * s["hidden"],
            **common,
        )
    )
    generator = ElectraForMaskedLM(
        ElectraConfig(
            hidden_size=s["gen_hidden"],
            num_hidden_layers=s["layers"],
            num_attention_heads=s["gen_heads"],
            intermediate_size=4 * s["gen_hidden"],
            **common,
        )
    )
    # Tied embeddings: one token/position/type embedding module, and the MLM output matrix.
    generator.electra.embeddings = discriminator.electra.embeddings
    generator.generator_lm_head.weight = discriminator.electra.embeddings.word_embeddings.weight
    modules = torch.nn.ModuleList([generator, discriminator]).train()
    named = dict(modules.named_parameters())  # shared parameters appear once
    decay = [p for n, p in named.items() if not ("LayerNorm" in n or "bias" in n)]
    no_decay = [p for n, p in named.items() if "LayerNorm" in n or "bias" in n]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
        lr=2e-4,
        betas=(0.9, 0.999),
        eps=1e-6,
    )
    total = args.warmup + args.steps
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / 10, 1.0) * (1.0 - step / (total + 1))
    )
    ids_np, mask_np, seg_np = random_batch(args)
    input_ids, attention_mask, token_type_ids = (torch.from_numpy(x) for x in (ids_np, mask_np, seg_np))
    predictions = int((MASK_PROB + 0.005) * args.seq)

    def step():
        candidates = attention_mask.bool()
        for special in (CLS_ID, SEP_ID, MASK_ID, 0):
            candidates &= input_ids != special
        scores = torch.where(candidates, torch.rand(input_ids.shape), torch.full(input_ids.shape, -1.0))
        count = torch.clamp(torch.round(attention_mask.sum(-1) * MASK_PROB).long(), 1, predictions)
        top, positions = scores.topk(predictions, dim=-1)
        chosen = (torch.arange(predictions)[None] < count[:, None]) & (top >= 0)
        masked_positions = torch.zeros_like(input_ids, dtype=torch.bool).scatter(1, positions, chosen)
        use_mask = masked_positions & (torch.rand(input_ids.shape) < 0.85)
        masked_ids = torch.where(use_mask, torch.full_like(input_ids, MASK_ID), input_ids)
        labels = torch.where(masked_positions, input_ids, torch.full_like(input_ids, -100))
        if gathered_head:
            hidden = generator.electra(
                input_ids=masked_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            logits = generator.generator_lm_head(generator.generator_predictions(hidden[masked_positions]))
            gen_loss = torch.nn.functional.cross_entropy(logits, input_ids[masked_positions])
        else:
            out = generator(
                input_ids=masked_ids, attention_mask=attention_mask, token_type_ids=token_type_ids, labels=labels
            )
            logits, gen_loss = out.logits[masked_positions], out.loss
        with torch.no_grad():
            probs = torch.softmax(logits, dim=-1)
            sampled = torch.multinomial(probs, 1).squeeze(-1)
            fake = input_ids.clone()
            fake[masked_positions] = sampled
            replaced = (fake != input_ids).long()
        disc_out = discriminator(
            input_ids=fake, attention_mask=attention_mask, token_type_ids=token_type_ids, labels=replaced
        )
        loss = gen_loss + 50.0 * disc_out.loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(named.values()), 1.0)
        optimizer.step()
        schedule.step()
        return loss

    for _ in range(args.warmup):
        step()
    start = time.perf_counter()
    for _ in range(args.steps):
        loss = step()
    float(loss)
    seconds = time.perf_counter() - start
    return {"tokens_per_sec": args.steps * args.batch * args.seq / seconds, "seconds": seconds}


# -- model FLOPs utilisation -------------------------------------------------------------


def train_flops_per_token(s: dict, seq: int, predictions: int) -> float:
    """Forward + backward (3 x forward) matmul FLOPs per token of generator + discriminator."""

    def encoder(hidden, layers):
        dense = 2 * (4 * hidden * hidden + 2 * hidden * 4 * hidden)
        attention = 2 * 2 * seq * hidden
        return layers * (dense + attention)

    forward = (
        encoder(s["hidden"], s["layers"])
        + encoder(s["gen_hidden"], s["layers"])
        + 2 * s["embedding"] * (s["hidden"] + s["gen_hidden"]) * (s["embedding"] != s["hidden"])
        + 2 * (s["hidden"] * s["hidden"] + s["hidden"])  # discriminator head
        + predictions / seq * 2 * (s["gen_hidden"] * s["embedding"] + s["embedding"] * s["vocab"])
    )
    return 3 * forward


PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0}


def run_mfu(args) -> dict:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return {"error": "no GPU visible to TensorFlow"}
    name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "")
    peak = next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)
    args.xla, args.bf16 = True, True
    result = run_tf(args)
    flops = train_flops_per_token(model_sizes(args), args.seq, int((MASK_PROB + 0.005) * args.seq))
    achieved = result["tokens_per_sec"] * flops / 1e12
    return {**result, "device": name, "model_tflops": achieved, "mfu": achieved / peak if peak else None}


def child(args) -> None:
    runner = {
        "tf": run_tf,
        "torch": run_torch,
        "torch_gathered": lambda a: run_torch(a, gathered_head=True),
        "mfu": run_mfu,
    }[args.child]
    print("RESULT " + json.dumps(runner(args)), flush=True)


def measure(impl: str, argv: list[str]) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(REPO / "src")}
    out = subprocess.run(
        [sys.executable, __file__, "--child", impl, *argv], capture_output=True, text=True, env=env, check=False
    )
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(f"{impl} run failed:\n{out.stderr[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per round")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (tracing, allocation)")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--embedding", type=int, default=0, help="0: same as --hidden")
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--generator-fraction", type=float, default=0.25)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--vocab", type=int, default=30000)
    parser.add_argument("--xla", action="store_true", help="XLA-compile our step")
    parser.add_argument("--bf16", action="store_true", help="our bfloat16 mixed precision")
    parser.add_argument(
        "--mfu",
        action="store_true",
        help="also measure MFU of the base size (768 hidden, 12 layers, seq 128, bf16 + XLA) on a GPU",
    )
    parser.add_argument("--child", choices=list(IMPLEMENTATIONS) + ["mfu"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    argv = [a for a in sys.argv[1:] if a not in ("--mfu",)]
    print(
        f"model: {json.dumps(model_sizes(args))}, seq {args.seq}, batch {args.batch}, "
        f"{args.steps} timed steps x {args.rounds} rounds, xla={args.xla}, bf16={args.bf16}"
    )
    results = {impl: [] for impl in IMPLEMENTATIONS}
    for round_ in range(args.rounds):
        for impl in IMPLEMENTATIONS:
            result = measure(impl, argv)
            results[impl].append(result["tokens_per_sec"])
            print(
                f"round {round_ + 1}: {IMPLEMENTATIONS[impl]:52s} {result['tokens_per_sec']:9.0f} tokens/s", flush=True
            )
    medians = {impl: statistics.median(values) for impl, values in results.items()}
    for impl, label in IMPLEMENTATIONS.items():
        print(f"median tokens/s, {label}: {medians[impl]:.0f}")
    print(f"ratio ours / reference (ElectraForMaskedLM as is): {medians['tf'] / medians['torch']:.2f}")
    print(
        f"ratio ours / reference (MLM head on masked positions only): {medians['tf'] / medians['torch_gathered']:.2f}"
    )
    if args.mfu:
        base = [
            "--hidden",
            "768",
            "--layers",
            "12",
            "--seq",
            "128",
            "--batch",
            str(args.batch),
            "--vocab",
            str(args.vocab),
            "--generator-fraction",
            "0.33333",
            "--steps",
            str(args.steps),
        ]
        result = measure("mfu", base)
        print(f"MFU (base size, seq 128, bf16 + XLA): {json.dumps(result)}")


if __name__ == "__main__":
    main()
