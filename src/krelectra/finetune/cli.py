"""`krelectra finetune ...`: train one task x seed x model, and summarize a model's runs.
The data commands (fixtures, download) are registered by cli_data.py."""

from __future__ import annotations

from pathlib import Path

from krelectra import kernels
from krelectra.cli import json_argument, optional_number
from krelectra.errors import KrelectraError
from krelectra.finetune import cli_data
from krelectra.finetune.numerics import PRECISIONS, TRAIN_SAMPLINGS

_json_object = json_argument(dict)
_json_list = json_argument(list)


def register(subparsers) -> None:
    parser = subparsers.add_parser("finetune", help="finetune and evaluate on the eight Korean benchmarks")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser("train", help="finetune one model on one task with one seed")
    train.add_argument(
        "--task",
        required=True,
        help="task name (nsmc, naver-ner, paws, kornli, korsts, question-pair, korquad, hate-speech)",
    )
    train.add_argument(
        "--seed",
        type=int,
        required=True,
        help="random seed of the run: head initialisation, dropout, data order (KR-ELECTRA's: 41; 42 for "
        "question-pair and korquad)",
    )
    train.add_argument("--model", required=True, help="model directory or Hugging Face hub id")
    train.add_argument("--model-name", default="model", help="the model's name in the results (default: model)")
    train.add_argument(
        "--data",
        default="fixtures",
        help="'fixtures', 'download' or a folder holding <task>/<file> (default: fixtures)",
    )
    train.add_argument("--results", default="results", help="results folder, for --data download (default: results)")
    train.add_argument(
        "--dev-fraction", type=float, default=0.1, help="share of train carved out as dev where a task has no dev file"
    )
    train.add_argument(
        "--hyperparameters",
        type=_json_object,
        default={},
        help="JSON object of hyperparameter overrides (null: keep the task's value)",
    )
    train.add_argument("--max-train-examples", type=optional_number(int), default=None, help="an integer or null (all)")
    train.add_argument("--max-eval-examples", type=optional_number(int), default=None, help="an integer or null (all)")
    train.add_argument("--protocols", type=_json_list, default=None, help='JSON list, default ["paper", "clean"]')
    train.add_argument("--threads", type=int, default=None, help="PyTorch CPU threads (default: PyTorch's choice)")
    train.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="fp32 (the reference's) or bf16 autocast of the training loss "
        "(default auto: bf16 where the hardware multiplies bf16 natively)",
    )
    train.add_argument(
        "--train-sampling",
        choices=TRAIN_SAMPLINGS,
        default="auto",
        help="random training batches (the reference's) or batches of similar lengths "
        "(default auto: random; group_by_length is faster but learns worse on some tasks)",
    )
    train.add_argument(
        "--cpu-kernels",
        choices=kernels.CHOICES,
        default=kernels.NATIVE,
        help="portable: the AVX2 kernels on every x86-64 CPU, for the same numbers across machines; "
        "native (default): the libraries' fastest for this CPU (krelectra.kernels)",
    )
    train.add_argument(
        "--jobs-per-gpu",
        type=int,
        default=1,
        help="GPU slots per visible GPU: the job waits for a free slot and runs on its GPU alone "
        "(CUDA_VISIBLE_DEVICES); no GPU: no slot (krelectra.finetune.gpu_slots; default 1)",
    )
    train.add_argument(
        "--torch-compile",
        action="store_true",
        help="torch.compile the model (the Trainer's torch_compile), batches padded to multiples of "
        "32 tokens except for KorQuAD: the same update, fewer kernel launches on a GPU, minutes of "
        "compilation first (finetune.torch_compile; docs/finetune.md)",
    )
    train.add_argument(
        "--dataloader-workers",
        type=_whole_number,
        default=0,
        help="processes that collate training batches beside the training loop (0: in it; "
        "finetune.dataloader_workers; docs/finetune.md)",
    )
    train.add_argument("--output-dir", required=True, help="writes metrics.json and predictions.jsonl here")
    train.add_argument(
        "--work-dir",
        default=None,
        help="keeps the state after each epoch here, to resume a killed run; removed at the end "
        "(default: OUTPUT_DIR/.work)",
    )
    train.add_argument(
        "--restart",
        action="store_true",
        help="when WORK_DIR holds the state of another run (other model, data or hyperparameters), move it "
        "aside to WORK_DIR.<UTC time> and start at epoch 0, instead of refusing (as finetune.restart: true)",
    )
    train.set_defaults(func=run_train)

    summarize = commands.add_parser("summarize", help="mean and standard deviation over seeds of one model's runs")
    summarize.add_argument("--model-name", required=True, help="the model's name in the summary (train --model-name)")
    summarize.add_argument("--protocols", type=_json_list, default=None, help='JSON list, default ["paper", "clean"]')
    summarize.add_argument("--output", required=True, help="summary JSON to write")
    summarize.add_argument("metrics", nargs="+", help="metrics.json files of the model's runs")
    summarize.set_defaults(func=run_summarize)

    cli_data.register_data_commands(commands)


def _whole_number(value: str) -> int:
    import argparse

    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {value!r}")
    return int(value)


def _protocols(value):
    from krelectra.finetune.protocols import PROTOCOLS

    if value is None:
        return PROTOCOLS
    unknown = [p for p in value if p not in PROTOCOLS]
    if unknown or not value:
        raise KrelectraError(f"--protocols: expected a non-empty list of {', '.join(PROTOCOLS)}, got {value}")
    return tuple(value)


def run_train(args) -> None:
    from krelectra import stop
    from krelectra.finetune import gpu_slots

    stop.handle_stop_signals()  # Ctrl-C, kill -INT, kill -TERM: stop, resume from the last epoch (krelectra.stop)
    gpu_slots.acquire(args.jobs_per_gpu)  # held until the process ends; before CUDA starts
    kernels.use(args.cpu_kernels)  # before PyTorch is imported
    from krelectra.finetune.tasks import data_dir_for, get_task
    from krelectra.finetune.train import finetune

    task = get_task(args.task)
    data_dir = data_dir_for(args.data, args.results, Path.cwd())
    finetune(
        task,
        args.model,
        data_dir,
        args.seed,
        args.output_dir,
        model_name=args.model_name,
        overrides=args.hyperparameters,
        dev_fraction=args.dev_fraction,
        max_train_examples=args.max_train_examples,
        max_eval_examples=args.max_eval_examples,
        protocols=_protocols(args.protocols),
        threads=args.threads,
        precision=args.precision,
        train_sampling=args.train_sampling,
        work_dir=args.work_dir,
        restart=args.restart,
        torch_compile=args.torch_compile,
        dataloader_workers=args.dataloader_workers,
    )


def run_summarize(args) -> None:
    from krelectra.finetune.summary import summarize_files
    from krelectra.io import write_json

    write_json(args.output, summarize_files(args.metrics, args.model_name, _protocols(args.protocols)))
