"""`krelectra finetune make-fixtures` and `krelectra finetune download`: the data
commands of the finetune stage (finetune/cli.py adds them to its sub-commands)."""

from __future__ import annotations

import argparse
from pathlib import Path


def _make_fixtures(args: argparse.Namespace) -> None:
    from krelectra.finetune.fixtures import write_fixtures

    for path in write_fixtures(args.output, seed=args.seed):
        print(path)


def _download(args: argparse.Namespace) -> None:
    from krelectra.finetune.download import download

    download(args.task, args.file, args.output, manifest=args.manifest, base_url=args.base_url, timeout=args.timeout)


def register_data_commands(stage_subparsers) -> None:
    from krelectra.finetune.download import PROJECT_MANIFEST
    from krelectra.finetune.fixtures import SEED
    from krelectra.finetune.tasks import TASKS

    fixtures = stage_subparsers.add_parser(
        "make-fixtures",
        help="regenerate the small stand-in datasets of the eight tasks (resources/finetune)",
        description="Write <task>/<upstream file> for all eight tasks, in the upstream formats, "
        "from templates and word lists (deterministic: the same seed gives identical bytes).",
    )
    fixtures.add_argument(
        "--output", type=Path, default=Path("resources/finetune"), help="folder to write (default: %(default)s)"
    )
    fixtures.add_argument("--seed", type=int, default=SEED, help="generator seed (default: %(default)s)")
    fixtures.set_defaults(func=_make_fixtures)

    fetch = stage_subparsers.add_parser(
        "download",
        help="fetch one upstream task file from its pinned address and verify its git blob SHA-1",
        description="Download <task>/<file> to --output; a mismatch or a broken transfer leaves no file.",
    )
    fetch.add_argument("--task", required=True, choices=list(TASKS), help="task name")
    fetch.add_argument("--file", required=True, help="upstream file name, e.g. ratings_train.txt")
    fetch.add_argument("--output", required=True, type=Path, help="where to write the verified file")
    fetch.add_argument(
        "--manifest", type=Path, default=PROJECT_MANIFEST, help="facts of every file (default: the project's)"
    )
    fetch.add_argument(
        "--base-url", default=None, help="fetch <base-url>/<task>/<file> instead of the pinned address (a mirror)"
    )
    fetch.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait on the network (default: %(default)s)"
    )
    fetch.set_defaults(func=_download)
