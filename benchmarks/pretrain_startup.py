"""What pretraining reads before its first step: example counts and the run's fingerprint.

`krelectra pretrain train` needs the number of training and held-out examples and the
run's fingerprint (the SHA-256 of every example file, krelectra.fingerprint) before it
trains. The script writes --gigabytes of pretraining TFRecords (--shards shards, each a
training file and a held-out file with a tenth of the records, and the `{shard}.json`
stats `pretrain examples` writes beside them: counts and SHA-256) and times three ways:

- by reading: every file counted record by record (`count_records`, what a run does for
  files without stats) and then hashed one file after another: each file read twice;
- one by one: the files hashed one after another, the counts taken from the stats
  (before this change, with every shard's stats present: unverified counts);
- ours: the files hashed in threads (`fp.files_sha256`, up to `fp.HASH_WORKERS` at once)
  and the counts taken from the stats whose recorded hash is the file's
  (`train.count_examples`), i.e. `run_pretraining`'s start-up.

The files are read from the page cache (they were just written; the machine needs the
memory for that): the time is the CPU's (TFRecord parsing, SHA-256), not the disk's; a
cold cache adds the file system's read time to every pass over the files. Rounds
interleave the three; the median of --rounds rounds of each (of --reading-rounds for
"by reading", default 1: it takes some 50 times as long as the others) and the
ratios to ours are printed with the CPU's name and flags.

    python benchmarks/pretrain_startup.py [--gigabytes 1] [--shards 8] [--rounds 3] [--reading-rounds 1]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from krelectra import fingerprint as fp
from krelectra.io import write_json

SEQ = 128  # tokens per example (the ids, mask and segment ids as int64 features)


def examples(count: int, seed: int) -> list[bytes]:
    """`count` distinct serialized tf.train.Examples of SEQ tokens, as `pretrain examples` writes."""
    import tensorflow as tf

    rng = random.Random(seed)
    out = []
    for _ in range(count):
        length = rng.randint(SEQ // 2, SEQ)
        ids = [2] + [rng.randrange(5, 35000) for _ in range(length - 2)] + [3] + [0] * (SEQ - length)
        mask = [1] * length + [0] * (SEQ - length)
        segments = [0] * (length // 2) + [1] * (length - length // 2) + [0] * (SEQ - length)
        feature = {
            name: tf.train.Feature(int64_list=tf.train.Int64List(value=values))
            for name, values in (("input_ids", ids), ("input_mask", mask), ("segment_ids", segments))
        }
        out.append(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    return out


def write_shards(folder: Path, gigabytes: float, shards: int) -> tuple[list[Path], list[Path]]:
    import tensorflow as tf

    pool = examples(512, seed=0)
    per_record = statistics.mean(len(r) for r in pool) + 16  # TFRecord framing: length, two CRCs
    per_shard = int(gigabytes * 1e9 / per_record / shards)
    train_files, eval_files = [], []
    for shard in range(shards):
        train, held_out = folder / f"{shard:05d}.tfrecord", folder / f"{shard:05d}.eval.tfrecord"
        counts = {"train_examples": 0, "eval_examples": 0}
        with tf.io.TFRecordWriter(str(train)) as t, tf.io.TFRecordWriter(str(held_out)) as e:
            for i in range(per_shard):
                kind = "eval" if i % 10 == 9 else "train"
                (e if kind == "eval" else t).write(pool[(i * 7 + shard) % len(pool)])
                counts[f"{kind}_examples"] += 1
        hashes = {"train_sha256": fp.file_sha256(train), "eval_sha256": fp.file_sha256(held_out)}
        write_json(folder / f"{shard:05d}.json", {**counts, **hashes})
        train_files.append(train)
        eval_files.append(held_out)
    return train_files, eval_files


def by_reading(train_files: list[Path], eval_files: list[Path]) -> tuple[int, int]:
    from krelectra.pretrain.examples import count_records

    counts = count_records(train_files), count_records(eval_files)
    one_by_one_hashes(train_files, eval_files)
    return counts


def one_by_one_hashes(train_files: list[Path], eval_files: list[Path]) -> tuple[int, int]:
    from krelectra.io import read_json
    from krelectra.pretrain.train import stats_path

    for files in (train_files, eval_files):
        fp.files_sha256(files, workers=1)
    train = sum(read_json(stats_path(p))["train_examples"] for p in train_files)
    return train, sum(read_json(stats_path(p))["eval_examples"] for p in eval_files)


def ours(train_files: list[Path], eval_files: list[Path]) -> tuple[int, int]:
    from krelectra.pretrain.train import count_examples

    return (
        count_examples(train_files, "train", fp.files_sha256(train_files)),
        count_examples(eval_files, "eval", fp.files_sha256(eval_files)),
    )


def cpu() -> str:
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    wanted = ("sha_ni", "avx2", "avx512f", "avx512_bf16", "amx_bf16")
    return f"{name}; {len(os.sched_getaffinity(0))} cores usable; flags: {' '.join(f for f in wanted if f in flags)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gigabytes", type=float, default=1.0)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reading-rounds", type=int, default=1)
    parser.add_argument("--folder", type=Path, default=None, help="folder for the examples (default: temp)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=args.folder) as tmp:
        train_files, eval_files = write_shards(Path(tmp), args.gigabytes, args.shards)
        size = sum(p.stat().st_size for p in train_files + eval_files)
        print(f"CPU: {cpu()}")
        print(f"examples: {size / 1e9:.2f} GB in {len(train_files)} training + {len(eval_files)} held-out files")
        ways = {"by reading": by_reading, "one by one": one_by_one_hashes, "ours": ours}
        seconds: dict[str, list[float]] = {name: [] for name in ways}
        results = set()
        for round_ in range(args.rounds):
            order = list(ways) if round_ % 2 == 0 else list(reversed(ways))
            for name in order:
                if name == "by reading" and round_ >= args.reading_rounds:
                    continue
                start = time.perf_counter()
                results.add(ways[name](train_files, eval_files))
                seconds[name].append(time.perf_counter() - start)
        assert len(results) == 1, f"the three ways count differently: {results}"
        train, held_out = results.pop()
        print(f"counts: {train} training, {held_out} held-out examples (the same in all three)")
        base = statistics.median(seconds["ours"])
        print("| before the first step | median s | GB/s | ratio to ours |")
        print("|---|---|---|---|")
        for name in ways:
            median = statistics.median(seconds[name])
            print(f"| {name} | {median:.2f} | {size / 1e9 / median:.2f} | {median / base:.2f}x |")
        print(
            f"(ours hashes up to {fp.HASH_WORKERS} files at once; rounds: {args.rounds}, by reading "
            f"{min(args.rounds, args.reading_rounds)}; page cache warm)"
        )


if __name__ == "__main__":
    main()
