"""Near-duplicate documents: MinHash signatures, LSH band buckets, clusters.

The method and its starting parameters are FineWeb's (datatrove's MinHash deduplication,
see docs/contamination.md): word 5-grams of the document as shingles, 112 hash functions
in 14 bands of 8 rows, so two documents become candidates when all 8 hashes of any band
agree; the probability of that is 1 - (1 - J^8)^14 at Jaccard similarity J (about 0.72
at the midpoint (1/14)^(1/8), 0.92 at J = 0.8). Candidates are joined into clusters
(connected components) and every cluster keeps its first document in shard order.

The signatures come from rensa (`RMinHash`, a maintained Rust implementation; 4.6 times
datasketch's rate here, benchmarks/minhash_libraries.py). Memory stays bounded: each
shard's job keeps only one uint64 hash per band and document (`band_hashes`), and the
decision job reads one band at a time (`near_duplicates`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from krelectra.errors import KrelectraError

MIX = np.uint64(0x9E3779B97F4A7C15)  # 2^64 / golden ratio (odd): combines a band's rows
BATCH_DOCUMENTS = 4096


@dataclass(frozen=True)
class NearDupOptions:
    """`corpus.near_dedup` (workflow/schemas/corpus.schema.yaml)."""

    enabled: bool = True
    ngram: int = 5
    bands: int = 14
    rows: int = 8
    seed: int = 1

    @classmethod
    def from_dict(cls, values: dict) -> NearDupOptions:
        """Raises KrelectraError naming an unknown key or a value that is not a positive integer."""
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise KrelectraError(f"corpus.near_dedup: unknown option(s) {', '.join(sorted(unknown))}")
        options = cls(**values)
        if not isinstance(options.enabled, bool):
            raise KrelectraError(f"corpus.near_dedup.enabled: {options.enabled!r} is not true or false")
        for name in ("ngram", "bands", "rows", "seed"):
            value = getattr(options, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < (0 if name == "seed" else 1):
                raise KrelectraError(f"corpus.near_dedup.{name}: {value!r} is not a positive integer")
        return options

    @property
    def num_perm(self) -> int:
        return self.bands * self.rows

    @property
    def threshold(self) -> float:
        """The Jaccard similarity at which a pair becomes a candidate with probability about
        one half: (1 / bands)^(1 / rows)."""
        return (1.0 / self.bands) ** (1.0 / self.rows)


def shingles(sentences: list[str], ngram: int) -> list[str]:
    """Word n-grams of a document (whitespace words); a document shorter than n words is
    one shingle."""
    words = " ".join(sentences).split()
    return [" ".join(words[i : i + ngram]) for i in range(max(1, len(words) - ngram + 1))]


def band_hashes(documents: list[list[str]], options: NearDupOptions) -> np.ndarray:
    """One uint64 hash per document and band of the documents' MinHash signatures: shape
    (len(documents), bands). Equal band hashes mean (up to a 2^-64 chance) equal rows."""
    import rensa

    result = np.zeros((len(documents), options.bands), dtype=np.uint64)
    for start in range(0, len(documents), BATCH_DOCUMENTS):
        batch = documents[start : start + BATCH_DOCUMENTS]
        matrix = rensa.RMinHash.digest_matrix_from_token_sets(
            [shingles(d, options.ngram) for d in batch], options.num_perm, options.seed
        )
        signature = np.asarray(matrix.to_rows(), dtype=np.uint64).reshape(len(batch), options.bands, options.rows)
        combined = np.zeros((len(batch), options.bands), dtype=np.uint64)
        with np.errstate(over="ignore"):
            for row in range(options.rows):
                combined = (combined ^ signature[:, :, row]) * MIX
        result[start : start + len(batch)] = combined
    return result


def read_band_hashes(path: Path, documents: int) -> np.ndarray:
    """The band hashes of a shard's `documents` documents, memory-mapped: the file is raw
    little-endian uint64, documents x bands, row-major (written a batch at a time by the
    clean step). Raises KrelectraError when its size does not fit `documents`."""
    size = Path(path).stat().st_size
    if documents == 0 or size == 0:
        if size != documents:
            raise KrelectraError(f"{path}: {size} bytes of band hashes for {documents} documents; out of date")
        return np.zeros((0, 0), dtype="<u8")
    bands, rest = divmod(size, 8 * documents)
    if rest or bands == 0:
        raise KrelectraError(
            f"{path}: {size} bytes are not a whole number of band hashes for the shard's {documents} "
            "documents; the clean step is out of date"
        )
    return np.memmap(path, dtype="<u8", mode="r", shape=(documents, bands))


def near_duplicates(band_files: list[Path], eligible: list[np.ndarray]) -> tuple[list[np.ndarray], int]:
    """Which eligible documents are near-duplicates of an earlier one, per shard (bool
    arrays), and the number of clusters of two or more documents.

    `band_files` holds each shard's band hashes (`read_band_hashes`); `eligible` a bool
    per document of each shard (documents left after exact deduplication and
    decontamination). Only one band of all shards is in memory at a time, plus one int64
    per document for the clusters. Raises KrelectraError when a file and its mask disagree."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    arrays = [read_band_hashes(path, len(mask)) for path, mask in zip(band_files, eligible)]
    widths = {a.shape[1] for a in arrays if len(a)}
    if len(widths) > 1:
        raise KrelectraError(f"band hash files with different band counts {sorted(widths)}; rerun the clean step")
    offsets = np.cumsum([0] + [len(m) for m in eligible])
    total = int(offsets[-1])
    ids = np.concatenate([np.flatnonzero(m) + offsets[i] for i, m in enumerate(eligible)]).astype(np.int64)
    bands = widths.pop() if widths else 0
    sources, targets = [], []
    for band in range(bands):
        values = np.concatenate(
            [np.asarray(a[:, band])[m] if len(a) else np.zeros(0, dtype="<u8") for a, m in zip(arrays, eligible)]
        )
        order = np.argsort(values, kind="stable")
        ordered = values[order]
        starts = np.r_[True, ordered[1:] != ordered[:-1]]
        first = order[np.maximum.accumulate(np.where(starts, np.arange(len(order)), 0))]
        pair = first != order
        sources.append(ids[first[pair]])
        targets.append(ids[order[pair]])
    source = np.concatenate(sources) if sources else np.zeros(0, dtype=np.int64)
    target = np.concatenate(targets) if targets else np.zeros(0, dtype=np.int64)
    graph = coo_matrix((np.ones(len(source), dtype=np.int8), (source, target)), shape=(total, total))
    _, labels = connected_components(graph, directed=False)
    # every component keeps its smallest (first) document; components of one are untouched
    first_of = np.full(total, total, dtype=np.int64)
    np.minimum.at(first_of, labels[ids], ids)
    duplicate = np.zeros(total, dtype=bool)
    duplicate[ids] = first_of[labels[ids]] != ids
    sizes = np.bincount(labels[ids], minlength=int(labels.max()) + 1 if total else 0)
    clusters = int((sizes > 1).sum())
    return [duplicate[offsets[i] : offsets[i + 1]] for i in range(len(eligible))], clusters
