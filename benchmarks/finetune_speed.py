"""Training speed of our finetuning path against the strongest plain transformers Trainer.

Baseline: what a capable user writes with transformers alone. `Trainer` with the
tokenizer as processing_class (so its default collator pads each batch to its longest
member: dynamic padding), `train_sampling_strategy="group_by_length"` (batches of similar
lengths), bf16 where the hardware multiplies bf16 natively (the same test as ours,
`krelectra.finetune.train.native_bf16`; elsewhere bf16 is emulated and slower, so the
strongest baseline leaves it off), its default fused AdamW, no logging, no saving.

Ours: `krelectra.finetune.train.finetune` with its automatic precision and batches
grouped by length (`train_sampling="group_by_length"`, the opt-in speed setting; "auto"
keeps random batches), on the same training examples with the same model, batch size,
learning rate, epochs, seed and CPU threads, scoring at each epoch's last step
(save_steps = steps an epoch). Speed = training examples per second of `Trainer.train`, in this
process's CPU time (user + system; on a shared machine wall time mostly measures the
other processes) and, printed beside it, in wall time. Our `Trainer.train` includes the
per-epoch dev and test predictions, on --max-eval-examples examples each (counted
against us). Runs alternate (ours first, then the baseline first, ...) so that load from
other processes hits both alike; the script prints the median examples/s of each and the
median of the per-repeat ratios ours / baseline (target >= 1.0).

    PYTHONPATH=src python benchmarks/finetune_speed.py [--model DIR] [--task nsmc] [--repeats 5]

Without --model it uses results/models/discriminator if present, otherwise a random
ELECTRA (--random-size tiny: hidden 128, 2 layers, the embedded default's size; base: the
paper's size) with a character vocabulary of the task's texts. The default task, NSMC,
has the most varied lengths of the classification fixtures.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


# Random ELECTRA discriminators for when no model is given: "tiny" (the embedded
# default's size) and "base" (the paper's size; for a GPU).
SIZES = {
    "tiny": {
        "embedding_size": 128,
        "hidden_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 512,
    },
    "base": {
        "embedding_size": 768,
        "hidden_size": 768,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
    },
}


def model_to_measure(model: str | None, scratch: Path, texts: Callable[[], list[str]], size: str) -> str:
    """The model a benchmark finetunes: `model` when given, else the embedded default's
    converted discriminator (results/models/discriminator) when it exists, else a random
    model of `size` built in `scratch` with a vocabulary from `texts()`."""
    if model is not None:
        return model
    converted = REPO / "results" / "models" / "discriminator"
    if (converted / "model.safetensors").exists():
        return str(converted)
    return str(build_random_model(scratch / "model", texts(), size))


def build_random_model(folder: Path, texts: list[str], size: str) -> Path:
    from transformers import BertTokenizer, ElectraConfig, ElectraForPreTraining

    folder.mkdir(parents=True, exist_ok=True)
    chars = sorted({c for text in texts for c in text if not c.isspace()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + chars + [f"##{c}" for c in chars]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizer(vocab=str(folder / "vocab.txt"), do_lower_case=False, strip_accents=False).save_pretrained(folder)
    config = ElectraConfig(vocab_size=len(vocab), max_position_embeddings=512, **SIZES[size])
    ElectraForPreTraining(config).save_pretrained(folder)
    return folder


def time_trainer_train() -> dict:
    """Patches transformers.Trainer.train (ours is a subclass) to record the CPU and wall
    seconds of each call; returns the dict that holds the last call's."""
    from transformers import Trainer

    last: dict[str, float] = {}
    train = Trainer.train

    def timed(self, *args, **kwargs):
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            return train(self, *args, **kwargs)
        finally:
            last["cpu"], last["wall"] = time.process_time() - cpu, time.perf_counter() - wall

    Trainer.train = timed
    return last


def run_ours(task, model: str, data_dir: Path, args, output_dir: Path) -> tuple[int, dict]:
    from krelectra.finetune.save_points import steps_per_epoch
    from krelectra.finetune.train import finetune

    overrides = {
        "save_steps": steps_per_epoch(args.train_examples, args.batch_size),
        "learning_rate": args.learning_rate,
        "num_train_epochs": args.epochs,
        "train_batch_size": args.batch_size,
        "max_seq_length": args.max_seq_length,
    }
    result = finetune(
        task,
        model,
        data_dir,
        args.seed,
        output_dir,
        overrides=overrides,
        max_train_examples=args.max_train_examples,
        max_eval_examples=args.max_eval_examples,
        threads=args.threads,
        train_sampling="group_by_length",
    )
    return result["data"]["train"]["examples"] * args.epochs, result["training_speed_settings"]


def run_baseline(task, model: str, examples: list[dict], args, output_dir: Path, bf16: bool) -> int:
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        PrinterCallback,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    torch.set_num_threads(args.threads)  # as our path does
    tokenizer = AutoTokenizer.from_pretrained(model)
    label2id = {label: i for i, label in enumerate(task.labels)}
    pairs = [e["text_pair"] for e in examples] if "text_pair" in examples[0] else None
    encoding = tokenizer([e["text"] for e in examples], pairs, truncation=True, max_length=args.max_seq_length)
    dataset = [
        {**{k: encoding[k][i] for k in encoding}, "labels": label2id[e["label"]]} for i, e in enumerate(examples)
    ]
    set_seed(args.seed)
    network = AutoModelForSequenceClassification.from_pretrained(model, num_labels=len(task.labels))
    training = TrainingArguments(
        output_dir=str(output_dir),
        per_device_train_batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        num_train_epochs=args.epochs,
        train_sampling_strategy="group_by_length",
        bf16=bf16,
        use_cpu=bf16 and not torch.cuda.is_available(),  # TrainingArguments' way to bf16 on a CPU
        report_to="none",
        logging_strategy="no",
        save_strategy="no",
        disable_tqdm=True,
        seed=args.seed,
    )
    trainer = Trainer(model=network, args=training, train_dataset=dataset, processing_class=tokenizer)
    trainer.remove_callback(PrinterCallback)  # it prints the final metrics to stdout
    trainer.train()
    return len(dataset) * args.epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model folder (default: results/models/discriminator, else a random ELECTRA)")
    parser.add_argument(
        "--random-size", choices=sorted(SIZES), default="tiny", help="size of the random ELECTRA (default: tiny)"
    )
    parser.add_argument("--task", default="nsmc", help="a classification task (default: nsmc)")
    parser.add_argument("--data", default="fixtures", help="fixtures, download or a folder (default: fixtures)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--max-train-examples", type=int, default=None)
    parser.add_argument("--max-eval-examples", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=41)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # no spinning thread pools on a shared machine
    import transformers

    transformers.logging.set_verbosity_error()

    from krelectra.finetune.tasks import data_dir_for, get_task, load_splits
    from krelectra.finetune.train import load_tokenizer, native_bf16, padding_share, subsample

    task = get_task(args.task)
    if task.problem not in ("single_sentence", "sentence_pair"):
        raise SystemExit(f"--task: the baseline covers classification tasks, not {task.problem}")
    data_dir = data_dir_for(args.data, REPO / "results", REPO)
    splits = load_splits(task, data_dir, 0.1, task.hyperparameters["seed"])
    # the same training examples our path selects
    examples = subsample(splits["train"].examples, args.max_train_examples, f"{task.name}/train")
    args.train_examples = len(examples)
    bf16 = native_bf16()

    with tempfile.TemporaryDirectory(prefix="finetune-speed-") as scratch:
        scratch = Path(scratch)
        model = model_to_measure(
            args.model,
            scratch,
            lambda: [e.get("text", "") + e.get("text_pair", "") for split in splits.values() for e in split.examples],
            args.random_size,
        )
        tokenizer = load_tokenizer(model)
        pairs = [e["text_pair"] for e in examples] if "text_pair" in examples[0] else None
        lengths = [
            len(ids)
            for ids in tokenizer([e["text"] for e in examples], pairs, truncation=True, max_length=args.max_seq_length)[
                "input_ids"
            ]
        ]
        last_train = time_trainer_train()
        speeds: dict[str, list[tuple[float, float]]] = {"ours": [], "baseline": []}  # (per CPU s, per wall s)
        for repeat in range(args.repeats):
            order = ["ours", "baseline"] if repeat % 2 == 0 else ["baseline", "ours"]
            for name in order:
                if name == "ours":
                    trained, settings = run_ours(task, model, data_dir, args, scratch / f"ours{repeat}")
                else:
                    trained = run_baseline(task, model, examples, args, scratch / "baseline", bf16)
                speeds[name].append((trained / last_train["cpu"], trained / last_train["wall"]))
            print(
                f"repeat {repeat + 1}: "
                + ", ".join(f"{k} {v[-1][0]:.1f} ex/CPU s ({v[-1][1]:.1f} ex/s)" for k, v in speeds.items()),
                flush=True,
            )

    median = {k: statistics.median(cpu for cpu, _ in v) for k, v in speeds.items()}
    ratios = [o[0] / b[0] for o, b in zip(speeds["ours"], speeds["baseline"])]
    wall_ratios = [o[1] / b[1] for o, b in zip(speeds["ours"], speeds["baseline"])]
    print(
        f"task {task.name}, model {model if args.model else 'default'}, {len(examples)} examples x {args.epochs} "
        f"epoch(s), batch {args.batch_size}, max_seq_length {args.max_seq_length}, {args.threads} thread(s), "
        f"{args.repeats} repeats"
    )
    print(
        f"lengths {min(lengths)}-{max(lengths)} tokens (mean {statistics.mean(lengths):.1f}); random batches would be "
        f"{100 * padding_share(lengths, args.batch_size):.0f}% padding"
    )
    print(f"ours: {settings}; baseline: group_by_length, {'bf16' if bf16 else 'fp32'} (native bf16: {bf16})")
    print(
        f"median training examples per CPU second: ours {median['ours']:.1f}, baseline Trainer (dynamic padding, "
        f"group_by_length{', bf16' if bf16 else ''}) {median['baseline']:.1f}"
    )
    print(
        f"ratio ours / baseline: median {statistics.median(ratios):.2f} in CPU time "
        f"(repeats: {', '.join(f'{r:.2f}' for r in ratios)}), {statistics.median(wall_ratios):.2f} in wall time; "
        f"target >= 1.0"
    )


if __name__ == "__main__":
    main()
