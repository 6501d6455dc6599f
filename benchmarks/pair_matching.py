"""Does the embedded model learn Question Pair from the pair relation, or from the
fixture's "혹시" artifact? (resources/finetune/README.md, "What the embedded model can
and cannot learn".)

Regenerates the Question Pair fixture with the artifact in `rate` of the duplicates and
1 - rate of the non-duplicates (0.5: the artifact says nothing, only the pair relation
is left; 0.9: the shipped fixture), finetunes the converted embedded model on it with the
embedded default's hyperparameters (config/config.yaml) for several seeds, and prints the
test accuracy (clean protocol) of each run and their median.

    PYTHONPATH=src python benchmarks/pair_matching.py [--model results/models/discriminator]
        [--rates 0.5 0.9] [--seeds 41 42 43 44]

Needs the converted model of a workflow run (`snakemake --cores all paper/tables`).
About 15 s a run on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
from pathlib import Path

import yaml

from krelectra.finetune import fixtures
from krelectra.finetune.tasks import TASKS
from krelectra.finetune.train import finetune

REPO = Path(__file__).resolve().parents[1]
TASK = "question-pair"


def embedded_hyperparameters() -> dict:
    config = yaml.safe_load((REPO / "config/config.yaml").read_text(encoding="utf-8"))["finetune"]
    overrides = dict(config["hyperparameters"])
    overrides.update(config["task_hyperparameters"].get(TASK) or {})
    return overrides


def write_fixture(out_dir: Path, rate: float) -> None:
    shipped = fixtures.QP_ARTIFACT_RATE
    fixtures.QP_ARTIFACT_RATE = rate
    try:
        files = fixtures.generate(TASK)
    finally:
        fixtures.QP_ARTIFACT_RATE = shipped
    for name, text in files.items():
        path = out_dir / TASK / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(REPO / "results/models/discriminator"))
    parser.add_argument("--rates", type=float, nargs="+", default=[0.5, 0.9])
    parser.add_argument("--seeds", type=int, nargs="+", default=[41, 42, 43, 44])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if not (Path(args.model) / "config.json").is_file():
        parser.error(f"{args.model}: no converted model; run the workflow first")
    logging.basicConfig(level=logging.WARNING)
    overrides = embedded_hyperparameters()
    print(f"model {args.model}, hyperparameters {overrides}")
    for rate in args.rates:
        scores = []
        with tempfile.TemporaryDirectory(prefix="pair-matching-") as scratch:
            data = Path(scratch) / "data"
            write_fixture(data, rate)
            for seed in args.seeds:
                metrics = finetune(
                    TASKS[TASK],
                    args.model,
                    data,
                    seed,
                    Path(scratch) / f"seed{seed}",
                    overrides=overrides,
                    threads=args.threads,
                )
                scores.append(metrics["protocols"]["clean"]["test"]["accuracy"])
                print(f"artifact rate {rate:.2f}  seed {seed}  test accuracy {scores[-1]:.1f}", flush=True)
        print(
            f"artifact rate {rate:.2f}  median {statistics.median(scores):.1f}  "
            f"(min {min(scores):.1f}, max {max(scores):.1f})"
        )


if __name__ == "__main__":
    main()
