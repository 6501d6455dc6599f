"""`krelectra manifest write|show` (the workflow's `manifest` rule, and the README's block)
and `krelectra compare A B` (two runs, or a run and a published manifest)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from krelectra.cli import json_argument


def _write(args) -> None:
    from krelectra.manifest.record import build_manifest, write_manifest

    rules = [(group[0], [Path(p) for p in group[1:]]) for group in args.rule]
    write_manifest(args.output, build_manifest(rules, args.results, args.settings))


def _show(args) -> None:
    from krelectra.manifest.record import markdown, read_manifest

    manifest, _ = read_manifest(args.manifest)
    sys.stdout.write(markdown(manifest, files=args.files))


def _compare(args) -> int:
    from krelectra.manifest.compare import compare_manifests, first_difference, report
    from krelectra.manifest.record import machine_line, read_manifest

    (a, a_root), (b, b_root) = read_manifest(args.a), read_manifest(args.b)
    results = compare_manifests(a, b, a_root, b_root)
    sys.stdout.write(
        report(results, f"{args.a} ({machine_line(a)})", f"{args.b} ({machine_line(b)})", every_file=args.all)
    )
    return 1 if first_difference(results) is not None else 0


def register(stages) -> None:
    parser = stages.add_parser("manifest", help="digests of every rule output of a run (<results>/manifest.json)")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("write", help="write the manifest of the rule outputs named with --rule")
    p.add_argument("--results", type=Path, required=True, help="the results folder; paths are stored relative to it")
    p.add_argument("--output", type=Path, required=True, help="<results>/manifest.json")
    p.add_argument(
        "--rule",
        nargs="+",
        action="append",
        required=True,
        metavar=("RULE", "FILE"),
        help="a rule's name and its output files; repeat in the workflow's order",
    )
    p.add_argument(
        "--settings",
        type=json_argument(dict),
        default={},
        help="what the workflow ran with (cpu_kernels, threads) as a JSON object",
    )
    p.set_defaults(func=_write)

    p = commands.add_parser("show", help="print a manifest as Markdown (one row per rule, or per file)")
    p.add_argument("manifest", type=Path, help="a manifest.json, or a results folder holding one")
    p.add_argument("--files", action="store_true", help="one row per file instead of per rule")
    p.set_defaults(func=_show)

    p = stages.add_parser(
        "compare",
        help="compare two runs rule by rule; exit 1 when they differ",
        description="Compare two runs (results folders) or a run and a published manifest, rule by rule in "
        "the workflow's order, and name the first rule whose outputs differ. Exit status 0: equal; 1: they "
        "differ (or an error, on stderr).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("a", type=Path, help="a results folder or a manifest.json")
    p.add_argument("b", type=Path, help="a results folder or a manifest.json")
    p.add_argument("--all", action="store_true", help="list every file, equal ones too")
    p.set_defaults(func=_compare)
