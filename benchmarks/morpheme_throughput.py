"""Morpheme segmentation of the vocabulary stage against a bare Mecab-Ko `-Owakati` loop.

Input: at least --megabytes of distinct sentences, none repeated. First every distinct
real sentence the machine has (konlpy's constitution and bills and our spoken sample,
split by the corpus stage's cleaner; the texts of the finetuning fixtures in
resources/finetune), then sentences made up from them by a seeded eojeol bigram chain
(each next eojeol is one that followed the current one somewhere in the real text, the
length in eojeols is drawn from the real sentences) until the size is reached.

Baseline: `mecab_ko.Tagger("-Owakati").parse` over every sentence in a plain loop (the
surfaces only, and the output thrown away). Ours: `MorphemeSegmenter.segment_lines` in
batches as `krelectra vocab segment` calls it, and the whole `segment_shard` (read a
shard file, segment, write the morpheme file; held-out fraction 0 so that both sides
parse every sentence). Everything runs in one thread, so time is this process's CPU
time (user + system), which other processes on a shared machine disturb far less than
wall time; the wall-time ratio is printed beside it. The load still changes within
seconds, so each round takes the input in chunks and times baseline and ours on each
chunk back to back (which one goes first alternates). The script prints MB (of UTF-8
input) per CPU second of each, the median over all chunk pairs of the baseline's time
over ours (target: ours >= 0.95 of the bare parse) and each round's ratio of totals, and
the wall-time speed-up of segmenting two shards in two processes over one process.

    python benchmarks/morpheme_throughput.py [--rounds 5] [--megabytes 2]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from itertools import pairwise
from pathlib import Path

from krelectra.corpus.clean import Cleaner, CleaningOptions
from krelectra.corpus.sources import konlpy_corpus_dir
from krelectra.vocab.morphemes import BATCH_SENTENCES, MorphemeSegmenter
from krelectra.vocab.segment import segment_shard

REPO = Path(__file__).resolve().parents[1]


def real_sentences() -> list[str]:
    """Every distinct sentence of the real text on this machine, in a fixed order."""
    from krelectra.finetune.tasks import TASKS, load_splits

    cleaner = Cleaner(CleaningOptions())
    texts = [p.read_text(encoding="utf-8") for p in sorted(konlpy_corpus_dir().glob("*/*.txt"))]
    texts += (REPO / "resources/corpus/spoken_sample.txt").read_text(encoding="utf-8").splitlines()
    for task in TASKS.values():
        for split in load_splits(task, REPO / "resources/finetune", 0.1, 0).values():
            for example in split.examples:
                texts += [example[key] for key in ("text", "text_pair", "question", "context") if key in example]
                if "words" in example:
                    texts.append(" ".join(example["words"]))
    return list(dict.fromkeys(s for text in texts for s in cleaner.sentences(text)))


def made_up_sentences(real: list[str], megabytes: float, seed: int = 0) -> list[str]:
    """Distinct sentences from an eojeol bigram chain over `real`, beyond `real` itself,
    until `real` and these together hold `megabytes` of UTF-8."""
    rng = random.Random(seed)
    follows: dict[str, list[str]] = defaultdict(list)
    starts, lengths = [], []
    for sentence in real:
        eojeols = sentence.split()
        starts.append(eojeols[0])
        lengths.append(len(eojeols))
        for first, second in pairwise(eojeols):
            follows[first].append(second)
    seen = set(real)
    size = sum(len(s.encode("utf-8")) for s in real)
    made = []
    while size < megabytes * 1e6:
        eojeols = [rng.choice(starts)]
        for _ in range(rng.choice(lengths) - 1):
            successors = follows.get(eojeols[-1])
            if not successors:
                break
            eojeols.append(rng.choice(successors))
        sentence = " ".join(eojeols)
        if sentence not in seen:
            seen.add(sentence)
            made.append(sentence)
            size += len(sentence.encode("utf-8"))
    return made


def bare_tagger(tagger, sentences: list[str]) -> None:
    parse = tagger.parse
    for sentence in sentences:
        parse(sentence)


def ours(segmenter: MorphemeSegmenter, sentences: list[str]) -> None:
    for start in range(0, len(sentences), BATCH_SENTENCES):
        segmenter.segment_lines(sentences[start : start + BATCH_SENTENCES])


def timed(function, *args) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one call."""
    cpu, wall = time.process_time(), time.perf_counter()
    function(*args)
    return time.process_time() - cpu, time.perf_counter() - wall


def wall_time(function, *args) -> float:
    return timed(function, *args)[1]


def _segment(paths: tuple[Path, Path, Path, Path]) -> None:
    segment_shard(*paths, heldout_fraction=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--megabytes", type=float, default=2.0)
    args = parser.parse_args()

    import mecab_ko

    real = real_sentences()
    made = made_up_sentences(real, args.megabytes)
    sentences = real + made
    assert len(set(sentences)) == len(sentences)
    megabytes = sum(len(s.encode("utf-8")) for s in sentences) / 1e6
    real_mb = sum(len(s.encode("utf-8")) for s in real) / 1e6
    print(
        f"input: {len(sentences)} distinct sentences, {megabytes:.2f} MB: {len(real)} real ({real_mb:.2f} MB), "
        f"{len(made)} from the eojeol bigram chain"
    )

    # Both loops are set up once and warmed up on the whole input; a shard of hundreds of MB
    # makes our one-time set-up per process (taggers, character classes) negligible.
    tagger = mecab_ko.Tagger("-Owakati")
    start = time.perf_counter()
    segmenter = MorphemeSegmenter()
    segmenter.segment_lines(["준비, 시작."])
    setup = time.perf_counter() - start
    bare_tagger(tagger, sentences)
    ours(segmenter, sentences)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # Chunks of the input: one `segment_lines` batch each, and 4 shard files.
        chunks = [sentences[i : i + BATCH_SENTENCES] for i in range(0, len(sentences), BATCH_SENTENCES)]
        per_shard = -(-len(sentences) // 4)
        shards = []
        for i in range(0, len(sentences), per_shard):
            shard = tmp / f"shard{i}.txt"
            shard.write_text("\n".join(sentences[i : i + per_shard]) + "\n\n", encoding="utf-8")
            shards.append((sentences[i : i + per_shard], (shard, tmp / "m.txt", tmp / "h.txt", tmp / "s.json")))
        # Per way of running ours, per round, per chunk: CPU and wall seconds of the baseline and of ours.
        pairs: dict[str, list[list[tuple[float, float, float, float]]]] = {"segment_lines": [], "segment_shard": []}
        for round_ in range(args.rounds):
            for name, work in (
                ("segment_lines", [(c, (ours, segmenter, c)) for c in chunks]),
                ("segment_shard", [(c, (_segment, paths)) for c, paths in shards]),
            ):
                pairs[name].append([])
                for i, (chunk, (function, *rest)) in enumerate(work):
                    if (i + round_) % 2:
                        mine = timed(function, *rest)
                        bare = timed(bare_tagger, tagger, chunk)
                    else:
                        bare = timed(bare_tagger, tagger, chunk)
                        mine = timed(function, *rest)
                    pairs[name][-1].append(bare + mine)
        bare_cpu = statistics.median(sum(p[0] for p in r) for r in pairs["segment_lines"])
        print(f"bare mecab_ko.Tagger('-Owakati').parse loop: {megabytes / bare_cpu:.2f} MB per CPU second (median)")
        for name, label in (
            ("segment_lines", f"MorphemeSegmenter.segment_lines, batches of {BATCH_SENTENCES}"),
            ("segment_shard", f"segment_shard ({len(shards)} shard files in, morpheme files out)"),
        ):
            every = [p for r in pairs[name] for p in r]
            rounds = [sum(p[0] for p in r) / sum(p[2] for p in r) for r in pairs[name]]
            print(
                f"{label}: {megabytes / statistics.median(sum(p[2] for p in r) for r in pairs[name]):.2f} MB per "
                f"CPU second; ratio to the bare parse: median of {len(every)} chunk pairs "
                f"{statistics.median(p[0] / p[2] for p in every):.3f} in CPU time, "
                f"{statistics.median(p[1] / p[3] for p in every):.3f} in wall time; "
                f"per round (CPU): {', '.join(f'{r:.3f}' for r in rounds)}"
            )
        print(f"target: segment_lines >= 0.95; one-time set-up of our segmenter per process: {setup:.2f} s")

        shard = tmp / "shard.txt"
        shard.write_text("\n".join(sentences) + "\n\n", encoding="utf-8")
        jobs = []
        for i in range(2):
            jobs.append((shard, tmp / f"{i}.m", tmp / f"{i}.h", tmp / f"{i}.json"))
        serial, parallel = [], []
        for _ in range(max(1, args.rounds // 2)):
            serial.append(wall_time(lambda: [_segment(j) for j in jobs]))
            with ProcessPoolExecutor(2) as pool:
                parallel.append(wall_time(lambda: list(pool.map(_segment, jobs))))
        print(
            f"two shards, 1 process: {statistics.median(serial):.2f} s; 2 processes: "
            f"{statistics.median(parallel):.2f} s; "
            f"speed-up {statistics.median(serial) / statistics.median(parallel):.2f}x"
        )


if __name__ == "__main__":
    main()
