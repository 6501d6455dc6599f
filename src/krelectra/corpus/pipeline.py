"""The corpus stage as four steps, each a Snakemake job (or a `krelectra corpus` command):

1. partition (per source): documents -> shard partitions      (documents.partition)
2. clean     (per shard):  documents -> cleaned sentences + sentence hashes
3. dedup     (once):       hashes of all shards -> which sentences to keep, and the
                           down-sampling fraction that balances written and spoken text
4. finalize  (per shard):  cleaned sentences -> the shard text the later stages read
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
from tqdm import tqdm

from krelectra.corpus.clean import Cleaner, CleaningOptions
from krelectra.corpus.sources import REGISTERS
from krelectra.errors import KrelectraError
from krelectra.hashing import stable_hash64, unit_interval
from krelectra.io import atomic_open, read_json, write_json


def clean_shard(partitions: list[Path], options: dict, output: Path, hashes: Path, stats_path: Path) -> dict:
    """Clean every document of one shard (from all sources, in source order)."""
    cleaner = Cleaner(CleaningOptions.from_dict(options))
    sentence_hashes, sentence_chars, sentence_register, sentence_doc = [], [], [], []
    documents = empty_documents = 0
    with atomic_open(output) as out:
        for partition in partitions:
            with open(partition, encoding="utf-8") as handle:
                for line in tqdm(handle, desc=f"clean {partition}", unit=" docs", mininterval=5):
                    record = json.loads(line)
                    sentences = cleaner.sentences(record["text"])
                    if not sentences:
                        empty_documents += 1
                        continue
                    register = REGISTERS.index(record["register"])
                    for sentence in sentences:
                        sentence_hashes.append(stable_hash64(sentence))
                        sentence_chars.append(len(sentence))
                        sentence_register.append(register)
                        sentence_doc.append(documents)
                    out.write(
                        json.dumps(
                            {"register": record["register"], "origin": record["origin"], "sentences": sentences},
                            ensure_ascii=False,
                        )
                        + "\n"
                    )
                    documents += 1
    with atomic_open(hashes, "wb") as handle:
        np.savez(
            handle,
            hash=np.asarray(sentence_hashes, dtype=np.uint64),
            chars=np.asarray(sentence_chars, dtype=np.int64),
            register=np.asarray(sentence_register, dtype=np.uint8),
            document=np.asarray(sentence_doc, dtype=np.int64),
        )
    stats = {
        "documents": documents,
        "sentences": len(sentence_hashes),
        "dropped": {
            "empty_document": empty_documents,
            "too_short": cleaner.counts.pop("dropped_too_short", 0),
            "too_long": cleaner.counts.pop("dropped_too_long", 0),
        },
        "cleaning": dict(sorted(cleaner.counts.items())),
    }
    write_json(stats_path, stats)
    return stats


def _first_occurrences(hashes: list[np.ndarray], buckets: int) -> list[np.ndarray]:
    """Keep-masks that keep the first occurrence of every sentence, in shard order.

    Memory is bounded by one hash bucket at a time (about 1/buckets of all hashes), so
    the whole corpus never has to fit in memory."""
    keep = [np.zeros(len(h), dtype=bool) for h in hashes]
    for bucket in tqdm(range(buckets), desc="dedup buckets", mininterval=5):
        value_parts, shard_parts, position_parts = [], [], []
        for shard, h in enumerate(hashes):
            where = np.flatnonzero(h % np.uint64(buckets) == np.uint64(bucket))
            value_parts.append(h[where])
            shard_parts.append(np.full(len(where), shard, dtype=np.int64))
            position_parts.append(where)
        values = np.concatenate(value_parts)
        if not len(values):
            continue
        shard_ids, positions = np.concatenate(shard_parts), np.concatenate(position_parts)
        # Rows are already in (shard, position) order; np.unique returns each value's first row.
        _, first = np.unique(values, return_index=True)
        first_shards, first_positions = shard_ids[first], positions[first]
        for shard in range(len(hashes)):
            keep[shard][first_positions[first_shards == shard]] = True
    return keep


def balance_fractions(chars: dict[str, int], spoken_ratio: float | None) -> dict[str, float]:
    """The fraction of documents to keep per register so that spoken text is
    `spoken_ratio` of all characters (the paper: written and spoken in equal shares).
    Only the larger side is down-sampled."""
    fractions = dict.fromkeys(REGISTERS, 1.0)
    if spoken_ratio is None:
        return fractions
    written, spoken = chars["written"], chars["spoken"]
    if written == 0 or spoken == 0:
        missing = "written" if written == 0 else "spoken"
        raise KrelectraError(
            f"corpus.spoken_ratio is {spoken_ratio} but no {missing} text is left after "
            "cleaning; add a source of that register or set spoken_ratio to null"
        )
    if spoken / (written + spoken) > spoken_ratio:
        fractions["spoken"] = spoken_ratio * written / ((1 - spoken_ratio) * spoken)
    else:
        fractions["written"] = (1 - spoken_ratio) * spoken / (spoken_ratio * written)
    return fractions


def empty_corpus_message(hash_files: list[Path]) -> str:
    """Why the corpus has no sentence, from the clean stats that `clean_shard` writes beside
    each shard's hash file (`<shard>.json` beside `<shard>.npz`, outputs of the same job):
    the sources gave no document at all (an empty source adds nothing, so every source was
    empty or matched no text), or cleaning dropped every sentence. Names the folders of the
    stats to read (`<corpus>/partitions`, `<corpus>/cleaned`, in the run's results folder)."""
    cleaned = hash_files[0].parent
    partitions = cleaned.parent / "partitions"
    clean_stats = [path.with_suffix(".json") for path in hash_files if path.with_suffix(".json").is_file()]
    documents, dropped = 0, Counter[str]()
    for path in clean_stats:
        stats = read_json(path)
        documents += stats["documents"] + stats["dropped"]["empty_document"]
        dropped.update(stats["dropped"])
    if clean_stats and documents == 0:
        return (
            "the corpus is empty: the sources gave no text (every file of corpus.sources is empty or holds "
            f"only white space); see the documents per source in {partitions}/*.json and check corpus.sources"
        )
    reasons = ", ".join(f"{reason.replace('_', ' ')} {n}" for reason, n in sorted(dropped.items()) if n)
    return (
        f"the corpus is empty after cleaning: cleaning dropped every sentence of the "
        f"{documents if clean_stats else 'given'} documents"
        + (f" ({reasons})" if reasons else "")
        + f"; see the clean stats in {cleaned}/*.json and loosen corpus.cleaning"
    )


def dedup(
    hash_files: list[Path],
    keep_outputs: list[Path],
    plan_path: Path,
    *,
    deduplicate: bool,
    buckets: int,
    spoken_ratio: float | None,
) -> dict:
    """Corpus-wide exact sentence deduplication (first occurrence kept) and the register
    balance: one keep-mask per shard's hash file, and the plan.

    Raises KrelectraError when the hash files and keep outputs differ in number, or when
    no sentence is left (naming the folder of the stats and whether the sources gave no
    text at all or cleaning dropped every sentence)."""
    if len(hash_files) != len(keep_outputs):
        raise KrelectraError(
            f"dedup: {len(hash_files)} hash files but {len(keep_outputs)} keep outputs; "
            "give one keep output per shard, in the same order"
        )
    arrays = [np.load(path) for path in hash_files]
    hashes = [a["hash"] for a in arrays]
    if deduplicate:
        keep = _first_occurrences(hashes, buckets)
    else:
        keep = [np.ones(len(h), dtype=bool) for h in hashes]
    chars = dict.fromkeys(REGISTERS, 0)
    for a, k in zip(arrays, keep):
        for index, register in enumerate(REGISTERS):
            chars[register] += int(a["chars"][k & (a["register"] == index)].sum())
    kept = int(sum(k.sum() for k in keep))
    if kept == 0:
        raise KrelectraError(empty_corpus_message([Path(path) for path in hash_files]))
    fractions = balance_fractions(chars, spoken_ratio)
    for path, k in zip(keep_outputs, keep):
        with atomic_open(path, "wb") as handle:
            np.save(handle, k)
    plan = {
        "sentences_before_dedup": int(sum(len(h) for h in hashes)),
        "sentences_after_dedup": kept,
        "characters_after_dedup": chars,
        "spoken_ratio_target": spoken_ratio,
        "keep_fraction": fractions,
    }
    write_json(plan_path, plan)
    return plan


def keeps_document(sentences: list[str], register: str, fractions: dict[str, float]) -> bool:
    fraction = fractions[register]
    return fraction >= 1.0 or unit_interval("\n".join(sentences), salt="balance:") < fraction


def finalize(
    cleaned: Path, keep_path: Path, plan_path: Path, clean_stats_path: Path, output: Path, stats_path: Path
) -> dict:
    """Write the shard: one sentence per line, an empty line between documents."""
    keep = np.load(keep_path)
    fractions = read_json(plan_path)["keep_fraction"]
    clean_stats = read_json(clean_stats_path)
    counts: dict[str, Counter[str]] = {r: Counter() for r in REGISTERS}
    dropped = Counter(clean_stats["dropped"])
    position = 0
    with atomic_open(output) as out, open(cleaned, encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            sentences = record["sentences"]
            mask = keep[position : position + len(sentences)]
            position += len(sentences)
            dropped["duplicate"] += int((~mask).sum())
            sentences = [s for s, k in zip(sentences, mask) if k]
            if not sentences:
                continue
            register = record["register"]
            if not keeps_document(sentences, register, fractions):
                dropped[f"balance_{register}"] += len(sentences)
                continue
            text = "\n".join(sentences) + "\n\n"
            out.write(text)
            c = counts[register]
            c["documents"] += 1
            c["sentences"] += len(sentences)
            c["characters"] += sum(len(s) for s in sentences)
            c["bytes"] += len("\n".join(sentences).encode("utf-8"))
    if position != len(keep):
        raise KrelectraError(
            f"{keep_path}: keep-mask has {len(keep)} entries but {cleaned} has {position} "
            "sentences; the dedup step is out of date"
        )
    stats = {
        "registers": {r: dict(sorted(c.items())) for r, c in counts.items()},
        "dropped_sentences": dict(sorted(dropped.items())),
        "cleaning": clean_stats["cleaning"],
    }
    for key in ("documents", "sentences", "characters", "bytes"):
        stats[key] = sum(c[key] for c in counts.values())
    write_json(stats_path, stats)
    return stats


def summarize(shard_stats: list[Path], partition_stats: list[Path], plan_path: Path, output: Path) -> dict:
    """Totals over all shards, per register and per drop reason, and the achieved ratio."""
    totals: Counter[str] = Counter()
    dropped: Counter[str] = Counter()
    cleaning: Counter[str] = Counter()
    registers: dict[str, Counter[str]] = {r: Counter() for r in REGISTERS}
    for path in shard_stats:
        stats = read_json(path)
        for key in ("documents", "sentences", "characters", "bytes"):
            totals[key] += stats[key]
        dropped.update(stats["dropped_sentences"])
        cleaning.update(stats["cleaning"])
        for register, values in stats["registers"].items():
            registers[register].update(values)
    sources = [read_json(p) for p in partition_stats]
    chars = {r: registers[r]["characters"] for r in REGISTERS}
    plan = read_json(plan_path)
    summary = {
        **totals,
        "shards": len(shard_stats),
        "registers": {r: dict(sorted(c.items())) for r, c in registers.items()},
        "spoken_ratio_target": plan["spoken_ratio_target"],
        "spoken_ratio_achieved": chars["spoken"] / max(1, sum(chars.values())),
        "dropped_sentences": dict(sorted(dropped.items())),
        "cleaning": dict(sorted(cleaning.items())),
        "sources": {
            s["source"]: {k: s[k] for k in ("register", "bytes", "documents", "invalid_utf8_sequences_replaced")}
            for s in sources
        },
    }
    if attribution := public_attribution(sources):
        summary["attribution"] = attribution
    write_json(output, summary)
    return summary


def public_attribution(partition_stats: list[dict]) -> list[dict]:
    """What the corpus owes its public data sets (CC BY-SA's attribution): per data set, in
    the order of the sources, its title, homepage, licence, version, the sources that use
    it, and the files downloaded with their URL, size and SHA-1. From the download records
    the partition stats carry under `public`."""
    datasets: dict[str, dict] = {}
    for stats in partition_stats:
        for record in stats.get("public", []):
            entry = datasets.setdefault(
                record["dataset"],
                {
                    **{k: record[k] for k in ("dataset", "title", "homepage", "licence", "licence_url", "version")},
                    "sources": [],
                    "files": [],
                    "bytes": 0,
                },
            )
            if stats["source"] not in entry["sources"]:
                entry["sources"].append(stats["source"])
            entry["files"].append({k: record[k] for k in ("file", "url", "bytes", "sha1", "verified_by")})
            entry["bytes"] += record["bytes"]
    return list(datasets.values())
