"""Estimated cost of evaluating one base-size encoder on the eight tasks on one GPU
(config/evaluate.yaml: KR-ELECTRA's per-task epochs, batch sizes and max lengths), per
task, for one model and one seed.

    python benchmarks/evaluate_cost.py [--peak-tflops 989] [--output table.md]

An ESTIMATE, computed, not measured end to end:

    passes  = floor(epochs x ceil(train examples / batch) / save_steps)   (the save points)
    trained = min(passes x save_steps x batch, epochs x train examples)   (training stops at the last point)
    tokens  = max_len x (trained + passes x dev/test examples scored per pass)
    seconds = max_len x (trained x 3F / (peak x MFU_train) + passes x scored x F / (peak x MFU_score))

Dev and test are scored at every save point (every save_steps optimizer steps, KR-ELECTRA's
per-task values: krelectra.finetune.save_points), not once an epoch.

F is the forward matmul FLOPs per token of a BERT-Base-shaped encoder (12 layers,
hidden 768; benchmarks/scale_model.py, encoder_flops_per_token: 2 x layers x (12 h^2 +
2 seq h)); a training token costs 3F (forward + backward), a scored token F. Every
example is counted at the task's max length (an upper bound on compute: dynamic padding
makes real batches shorter). Example counts are the approximate public figures of
benchmarks/scale_model.py (FINETUNE_EXAMPLES). The peak is the vendor's dense bf16
figure (H100 SXM and H200: 989 TFLOP/s). The utilisations are the ones
benchmarks/finetune_gpu_rate.py measured on one H200 (2026-11-29; PyTorch 2.11,
transformers 5.17, bf16 autocast, fused AdamW): training steps 9% of peak at batch
32 x 128 and 7% at batch 8 x 512 (KorQuAD), forward-only scoring 31% at batch 128 x 128.
Left out: tokenisation, data loading, KorQuAD's n-best decoding, process start-up.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale_model import FINETUNE_EXAMPLES, HIDDEN, LAYERS, human  # noqa: E402

from krelectra.finetune.tasks import TASKS  # noqa: E402


def task_cost(task: str, hidden: int = HIDDEN, layers: int = LAYERS) -> dict:
    """Tokens and FLOPs of one finetuning run (one model, one seed) of `task` with
    KR-ELECTRA's hyperparameters, every example padded to the max length: training up to
    the last save point, dev and test scored at each save point (module docstring)."""
    from scale_model import encoder_flops_per_token

    from krelectra.finetune.save_points import save_points

    train, evaluated = FINETUNE_EXAMPLES[task]
    h = TASKS[task].hyperparameters
    epochs, seq, batch = h["num_train_epochs"], h["max_seq_length"], h["train_batch_size"]
    points = save_points(task, train, batch, epochs, h["save_steps"])
    trained = min(points[-1] * batch, epochs * train)
    forward = encoder_flops_per_token(hidden, layers, seq)
    return {
        "train": train,
        "evaluated": evaluated,
        "epochs": epochs,
        "max_len": seq,
        "passes": len(points),
        "trained": trained,
        "tokens": seq * (trained + len(points) * evaluated),
        "train_flops": seq * trained * 3 * forward,
        "score_flops": seq * len(points) * evaluated * forward,
        "flops": seq * (trained * 3 * forward + len(points) * evaluated * forward),
    }


# Measured by benchmarks/finetune_gpu_rate.py on one H200 (see the module docstring).
MFU_TRAIN = {128: 0.09, 512: 0.07}
MFU_SCORE = 0.31


def task_seconds(cost: dict, peak: float) -> float:
    """Estimated GPU seconds of one run: training and scoring FLOPs at their utilisations."""
    train_mfu = MFU_TRAIN[cost["max_len"]]
    return cost["train_flops"] / (peak * train_mfu) + cost["score_flops"] / (peak * MFU_SCORE)


def table(peak: float) -> str:
    lines = [
        "| task | train / scored per pass | epochs × max len | scoring passes | tokens (padded) | FLOPs "
        "| one GPU (estimate) |",
        "|---|---|---|---|---|---|---|",
    ]
    total_flops = total_seconds = 0.0
    for task in TASKS:
        c = task_cost(task)
        seconds = task_seconds(c, peak)
        total_flops += c["flops"]
        total_seconds += seconds
        lines.append(
            f"| {task} | {c['train']:,} / {c['evaluated']:,} | {c['epochs']} × {c['max_len']} | {c['passes']} | "
            f"{c['tokens'] / 1e9:.2f} G | {c['flops']:.1e} | {human(seconds)} |"
        )
    lines.append(f"| **eight tasks, one seed** | | | | | {total_flops:.1e} | {human(total_seconds)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="dense bf16 peak (H100 SXM / H200: 989)")
    parser.add_argument("--output", type=Path, help="also write the table here")
    args = parser.parse_args()
    text = table(args.peak_tflops * 1e12)
    print(text)
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
