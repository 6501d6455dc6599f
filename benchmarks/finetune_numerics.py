"""Scores and speed of the recipe's finetuning numerics against the faster ones, on the fixtures.

Three settings, each changing one thing against the recipe's (KR-ELECTRA's scripts: fp32,
random batches; config/paper.yaml):

    recipe    precision fp32, train_sampling random
    bf16      precision bf16, train_sampling random            (the precision alone)
    grouped   precision fp32, train_sampling group_by_length   (the sampler alone)

Every task runs with every seed under each setting, with the embedded default's
hyperparameters (config/config.yaml: finetune.hyperparameters and task_hyperparameters,
save_steps among them) on the fixtures. Printed per task and setting: mean ± sample sd
over seeds of the clean and the paper protocol's test score, and the training time
(metrics.json timing.train_seconds, scoring excluded) as a ratio to the recipe's, the
median of the per-seed ratios (runs of one seed follow each other, so load from other
processes hits the three settings alike).

    PYTHONPATH=src python benchmarks/finetune_numerics.py [--model DIR] [--tasks korsts question-pair] \\
        [--seeds 41 42 43] [--threads 1]

Without --model it uses results/models/discriminator if present (the embedded default's
converted model), otherwise a random ELECTRA of the embedded default's size with a
character vocabulary of the tasks' texts (benchmarks/finetune_speed.py). bf16 runs as
bf16 everywhere; where the hardware does not multiply bf16 natively
(`krelectra.finetune.train.native_bf16()`, printed) it is emulated and slower.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

SETTINGS = {  # name: (precision, train_sampling)
    "recipe": ("fp32", "random"),
    "bf16": ("bf16", "random"),
    "grouped": ("fp32", "group_by_length"),
}


def embedded_hyperparameters(task) -> dict:
    """The embedded default's hyperparameters of `task` (config/config.yaml)."""
    import yaml

    from krelectra.finetune.tasks import configured_hyperparameters

    finetune = yaml.safe_load((REPO / "config" / "config.yaml").read_text(encoding="utf-8"))["finetune"]
    return configured_hyperparameters(
        task, finetune["hyperparameters"], finetune["task_hyperparameters"].get(task.name)
    )


def mean_sd(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.2f} ± {sd:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model folder (default: results/models/discriminator, else a random ELECTRA)")
    parser.add_argument("--tasks", nargs="+", default=["korsts", "question-pair"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[41, 42, 43])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # no spinning thread pools on a shared machine
    import transformers

    transformers.logging.set_verbosity_error()
    from finetune_speed import model_to_measure

    from krelectra.finetune.tasks import data_dir_for, get_task, load_splits
    from krelectra.finetune.train import finetune, native_bf16

    tasks = [get_task(name) for name in args.tasks]
    data_dir = data_dir_for("fixtures", REPO / "results", REPO)
    runs: dict[tuple[str, str], list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="finetune-numerics-") as scratch:
        model = model_to_measure(
            args.model,
            Path(scratch),
            lambda: [
                " ".join(str(v) for v in example.values())
                for task in tasks
                for split in load_splits(task, data_dir, 0.1, task.hyperparameters["seed"]).values()
                for example in split.examples
            ],
            "tiny",
        )
        print(f"model: {model}", flush=True)
        for task in tasks:
            hp = embedded_hyperparameters(task)
            for seed in args.seeds:
                for name, (precision, sampling) in SETTINGS.items():
                    result = finetune(
                        task,
                        model,
                        data_dir,
                        seed,
                        Path(scratch) / f"{task.name}-{seed}-{name}",
                        overrides=hp,
                        threads=args.threads,
                        precision=precision,
                        train_sampling=sampling,
                    )
                    runs.setdefault((task.name, name), []).append(result)
                    headline = result["headline_metric"]
                    print(
                        f"{task.name} seed {seed} {name}: clean {result['protocols']['clean']['test'][headline]:.2f}, "
                        f"paper {result['protocols']['paper']['test'][headline]:.2f}, "
                        f"training {result['timing']['train_seconds']:.1f} s",
                        flush=True,
                    )

    print(f"\nmodel {model}; seeds {args.seeds}; {args.threads} thread(s); native bf16: {native_bf16()}")
    print("| task | setting | clean test | paper test | training time / recipe's |")
    print("|---|---|---|---|---|")
    for task in tasks:
        recipe = runs[(task.name, "recipe")]
        for name in SETTINGS:
            results = runs[(task.name, name)]
            headline = results[0]["headline_metric"]
            ratios = [r["timing"]["train_seconds"] / b["timing"]["train_seconds"] for r, b in zip(results, recipe)]
            print(
                f"| {task.name} ({headline}) | {name} ({'/'.join(SETTINGS[name])}) "
                f"| {mean_sd([r['protocols']['clean']['test'][headline] for r in results])} "
                f"| {mean_sd([r['protocols']['paper']['test'][headline] for r in results])} "
                f"| {statistics.median(ratios):.2f} |"
            )


if __name__ == "__main__":
    main()
