"""`krelectra corpus ...`: the corpus rules, runnable by hand."""

from __future__ import annotations

from pathlib import Path

from krelectra.cli import json_argument, optional_number
from krelectra.corpus.public import PROJECT_MANIFEST


def _partition(args):
    from krelectra.corpus.documents import partition
    from krelectra.corpus.sources import resolve_sources
    from krelectra.io import read_json

    spec = {"name": args.name, "register": args.register, "documents": args.documents, "paths": args.paths}
    source = resolve_sources([spec])[0]
    outputs = [args.output_dir / f"{i:05d}.jsonl" for i in range(args.num_shards)]
    provenance = [read_json(path) for path in args.provenance]
    partition(source.name, source.register, source.documents, list(source.files), outputs, args.stats, provenance)


def _download(args):
    from krelectra.corpus.public import download_public_file, public_dataset

    dataset = public_dataset(args.dataset, args.wikimedia_dump, manifest=args.manifest, where="--dataset")
    download_public_file(
        dataset,
        args.file,
        args.url,
        args.output,
        args.record,
        git_blob_sha1=args.git_blob_sha1,
        checksums=args.checksums,
        timeout=args.timeout,
        size=args.bytes,
    )


def _extract_wiki(args):
    from krelectra.corpus.extract import extract_mediawiki

    extract_mediawiki(args.dump, args.output, args.stats)


def _extract_column(args):
    from krelectra.corpus.extract import extract_text_column

    extract_text_column(args.input, args.output, args.column, args.stats)


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
    p.add_argument("--name", required=True, help="the source's name (config corpus.sources[].name)")
    p.add_argument("--register", required=True, choices=["written", "spoken"], help="the register of its text")
    p.add_argument(
        "--documents",
        default="paragraph",
        choices=["file", "paragraph", "line"],
        help="one document per file, per blank-line paragraph or per line (default: paragraph)",
    )
    p.add_argument("--num-shards", type=int, required=True, help="shards of the corpus (config corpus.num_shards)")
    p.add_argument("--output-dir", type=Path, required=True, help="writes <shard>.jsonl for every shard")
    p.add_argument("--stats", type=Path, required=True, help="JSON to write: documents, bytes, invalid UTF-8 replaced")
    p.add_argument(
        "--provenance", type=Path, nargs="*", default=[], help="download records of the public data in the files"
    )
    p.add_argument("paths", nargs="+", help="files or globs ('konlpy:kolaw/*.txt' for konlpy's corpus)")
    p.set_defaults(func=_partition)

    p = commands.add_parser("download", help="fetch one file of a public data set and verify it")
    p.add_argument("--dataset", required=True, help="a public data set (krelectra.corpus.public)")
    p.add_argument("--file", required=True, help="its file name, or the name of a dump's checksum list")
    p.add_argument("--wikimedia-dump", help="dump date YYYYMMDD of a Wikimedia data set")
    p.add_argument(
        "--manifest", type=Path, default=PROJECT_MANIFEST, help="the GitHub files' manifest (resources/corpus)"
    )
    p.add_argument("--url", required=True, help="where to fetch it (the pinned address, or a mirror's)")
    p.add_argument("--git-blob-sha1", help="the git blob SHA-1 it must have (GitHub files)")
    p.add_argument("--bytes", type=int, help="the size it must have, where the manifest gives it")
    p.add_argument("--checksums", type=Path, help="the dump's sha1sums.txt, which lists its SHA-1 (Wikimedia files)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds without data before a try fails")
    p.add_argument("--output", type=Path, required=True, help="the verified file to write")
    p.add_argument("--record", type=Path, required=True, help="JSON provenance: URL, size, SHA-1, licence")
    p.set_defaults(func=_download)

    p = commands.add_parser("extract-wiki", help="plain-text articles of a MediaWiki pages-articles dump")
    p.add_argument("--output", type=Path, required=True, help="one paragraph per line, empty line between articles")
    p.add_argument("--stats", type=Path, required=True, help="JSON: pages kept and dropped, by reason")
    p.add_argument("dump", type=Path, help="<project>-<date>-pages-articles.xml.bz2")
    p.set_defaults(func=_extract_wiki)

    p = commands.add_parser("extract-column", help="the text column of a tab-separated file, one text per line")
    p.add_argument("--column", type=int, required=True, help="0-based column that holds the text")
    p.add_argument("--output", type=Path, required=True, help="text to write, one per line")
    p.add_argument("--stats", type=Path, required=True, help="JSON to write: lines kept and dropped, by reason")
    p.add_argument("input", type=Path, help="the tab-separated UTF-8 file")
    p.set_defaults(func=_extract_column)

    p = commands.add_parser("clean", help="clean the documents of one shard into sentences")
    p.add_argument(
        "--options", type=json_argument(dict), required=True, help="cleaning options as JSON (config corpus.cleaning)"
    )
    p.add_argument("--output", type=Path, required=True, help="JSON lines to write: one cleaned document a line")
    p.add_argument("--hashes", type=Path, required=True, help=".npz to write: hash, length, register of each sentence")
    p.add_argument("--stats", type=Path, required=True, help="JSON to write: documents, sentences, drops, edits")
    p.add_argument("--index", type=Path, help="the contamination index (.npz); with --examples and --hits")
    p.add_argument("--examples", type=Path, help="the contamination index's examples (.json)")
    p.add_argument("--hits", type=Path, help="writes the evaluation n-grams found, per document (.npz)")
    p.add_argument(
        "--near-dup", type=json_argument(dict), help="near-duplicate options as JSON (config corpus.near_dedup)"
    )
    p.add_argument("--bands", type=Path, help="writes the MinHash band hashes per document (.npy)")
    p.add_argument("partitions", type=Path, nargs="+", help="the shard's partition of each source (JSON lines)")
    p.set_defaults(func=_clean)

    p = commands.add_parser("dedup", help="corpus-wide exact sentence deduplication and register balance")
    p.add_argument(
        "--hashes", type=Path, nargs="+", required=True, help="every shard's sentence hashes (clean --hashes)"
    )
    p.add_argument("--keep", type=Path, nargs="+", required=True, help="one keep-mask per --hashes file")
    p.add_argument(
        "--plan", type=Path, required=True, help="JSON to write: sentence counts and register keep-fractions"
    )
    p.add_argument(
        "--buckets", type=int, default=16, help="hash buckets, memory about 1/buckets of the hashes (default 16)"
    )
    p.add_argument(
        "--spoken-ratio", type=optional_number(float), default=None, help="share of spoken sentences, or null (as is)"
    )
    p.add_argument("--no-dedup", action="store_true", help="keep duplicate sentences (only balance the registers)")
    p.add_argument("--codes", type=Path, nargs="+", help="writes one document-code file per shard (.npy)")
    p.add_argument("--hits", type=Path, nargs="+", help="the evaluation n-grams found, one file per shard")
    p.add_argument("--index", type=Path, help="the contamination index (.npz)")
    p.add_argument("--decontaminate", action="store_true", help="drop documents holding evaluation n-grams")
    p.add_argument("--bands", type=Path, nargs="+", help="MinHash band hashes, one file per shard: near-dedup")
    p.set_defaults(func=_dedup)

    p = commands.add_parser("finalize", help="write one shard: a sentence per line, blank line between documents")
    for name, text in (
        ("cleaned", "the shard's cleaned documents (clean --output)"),
        ("keep", "the shard's keep-mask (dedup --keep)"),
        ("plan", "the dedup plan (dedup --plan)"),
        ("clean-stats", "the shard's clean stats (clean --stats)"),
        ("output", "the shard to write: a sentence a line, an empty line between documents"),
        ("stats", "JSON to write: the shard's sizes per register and dropped sentences"),
    ):
        p.add_argument(f"--{name}", type=Path, required=True, help=text)
    p.add_argument("--codes", type=Path, help="the dedup step's document codes of this shard")
    p.set_defaults(func=_finalize)

    p = commands.add_parser("contamination-index", help="index the n-grams of the tasks' evaluation splits")
    p.add_argument("--data-dir", type=Path, required=True, help="holds <task>/<file> (finetune.data)")
    p.add_argument("--tasks", nargs="+", required=True, help="the configured tasks (config finetune.tasks)")
    p.add_argument("--ngram", type=int, required=True, help="characters per n-gram")
    p.add_argument("--index", type=Path, required=True, help="the index to write (.npz)")
    p.add_argument("--examples", type=Path, required=True, help="the indexed examples to write (.json)")
    p.set_defaults(func=_contamination_index)

    p = commands.add_parser("contamination-audit", help="evaluation examples found in the corpus, per task and split")
    p.add_argument("--index", type=Path, required=True, help="the contamination index (.npz)")
    p.add_argument("--examples", type=Path, required=True, help="the contamination index's examples (.json)")
    p.add_argument("--hits", type=Path, nargs="+", required=True, help="one file per shard")
    p.add_argument("--output", type=Path, required=True, help="JSON to write: the audit per task and split")
    p.set_defaults(func=_contamination_audit)

    p = commands.add_parser("summarize", help="corpus totals over all shards")
    p.add_argument("--shard-stats", type=Path, nargs="+", required=True, help="every shard's stats (finalize --stats)")
    p.add_argument(
        "--partition-stats", type=Path, nargs="+", required=True, help="every source's stats (partition --stats)"
    )
    p.add_argument("--plan", type=Path, required=True, help="the dedup plan (dedup --plan)")
    p.add_argument("--output", type=Path, required=True, help="JSON to write: the corpus statistics")
    p.set_defaults(func=_summarize)
