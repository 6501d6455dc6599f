"""Training speed of our finetuning path against a plain transformers Trainer baseline.

Both train the same model on the same task's training examples with the same batch
size, learning rate, epochs and CPU threads; runs alternate (ours, baseline, ours, ...)
so that load from other processes hits both alike. Speed = training examples per second
of training time (our path's dev/test scoring after each epoch is not counted).

The baseline is the plain recipe of the transformers text-classification example with
its defaults: inputs padded to max_seq_length, the default data collator, the Trainer's
default optimizer and settings. A second baseline with per-batch dynamic padding is
reported for reference.

    PYTHONPATH=src python benchmarks/finetune_speed.py [--model DIR] [--task question-pair]

Without --model it uses results/models/discriminator if present, otherwise a random
ELECTRA (--random-size tiny: hidden 128, 2 layers; base: the paper's size) with a
character vocabulary of the task's texts.
Prints the median examples/s of each and the ratio ours / baseline (target >= 1.0).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
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


def run_ours(task, model: str, data_dir: Path, args, output_dir: Path) -> float:
    from krelectra.finetune.train import finetune

    overrides = {
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
    )
    return result["timing"]["train_examples_per_second"]


def run_baseline(task, model: str, examples: list[dict], args, output_dir: Path, dynamic_padding: bool) -> float:
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
        default_data_collator,
        set_seed,
    )

    torch.set_num_threads(args.threads)  # as our path does
    tokenizer = AutoTokenizer.from_pretrained(model)
    label2id = {label: i for i, label in enumerate(task.labels)}
    pairs = [e["text_pair"] for e in examples] if "text_pair" in examples[0] else None
    padding = False if dynamic_padding else "max_length"
    encoding = tokenizer(
        [e["text"] for e in examples], pairs, truncation=True, max_length=args.max_seq_length, padding=padding
    )
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
        report_to="none",
        save_strategy="no",
        disable_tqdm=True,
        seed=args.seed,
    )
    collator = DataCollatorWithPadding(tokenizer) if dynamic_padding else default_data_collator
    trainer = Trainer(model=network, args=training, train_dataset=dataset, data_collator=collator)
    output = trainer.train()
    return len(dataset) * args.epochs / output.metrics["train_runtime"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model folder (default: results/models/discriminator, else a random ELECTRA)")
    parser.add_argument(
        "--random-size", choices=sorted(SIZES), default="tiny", help="size of the random ELECTRA (default: tiny)"
    )
    parser.add_argument("--task", default="question-pair", help="a classification task (default: question-pair)")
    parser.add_argument("--data", default="fixtures", help="fixtures, download or a folder (default: fixtures)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--max-train-examples", type=int, default=640)
    parser.add_argument("--max-eval-examples", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=41)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    import transformers

    transformers.logging.set_verbosity_error()

    from krelectra.finetune.tasks import data_dir_for, get_task, load_splits
    from krelectra.finetune.train import subsample

    task = get_task(args.task)
    if task.problem not in ("single_sentence", "sentence_pair"):
        raise SystemExit(f"--task: the baseline covers classification tasks, not {task.problem}")
    data_dir = data_dir_for(args.data, REPO / "results", REPO)
    splits = load_splits(task, data_dir, 0.1, task.hyperparameters["seed"])
    # the same training examples our path selects
    examples = subsample(splits["train"].examples, args.max_train_examples, f"{task.name}/train")

    with tempfile.TemporaryDirectory(prefix="finetune-speed-") as scratch:
        scratch = Path(scratch)
        model = args.model
        if model is None:
            converted = REPO / "results" / "models" / "discriminator"
            if (converted / "model.safetensors").exists():
                model = str(converted)
            else:
                texts = [
                    e.get("text", "") + e.get("text_pair", "") for split in splits.values() for e in split.examples
                ]
                model = str(build_random_model(scratch / "model", texts, args.random_size))
        speeds = {"ours": [], "baseline": [], "baseline_dynamic": []}
        for repeat in range(args.repeats):
            speeds["ours"].append(run_ours(task, model, data_dir, args, scratch / f"ours{repeat}"))
            speeds["baseline"].append(
                run_baseline(task, model, examples, args, scratch / "base", dynamic_padding=False)
            )
            speeds["baseline_dynamic"].append(
                run_baseline(task, model, examples, args, scratch / "dyn", dynamic_padding=True)
            )
            print(f"repeat {repeat + 1}: " + ", ".join(f"{k} {v[-1]:.1f} ex/s" for k, v in speeds.items()), flush=True)

    median = {k: statistics.median(v) for k, v in speeds.items()}
    print(
        f"task {task.name}, model {model if args.model else 'default'}, "
        f"{len(examples)} examples x {args.epochs} epoch(s), "
        f"batch {args.batch_size}, max_seq_length {args.max_seq_length}, "
        f"{args.threads} thread(s), {args.repeats} repeats"
    )
    print(
        f"median training examples/s: ours {median['ours']:.1f}, baseline Trainer (padded to max length) "
        f"{median['baseline']:.1f}, Trainer with dynamic padding {median['baseline_dynamic']:.1f}"
    )
    print(f"ratio ours / baseline: {median['ours'] / median['baseline']:.2f} (target >= 1.0)")
    print(f"ratio ours / Trainer with dynamic padding: {median['ours'] / median['baseline_dynamic']:.2f}")


if __name__ == "__main__":
    main()
