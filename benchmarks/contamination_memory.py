"""Memory and throughput of the corpus jobs with the contamination audit, decontamination
and near-duplicate removal, on a small and a large generated corpus.

Usage: python benchmarks/contamination_memory.py [--sizes 10 300] [--shards 2] [--cores 2]

For each size (MB of raw text) it generates a corpus (comments and paragraphs drawn from
the words of resources/corpus/spoken_sample.txt and konlpy's legal texts, so documents
rarely repeat), runs the corpus rules and the audit of the embedded default's config on
it with Snakemake (`--directory` a temporary folder; the same number of shards for every
size, as the recipe fixes it), and prints each job's peak RSS (`max_rss` of its
Snakemake benchmark file) and seconds per MB of raw text. A job's memory is flat when
its max_rss at the large size is about that at the small one; throughput when its s/MB
are within 1.3x. Timings on a shared machine are noisy: compare the two sizes of one run.
"""

from __future__ import annotations

import argparse
import csv
import random
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
NEW_JOBS = ("corpus_contamination_index", "corpus_contamination")  # the others gained work


def vocabulary() -> list[str]:
    from krelectra.corpus.sources import konlpy_corpus_dir

    texts = [(ROOT / "resources" / "corpus" / "spoken_sample.txt").read_text(encoding="utf-8")]
    texts += [p.read_text(encoding="utf-8") for p in sorted(konlpy_corpus_dir().glob("*/*.txt"))]
    return sorted({w for t in texts for w in t.split() if not w.startswith("http")})


def generate(folder: Path, megabytes: float, seed: int = 0) -> None:
    """spoken.txt (one comment a line, 5-30 words) and written.txt (blank-line separated
    paragraphs of 3-8 sentences), each half of `megabytes`."""
    words = vocabulary()
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    target = megabytes * 1e6 / 2
    with open(folder / "spoken.txt", "w", encoding="utf-8") as out:
        size = 0
        while size < target:
            line = " ".join(rng.choices(words, k=rng.randint(5, 30))) + "\n"
            size += out.write(line) * 2  # about 2-3 bytes a character; close enough for a target
    with open(folder / "written.txt", "w", encoding="utf-8") as out:
        size = 0
        while size < target:
            sentences = [" ".join(rng.choices(words, k=rng.randint(6, 20))) + "." for _ in range(rng.randint(3, 8))]
            size += out.write(" ".join(sentences) + "\n\n") * 2


def run(work: Path, megabytes: float, shards: int, cores: int) -> dict[str, list[dict]]:
    generate(work / "raw", megabytes)
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
    config["results"] = str(work / "results")
    config["corpus"].update(
        num_shards=shards,
        spoken_ratio=None,
        sources=[
            {"name": "spoken", "paths": [str(work / "raw" / "spoken.txt")], "register": "spoken", "documents": "line"},
            {"name": "written", "paths": [str(work / "raw" / "written.txt")], "register": "written"},
        ],
    )
    (work / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    targets = [f"{work}/results/corpus/stats.json", f"{work}/results/corpus/contamination.json"]
    command = [
        *("snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(work)),
        *("--configfile", str(work / "config.yaml"), "--cores", str(cores), "--quiet", "all", "--", *targets),
    ]
    subprocess.run(command, check=True, cwd=work)
    raw_mb = sum(p.stat().st_size for p in (work / "raw").iterdir()) / 1e6
    found: dict[str, list[dict]] = defaultdict(list)
    for tsv in sorted((work / "results" / "benchmarks" / "corpus").rglob("*.tsv")):
        job = "corpus_" + (tsv.parent.name if tsv.parent.name != "corpus" else tsv.stem)
        with open(tsv, encoding="utf-8") as handle:
            row = next(csv.DictReader(handle, delimiter="\t"))
        found[job].append({"max_rss": float(row["max_rss"]), "s_per_mb": float(row["s"]) / raw_mb})
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[10.0, 300.0], help="MB of raw text")
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    results = {}
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix="krelectra-contamination-") as tmp:
            print(f"running the corpus stage on {size:g} MB ...", file=sys.stderr, flush=True)
            results[size] = run(Path(tmp), size, args.shards, args.cores)
    header = "| job | " + " | ".join(f"max_rss MB ({s:g} MB) | s/MB ({s:g} MB)" for s in args.sizes) + " |"
    print(header)
    print("|---|" + "---|---|" * len(args.sizes))
    for job in sorted({j for r in results.values() for j in r}):
        cells = []
        for size in args.sizes:
            rows = results[size].get(job, [])
            rss = max((r["max_rss"] for r in rows), default=float("nan"))
            seconds = sum(r["s_per_mb"] for r in rows)
            cells += [f"{rss:.0f}", f"{seconds:.3f}"]
        print(f"| {job}{' (new)' if job in NEW_JOBS else ''} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
