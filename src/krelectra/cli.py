"""`krelectra <stage> <command>`: every Snakemake rule calls one of these, and a user
can run the same command by hand to audit a single rule's output."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys

from krelectra import __version__
from krelectra.errors import KrelectraError
from krelectra.stop import StopRequested

# One sub-package per pipeline stage, each with a `cli.register(subparsers)`.
# Stage modules import heavy libraries (TensorFlow, PyTorch) inside their commands,
# so `krelectra --help` stays fast.
STAGES = ("corpus", "vocab", "pretrain", "convert", "finetune", "paper", "manifest")


def json_argument(expected: type):
    """An argparse `type` that reads a JSON value of the expected type (a config section
    passed by a rule as one argument), with a clear message when it is not."""
    names: dict[type, str] = {dict: "object", list: "list"}
    name = names.get(expected, expected.__name__)

    def parse(text: str):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            raise argparse.ArgumentTypeError(f"not valid JSON: {error}") from None
        if not isinstance(value, expected):
            raise argparse.ArgumentTypeError(f"expected a JSON {name}")
        return value

    parse.__name__ = f"JSON {name}"
    return parse


def optional_number(kind: type = float):
    """An argparse `type` for a number a config may leave out: JSON `null` (how the rules
    write a config's missing value, through `as_json` in common.smk) or a number of `kind`
    (int or float), with a clear message otherwise."""

    def parse(text: str):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        if value is None:
            return None
        whole = isinstance(value, int) or (isinstance(value, float) and kind is float)
        if isinstance(value, bool) or not whole:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'} or null, got {text!r}"
            )
        return kind(value)

    parse.__name__ = f"{kind.__name__} or null"
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="krelectra", description=__doc__)
    parser.add_argument("--version", action="version", version=f"krelectra {__version__}")
    stages = parser.add_subparsers(dest="stage", required=True, metavar="STAGE")
    for name in STAGES:
        # Every stage ships with the package: an import error here is a broken install, and shows as one.
        importlib.import_module(f"krelectra.{name}.cli").register(stages)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    try:
        status = args.func(args)
    except StopRequested as stopped:
        # One line, in the log (stderr) and on the terminal (stdout, where the progress is),
        # then exit at once: what can be resumed is saved and every output file is closed,
        # while the libraries' own teardown would take seconds (5 s for torch and
        # transformers on a busy 2-core machine).
        _print_once(f"krelectra {args.stage}: {stopped}")
        logging.shutdown()
        os._exit(stopped.exit_status)
    except KrelectraError as error:
        print(f"krelectra {args.stage}: error: {error}", file=sys.stderr)
        return 1
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as error:
        # An input file named on the command line that is not there (or not readable).
        print(f"krelectra {args.stage}: error: {error.filename}: {error.strerror}", file=sys.stderr)
        return 1
    return status if isinstance(status, int) else 0


def _print_once(line: str) -> None:
    """`line` on stderr and on stdout, once when both are the same file (a terminal)."""
    print(line, file=sys.stderr, flush=True)
    try:
        same = os.path.samestat(os.fstat(sys.stderr.fileno()), os.fstat(sys.stdout.fileno()))
    except (OSError, ValueError):  # a stream without a file descriptor (tests capturing output)
        same = False
    if not same:
        print(line, flush=True)


if __name__ == "__main__":
    sys.exit(main())
