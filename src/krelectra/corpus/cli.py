"""`krelectra corpus ...`: the corpus rules, runnable by hand."""

from __future__ import annotations

from pathlib import Path

from krelectra.cli import json_argument, optional_number


def _partition(args):
    from krelectra.corpus.documents import partition
    from krelectra.corpus.sources import resolve_sources

    spec = {"name": args.name, "register": args.register, "documents": args.documents, "paths": args.paths}
    source = resolve_sources([spec])[0]
    outputs = [args.output_dir / f"{i:05d}.jsonl" for i in range(args.num_shards)]
    partition(source.name, source.register, source.documents, list(source.files), outputs, args.stats)


def _clean(args):
    from krelectra.corpus.contamination import EvaluationIndex
    from krelectra.corpus.near_dup import NearDupOptions
    from krelectra.corpus.pipeline import DocumentOutputs, clean_shard
    from krelectra.errors import KrelectraError

    if (args.index is None) != (args.hits is None) or (args.index is None) != (args.examples is None):
        raise KrelectraError("corpus clean: --index, --examples and --hits come together")
    if (args.near_dup is None) != (args.bands is None):
        raise KrelectraError("corpus clean: --near-dup and --bands come together")
    outputs = DocumentOutputs(
        index=EvaluationIndex.load(args.index, args.examples) if args.index else None,
        hits=args.hits,
        near_dup=NearDupOptions.from_dict(args.near_dup) if args.near_dup is not None else None,
        bands=args.bands,
    )
    clean_shard(args.partitions, args.options, args.output, args.hashes, args.stats, outputs)


def _dedup(args):
    from krelectra.corpus.pipeline import DocumentDecisions, dedup

    decisions = None
    if args.codes:
        decisions = DocumentDecisions(
            codes=args.codes, hits=args.hits, index=args.index, decontaminate=args.decontaminate, bands=args.bands
        )
    dedup(
        args.hashes,
        args.keep,
        args.plan,
        deduplicate=not args.no_dedup,
        buckets=args.buckets,
        spoken_ratio=args.spoken_ratio,
        decisions=decisions,
    )


def _finalize(args):
    from krelectra.corpus.pipeline import finalize

    finalize(args.cleaned, args.keep, args.plan, args.clean_stats, args.output, args.stats, args.codes)


def _contamination_index(args):
    from krelectra.corpus.contamination import build_index

    build_index(args.data_dir, args.tasks, args.ngram, args.index, args.examples)


def _contamination_audit(args):
    from krelectra.corpus.contamination import audit

    audit(args.index, args.examples, args.hits, args.output)


def _summarize(args):
    from krelectra.corpus.pipeline import summarize

    summarize(args.shard_stats, args.partition_stats, args.plan, args.output)


def register(stages) -> None:
    parser = stages.add_parser("corpus", help="raw text -> clean, deduplicated, balanced sentence shards")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("partition", help="split one source into documents and send each to its shard")
    p.add_argument("--name", required=True)
    p.add_argument("--register", required=True, choices=["written", "spoken"])
    p.add_argument("--documents", default="paragraph", choices=["file", "paragraph", "line"])
    p.add_argument("--num-shards", type=int, required=True)
    p.add_argument("--output-dir", type=Path, required=True, help="writes <shard>.jsonl for every shard")
    p.add_argument("--stats", type=Path, required=True)
    p.add_argument("paths", nargs="+", help="files or globs ('konlpy:kolaw/*.txt' for konlpy's corpus)")
    p.set_defaults(func=_partition)

    p = commands.add_parser("clean", help="clean the documents of one shard into sentences")
    p.add_argument(
        "--options", type=json_argument(dict), required=True, help="cleaning options as JSON (config corpus.cleaning)"
    )
    p.add_argument("--output", type=Path, required=True)
    p.add_argument("--hashes", type=Path, required=True)
    p.add_argument("--stats", type=Path, required=True)
    p.add_argument("--index", type=Path, help="the contamination index (.npz); with --examples and --hits")
    p.add_argument("--examples", type=Path, help="the contamination index's examples (.json)")
    p.add_argument("--hits", type=Path, help="writes the evaluation n-grams found, per document (.npz)")
    p.add_argument(
        "--near-dup", type=json_argument(dict), help="near-duplicate options as JSON (config corpus.near_dedup)"
    )
    p.add_argument("--bands", type=Path, help="writes the MinHash band hashes per document (.npy)")
    p.add_argument("partitions", type=Path, nargs="+")
    p.set_defaults(func=_clean)

    p = commands.add_parser("dedup", help="corpus-wide exact sentence deduplication and register balance")
    p.add_argument("--hashes", type=Path, nargs="+", required=True)
    p.add_argument("--keep", type=Path, nargs="+", required=True, help="one keep-mask per --hashes file")
    p.add_argument("--plan", type=Path, required=True)
    p.add_argument("--buckets", type=int, default=16)
    p.add_argument(
        "--spoken-ratio", type=optional_number(float), default=None, help="share of spoken sentences, or null (as is)"
    )
    p.add_argument("--no-dedup", action="store_true")
    p.add_argument("--codes", type=Path, nargs="+", help="writes one document-code file per shard (.npy)")
    p.add_argument("--hits", type=Path, nargs="+", help="the evaluation n-grams found, one file per shard")
    p.add_argument("--index", type=Path, help="the contamination index (.npz)")
    p.add_argument("--decontaminate", action="store_true", help="drop documents holding evaluation n-grams")
    p.add_argument("--bands", type=Path, nargs="+", help="MinHash band hashes, one file per shard: near-dedup")
    p.set_defaults(func=_dedup)

    p = commands.add_parser("finalize", help="write one shard: a sentence per line, blank line between documents")
    for name in ("cleaned", "keep", "plan", "clean-stats", "output", "stats"):
        p.add_argument(f"--{name}", type=Path, required=True)
    p.add_argument("--codes", type=Path, help="the dedup step's document codes of this shard")
    p.set_defaults(func=_finalize)

    p = commands.add_parser("contamination-index", help="index the n-grams of the tasks' evaluation splits")
    p.add_argument("--data-dir", type=Path, required=True, help="holds <task>/<file> (finetune.data)")
    p.add_argument("--tasks", nargs="+", required=True)
    p.add_argument("--ngram", type=int, required=True, help="characters per n-gram")
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--examples", type=Path, required=True)
    p.set_defaults(func=_contamination_index)

    p = commands.add_parser("contamination-audit", help="evaluation examples found in the corpus, per task and split")
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--examples", type=Path, required=True)
    p.add_argument("--hits", type=Path, nargs="+", required=True, help="one file per shard")
    p.add_argument("--output", type=Path, required=True)
    p.set_defaults(func=_contamination_audit)

    p = commands.add_parser("summarize", help="corpus totals over all shards")
    p.add_argument("--shard-stats", type=Path, nargs="+", required=True)
    p.add_argument("--partition-stats", type=Path, nargs="+", required=True)
    p.add_argument("--plan", type=Path, required=True)
    p.add_argument("--output", type=Path, required=True)
    p.set_defaults(func=_summarize)
