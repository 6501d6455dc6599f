"""Morpheme segmentation throughput of the vocabulary stage against a bare Mecab-Ko loop.

Both run over the same sentences in this process, several rounds, interleaved; the
script prints MB/s (of UTF-8 input) per process for each, the median ratio
(target: ours >= 0.8 of the bare tagger), and the speed-up of segmenting two shards
in two processes over one process.

    python benchmarks/morpheme_throughput.py [--rounds 5] [--megabytes 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from krelectra.corpus.clean import Cleaner, CleaningOptions
from krelectra.corpus.sources import konlpy_corpus_dir
from krelectra.vocab.morphemes import MorphemeSegmenter
from krelectra.vocab.segment import segment_shard

REPO = Path(__file__).resolve().parents[1]


def sample_sentences(megabytes: float) -> list[str]:
    cleaner = Cleaner(CleaningOptions())
    texts = [p.read_text(encoding="utf-8") for p in sorted(konlpy_corpus_dir().glob("*/*.txt"))]
    texts += (REPO / "resources/corpus/spoken_sample.txt").read_text(encoding="utf-8").splitlines()
    sentences = [s for t in texts for s in cleaner.sentences(t)]
    out, size = [], 0
    while size < megabytes * 1e6:
        for s in sentences:
            out.append(s)
            size += len(s.encode("utf-8"))
    return out


def bare_tagger(tagger, sentences: list[str]) -> None:
    for sentence in sentences:
        tagger.parse(sentence)


def ours(segmenter: MorphemeSegmenter, sentences: list[str]) -> None:
    for sentence in sentences:
        segmenter.segment_line(sentence)


def timed(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def _segment(paths: tuple[Path, Path, Path, Path]) -> None:
    segment_shard(*paths, heldout_fraction=0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--megabytes", type=float, default=2.0)
    args = parser.parse_args()

    import mecab_ko

    sentences = sample_sentences(args.megabytes)
    megabytes = sum(len(s.encode("utf-8")) for s in sentences) / 1e6
    # Throughput of the loops: both are set up once (our segmenter builds its word pattern,
    # about half a second per process, which a shard of hundreds of MB makes negligible),
    # and one warm-up round of each is not counted.
    tagger = mecab_ko.Tagger()
    start = time.perf_counter()
    segmenter = MorphemeSegmenter()
    segmenter.segment_line("준비")
    setup = time.perf_counter() - start
    bare_tagger(tagger, sentences[:1000])
    ours(segmenter, sentences[:1000])
    bare, mine = [], []
    for _ in range(args.rounds):
        bare.append(timed(bare_tagger, tagger, sentences))
        mine.append(timed(ours, segmenter, sentences))
    ratios = [b / m for b, m in zip(bare, mine)]
    print(f"input: {len(sentences)} sentences, {megabytes:.2f} MB, {args.rounds} rounds")
    print(f"bare mecab_ko.Tagger().parse loop: {megabytes / statistics.median(bare):.2f} MB/s (median)")
    print(f"krelectra morpheme segmentation:   {megabytes / statistics.median(mine):.2f} MB/s (median)")
    print(f"one-time set-up of our segmenter per process: {setup:.2f} s")
    print(
        f"ratio ours / bare: median {statistics.median(ratios):.2f} "
        f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)}); target >= 0.8"
    )

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        jobs = []
        for i in range(2):
            shard = tmp / f"{i}.txt"
            shard.write_text("\n".join(sentences) + "\n\n", encoding="utf-8")
            jobs.append((shard, tmp / f"{i}.m", tmp / f"{i}.h", tmp / f"{i}.json"))
        serial, parallel = [], []
        for _ in range(max(1, args.rounds // 2)):
            serial.append(timed(lambda: [_segment(j) for j in jobs]))
            with ProcessPoolExecutor(2) as pool:
                parallel.append(timed(lambda: list(pool.map(_segment, jobs))))
        print(
            f"two shards, 1 process: {statistics.median(serial):.2f} s; 2 processes: "
            f"{statistics.median(parallel):.2f} s; "
            f"speed-up {statistics.median(serial) / statistics.median(parallel):.2f}x"
        )


if __name__ == "__main__":
    main()
