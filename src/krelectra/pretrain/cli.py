"""`krelectra pretrain ...`: the pretraining rules, runnable by hand."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from krelectra import kernels


def _config(args):
    from krelectra.errors import KrelectraError
    from krelectra.pretrain.config import PretrainConfig

    try:
        data = json.loads(args.config) if args.config else {}
    except json.JSONDecodeError as error:
        raise KrelectraError(f"--config: not valid JSON ({error})") from None
    return PretrainConfig.from_dict(data)


def _examples(args):
    from krelectra.pretrain.examples import build_examples

    config = _config(args)
    build_examples(args.shard, args.vocab_dir, args.train_out, args.eval_out, args.stats, config.examples, config.seed)


def _train(args):
    from krelectra import stop
    from krelectra.pretrain.runtime import configure

    stop.handle_stop_signals()  # Ctrl-C, kill -INT, kill -TERM: a checkpoint at the current step (krelectra.stop)

    kernels.use(args.cpu_kernels)  # both before TensorFlow is imported
    configure(args.threads)
    from krelectra.pretrain.train import run_pretraining

    config = _config(args)
    if args.restart:
        config = dataclasses.replace(config, restart=True)
    run_pretraining(args.train, args.eval, args.vocab_dir, config, args.work_dir, progress=not args.no_progress)


def register(stages) -> None:
    parser = stages.add_parser("pretrain", help="ELECTRA pretraining examples and TensorFlow pretraining")
    commands = parser.add_subparsers(dest="command", required=True)
    config_help = "the `pretrain:` config section as JSON (missing keys take the recipe's defaults)"

    p = commands.add_parser("examples", help="one corpus shard -> training and held-out TFRecords + stats")
    p.add_argument(
        "--shard", type=Path, required=True, help="corpus shard: a sentence a line, empty line between documents"
    )
    p.add_argument("--vocab-dir", type=Path, required=True, help="tokenizer folder with vocab.txt")
    p.add_argument("--train-out", type=Path, required=True, help="TFRecord to write: the training examples")
    p.add_argument("--eval-out", type=Path, required=True, help="TFRecord to write: the held-out examples")
    p.add_argument("--stats", type=Path, required=True, help="JSON to write: example counts, padding, [UNK] share")
    p.add_argument("--config", default="", help=config_help)
    p.set_defaults(func=_examples)

    p = commands.add_parser("train", help="pretrain (resuming from the latest checkpoint in WORK_DIR/checkpoints)")
    p.add_argument("--vocab-dir", type=Path, required=True, help="tokenizer folder with vocab.txt")
    p.add_argument(
        "--work-dir", type=Path, required=True, help="writes checkpoints/, tensorboard/, final/ and metrics.jsonl here"
    )
    p.add_argument("--train", type=Path, nargs="+", required=True, help="training TFRecord files")
    p.add_argument("--eval", type=Path, nargs="*", default=[], help="held-out TFRecord files")
    p.add_argument("--config", default="", help=config_help)
    p.add_argument(
        "--threads",
        type=int,
        default=int(os.environ.get("KRELECTRA_THREADS", "0")),
        help="CPU threads for TensorFlow (0: all)",
    )
    p.add_argument(
        "--cpu-kernels",
        choices=kernels.CHOICES,
        default=kernels.NATIVE,
        help="portable: the AVX2 kernels on every x86-64 CPU, for the same checkpoint across machines "
        "(with the same --threads); native (default): TensorFlow's fastest for this CPU (krelectra.kernels)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--restart",
        action="store_true",
        help="when WORK_DIR/checkpoints belong to another run (other settings, vocabulary or examples), move "
        "them aside to checkpoints.<UTC time> and start at step 0, instead of refusing (as pretrain.restart: true)",
    )
    p.set_defaults(func=_train)
