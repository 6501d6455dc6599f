"""MinHash signature throughput and memory of the candidate libraries (datasketch, rensa).

Usage: python benchmarks/minhash_libraries.py [--megabytes 20] [--repeats 3]

Each library runs in its own process (so its peak RSS is its own) on the same generated
Korean documents (words drawn from resources/corpus/spoken_sample.txt, 20-200 words a
document), shingled as FineWeb does (word 5-grams) into 112 hashes. Prints MB/s and the
peak RSS of the process per library (median of the repeats); the ratio of the two rates
is what to compare on a shared machine.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NUM_PERM = 112
NGRAM = 5


def documents(megabytes: float, seed: int = 0) -> list[str]:
    words = (ROOT / "resources" / "corpus" / "spoken_sample.txt").read_text(encoding="utf-8").split()
    rng = random.Random(seed)
    docs, size = [], 0
    while size < megabytes * 1e6:
        doc = " ".join(rng.choices(words, k=rng.randint(20, 200)))
        docs.append(doc)
        size += len(doc.encode("utf-8"))
    return docs


def shingles(doc: str) -> list[str]:
    words = doc.split()
    return [" ".join(words[i : i + NGRAM]) for i in range(max(1, len(words) - NGRAM + 1))]


def run(library: str, megabytes: float) -> None:
    docs = documents(megabytes)
    size = sum(len(d.encode("utf-8")) for d in docs) / 1e6
    start = time.perf_counter()
    if library == "rensa":
        import rensa

        rensa.RMinHash.digest_matrix_from_token_sets((shingles(d) for d in docs), NUM_PERM, 1).to_rows()
    else:
        from datasketch import MinHash

        MinHash.bulk(([s.encode("utf-8") for s in shingles(d)] for d in docs), num_perm=NUM_PERM, seed=1)
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{size / seconds:.3f} {rss:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=20.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--run", choices=["rensa", "datasketch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run(args.run, args.megabytes)
        return
    rates = {}
    for library in ("rensa", "datasketch"):
        results = []
        for _ in range(args.repeats):
            command = [sys.executable, __file__, "--run", library, "--megabytes", str(args.megabytes)]
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout.split()
            results.append((float(out[0]), float(out[1])))
        rates[library] = statistics.median(r for r, _ in results)
        rss = statistics.median(m for _, m in results)
        print(
            f"{library:11s} {rates[library]:7.3f} MB/s  peak RSS {rss:5.0f} MiB  "
            f"({args.megabytes:g} MB, median of {args.repeats})"
        )
    print(f"rensa / datasketch: {rates['rensa'] / rates['datasketch']:.1f}x")


if __name__ == "__main__":
    main()
