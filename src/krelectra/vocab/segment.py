"""Per shard: morpheme-segmented training text, and the held-out documents for the report."""

from __future__ import annotations

from pathlib import Path

from tqdm import tqdm

from krelectra.corpus.reading import read_shard_documents
from krelectra.hashing import unit_interval
from krelectra.io import atomic_open, write_json
from krelectra.vocab.morphemes import BATCH_SENTENCES, MorphemeSegmenter


def is_heldout(document: list[str], fraction: float) -> bool:
    return unit_interval("\n".join(document), salt="vocab-heldout:") < fraction


def segment_shard(shard: Path, morphemes: Path, heldout: Path, stats_path: Path, heldout_fraction: float) -> dict:
    segmenter = MorphemeSegmenter()
    counts = {"documents": 0, "sentences": 0, "heldout_documents": 0, "heldout_sentences": 0, "bytes": 0}
    batch: list[str] = []  # sentences of training documents, segmented BATCH_SENTENCES at a time
    with atomic_open(morphemes) as out, atomic_open(heldout) as held:
        for document in tqdm(read_shard_documents(shard), desc=f"segment {shard}", unit=" docs", mininterval=5):
            text = "\n".join(document)
            if is_heldout(document, heldout_fraction):
                held.write(text + "\n\n")
                counts["heldout_documents"] += 1
                counts["heldout_sentences"] += len(document)
                continue
            batch += document
            if len(batch) >= BATCH_SENTENCES:
                out.write(segmenter.segment_lines(batch))
                batch = []
            counts["bytes"] += len(text.encode("utf-8")) - len(document) + 1
            counts["documents"] += 1
            counts["sentences"] += len(document)
        out.write(segmenter.segment_lines(batch))
    counts["mecab_surface_mismatches"] = segmenter.fallbacks
    write_json(stats_path, counts)
    return counts
