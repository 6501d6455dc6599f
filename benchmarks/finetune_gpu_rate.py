"""Measured model FLOPs utilisation (MFU) of finetuning steps of a base-size encoder on one
GPU, to check the utilisation that benchmarks/evaluate_cost.py assumes.

    python benchmarks/finetune_gpu_rate.py [--rounds 3] [--steps 30]

A randomly initialised ELECTRA-Base discriminator (12 layers, hidden 768, vocabulary
35,000: KR-ELECTRA's shape) with the heads the harness trains, at KR-ELECTRA's batch sizes
and max lengths (sentence classification: batch 32 x 128; KorQuAD: batch 8 x 512;
scoring: forward only, batch 128 x 128), full-length batches, bf16 autocast of the
forward pass (what `krelectra finetune train` picks on such a GPU), fused AdamW, gradient
clipping at 1.0. Reported: tokens per second and the achieved FLOP/s of the analytic
count (evaluate_cost.py's formula: 3F per training token, F per scored token) as a fraction
of the peak given (H100 SXM / H200 dense bf16: 989 TFLOP/s), and, measured in the same run,
a large bf16 matrix product's FLOP/s as the reachable ceiling. Median of `rounds` rounds of
`steps` steps after warm-up. Needs a CUDA GPU and torch + transformers only.
"""

from __future__ import annotations

import argparse
import statistics
import time


def encoder_flops_per_token(hidden: int, layers: int, seq: int) -> float:
    """Same formula as benchmarks/scale_model.py (kept here so the script runs alone)."""
    return layers * 2 * (12 * hidden * hidden + 2 * seq * hidden)


def timed_rounds(step, rounds: int, steps: int) -> float:
    import torch

    for _ in range(5):
        step()
    torch.cuda.synchronize()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - start) / steps)
    return statistics.median(times)


def main() -> None:
    import torch
    from transformers import ElectraConfig, ElectraForQuestionAnswering, ElectraForSequenceClassification

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--peak-tflops", type=float, default=989.0)
    args = parser.parse_args()
    device = torch.device("cuda")
    torch.manual_seed(0)
    config = ElectraConfig(
        vocab_size=35000,
        embedding_size=768,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        max_position_embeddings=512,
    )
    print(f"GPU: {torch.cuda.get_device_name()}, torch {torch.__version__}")

    n = 8192
    a = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    b = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    matmul = timed_rounds(lambda: a @ b, args.rounds, 10)
    ceiling = 2 * n**3 / matmul
    share = ceiling / (args.peak_tflops * 1e12)
    print(f"bf16 {n}^3 matrix product: {ceiling / 1e12:.0f} TFLOP/s ({share:.0%} of peak)")

    rows = []
    for name, model_class, batch, seq in (
        ("train: sentence classification", ElectraForSequenceClassification, 32, 128),
        ("train: KorQuAD", ElectraForQuestionAnswering, 8, 512),
    ):
        model = model_class(config).to(device)
        optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5, fused=True)
        ids = torch.randint(5, 35000, (batch, seq), device=device)
        labels = (
            {"labels": torch.randint(0, 2, (batch,), device=device)}
            if model_class is ElectraForSequenceClassification
            else {
                "start_positions": torch.randint(0, seq, (batch,), device=device),
                "end_positions": torch.randint(0, seq, (batch,), device=device),
            }
        )

        def step(model=model, optimizer=optimizer, ids=ids, labels=labels):
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = model(input_ids=ids, **labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        seconds = timed_rounds(step, args.rounds, args.steps)
        rows.append((name, batch, seq, seconds, 3 * encoder_flops_per_token(768, 12, seq)))

    model = ElectraForSequenceClassification(config).to(device).eval()
    ids = torch.randint(5, 35000, (128, 128), device=device)

    def score():
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
            model(input_ids=ids)

    seconds = timed_rounds(score, args.rounds, args.steps)
    rows.append(("score: forward only", 128, 128, seconds, encoder_flops_per_token(768, 12, 128)))

    print("| step | batch × len | s / step | tokens / s | TFLOP/s (analytic) | MFU |")
    print("|---|---|---|---|---|---|")
    for name, batch, seq, seconds, per_token in rows:
        tokens = batch * seq / seconds
        flops = tokens * per_token
        print(
            f"| {name} | {batch} × {seq} | {seconds * 1e3:.1f} ms | {tokens:,.0f} | {flops / 1e12:.0f} | "
            f"{flops / (args.peak_tflops * 1e12):.0%} |"
        )


if __name__ == "__main__":
    main()
