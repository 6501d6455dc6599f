"""The corpus stage as four steps, each a Snakemake job (or a `krelectra corpus` command):

1. partition (per source): documents -> shard partitions      (documents.partition)
2. clean     (per shard):  documents -> cleaned sentences + sentence hashes, and per
                           document its MinHash band hashes and the evaluation n-grams
                           it holds (near_dup.py, contamination.py)
3. dedup     (once):       hashes of all shards -> which sentences to keep (exact dedup),
                           which documents to drop (evaluation text when decontaminating,
                           then near-duplicates), and the down-sampling fraction that
                           balances written and spoken text
4. finalize  (per shard):  cleaned sentences -> the shard text the later stages read
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from krelectra.corpus.clean import Cleaner, CleaningOptions
from krelectra.corpus.contamination import (
    EvaluationIndex,
    Scanner,
    contaminated_documents,
    read_index_tasks,
    write_hits,
)
from krelectra.corpus.near_dup import BATCH_DOCUMENTS, NearDupOptions, band_hashes, near_duplicates
from krelectra.corpus.sources import REGISTERS
from krelectra.errors import KrelectraError
from krelectra.hashing import stable_hash64, unit_interval
from krelectra.io import atomic_open, read_json, write_json


@dataclass
class DocumentOutputs:
    """The per-document outputs of a clean job beside the sentences: the evaluation n-grams
    found (`hits`, with the index to find them) and the MinHash band hashes (`bands`)."""

    index: EvaluationIndex | None = None
    hits: Path | None = None
    near_dup: NearDupOptions | None = None
    bands: Path | None = None


def clean_shard(
    partitions: list[Path],
    options: dict,
    output: Path,
    hashes: Path,
    stats_path: Path,
    documents_out: DocumentOutputs | None = None,
) -> dict:
    """Clean every document of one shard (from all sources, in source order); with
    `documents_out`, also scan each cleaned document for evaluation n-grams and compute
    its MinHash band hashes."""
    cleaner = Cleaner(CleaningOptions.from_dict(options))
    extra = documents_out or DocumentOutputs()
    scanner = Scanner(extra.index) if extra.index is not None and extra.hits is not None else None
    pending: list[list[str]] = []
    sentence_hashes, sentence_chars, sentence_register, sentence_doc = [], [], [], []
    documents = empty_documents = 0
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(atomic_open(output))
        # Band hashes go to disk batch by batch, so memory stays flat (format: near_dup.read_band_hashes).
        near = extra.near_dup if extra.bands is not None else None
        band_out = stack.enter_context(atomic_open(extra.bands, "wb")) if near is not None and extra.bands else None
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
                    if scanner is not None:
                        scanner.add(documents, "".join(sentences))
                    if band_out is not None and near is not None:
                        pending.append(sentences)
                        if len(pending) >= BATCH_DOCUMENTS:
                            band_out.write(band_hashes(pending, near).astype("<u8").tobytes())
                            pending = []
                    documents += 1
        if band_out is not None and near is not None and pending:
            band_out.write(band_hashes(pending, near).astype("<u8").tobytes())
    with atomic_open(hashes, "wb") as handle:
        np.savez(
            handle,
            hash=np.asarray(sentence_hashes, dtype=np.uint64),
            chars=np.asarray(sentence_chars, dtype=np.int64),
            register=np.asarray(sentence_register, dtype=np.uint8),
            document=np.asarray(sentence_doc, dtype=np.int64),
        )
    if scanner is not None and extra.hits is not None:
        write_hits(extra.hits, *scanner.hits())
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


# Why a whole document is left out of the corpus (the document codes the dedup step writes).
KEPT, NEAR_DUPLICATE, CONTAMINATED = 0, 1, 2
DOCUMENT_DROP_REASONS = {NEAR_DUPLICATE: "near_duplicate", CONTAMINATED: "contaminated"}


@dataclass
class DocumentDecisions:
    """Inputs and outputs of the document-level decisions of the dedup step: one file per
    shard of each list, in shard order. `hits` with `decontaminate` drops documents holding
    evaluation n-grams (`index`: the contamination index's .npz); `bands` drops
    near-duplicates; `codes` receives a uint8 per document (KEPT, NEAR_DUPLICATE,
    CONTAMINATED)."""

    codes: list[Path]
    hits: list[Path] | None = None
    index: Path | None = None
    decontaminate: bool = False
    bands: list[Path] | None = None


def _decide_documents(
    sentence_documents: list[np.ndarray], keep: list[np.ndarray], decisions: DocumentDecisions
) -> tuple[list[np.ndarray], dict]:
    """Document codes per shard and the counts for the plan (see `dedup`);
    `sentence_documents`: the document of every sentence, per shard."""
    documents = [int(d.max()) + 1 if len(d) else 0 for d in sentence_documents]
    codes = [np.zeros(n, dtype=np.uint8) for n in documents]
    counts: dict = {}
    if decisions.decontaminate:
        if decisions.hits is None or decisions.index is None:
            raise KrelectraError("dedup: decontamination needs the hits of every shard and the contamination index")
        with np.load(decisions.index) as data:
            task_masks = data["tasks"]
        tasks = read_index_tasks(decisions.index)
        per_task = dict.fromkeys(tasks, 0)
        sentences = 0
        for shard, (path, n) in enumerate(zip(decisions.hits, documents)):
            dirty, masks = contaminated_documents(path, task_masks, n)
            codes[shard][dirty] = CONTAMINATED
            sentences += int(dirty[sentence_documents[shard]].sum())
            for bit, task in enumerate(tasks):
                per_task[task] += int(((masks & (1 << bit)) > 0).sum())
        counts["decontamination"] = {
            "documents_removed": int(sum((c == CONTAMINATED).sum() for c in codes)),
            "sentences_removed": sentences,
            "documents_removed_per_task": per_task,
        }
    if decisions.bands is not None:
        eligible = []
        for d, k, c in zip(sentence_documents, keep, codes):
            has_kept = np.zeros(len(c), dtype=bool)
            has_kept[d[k]] = True
            eligible.append(has_kept & (c == KEPT))
        duplicate, clusters = near_duplicates(decisions.bands, eligible)
        for c, d in zip(codes, duplicate):
            c[d] = NEAR_DUPLICATE
        counts["near_dedup"] = {
            "documents_compared": int(sum(e.sum() for e in eligible)),
            "clusters": clusters,
            "documents_removed": int(sum(d.sum() for d in duplicate)),
        }
    return codes, counts


def dedup(
    hash_files: list[Path],
    keep_outputs: list[Path],
    plan_path: Path,
    *,
    deduplicate: bool,
    buckets: int,
    spoken_ratio: float | None,
    decisions: DocumentDecisions | None = None,
) -> dict:
    """The decision job: exact sentence dedup (first occurrence kept; keep masks), then with
    `decisions` the documents to drop (evaluation text, then near-duplicates among what is
    left), then the register balance over what remains: one keep-mask per shard's hash file,
    and the plan.

    Raises KrelectraError when the hash files and keep outputs differ in number, or when
    no sentence is left (naming the folder of the stats and the cause: the sources gave no
    text at all, cleaning dropped every sentence, or the document decisions did)."""
    if len(hash_files) != len(keep_outputs):
        raise KrelectraError(
            f"dedup: {len(hash_files)} hash files but {len(keep_outputs)} keep outputs; "
            "give one keep output per shard, in the same order"
        )
    for name in ("codes", "hits", "bands"):
        given = getattr(decisions, name, None)
        if given is not None and len(given) != len(hash_files):
            raise KrelectraError(f"dedup: {len(hash_files)} hash files but {len(given)} {name} files; one per shard")
    arrays = [np.load(path) for path in hash_files]
    hashes = [a["hash"] for a in arrays]
    if deduplicate:
        keep = _first_occurrences(hashes, buckets)
    else:
        keep = [np.ones(len(h), dtype=bool) for h in hashes]
    codes: list[np.ndarray] = []
    counts: dict = {}
    kept_masks = keep
    if decisions:
        sentence_documents = [a["document"] for a in arrays]
        codes, counts = _decide_documents(sentence_documents, keep, decisions)
        kept_masks = [k & (c[d] == KEPT) for d, k, c in zip(sentence_documents, keep, codes)]
    chars = dict.fromkeys(REGISTERS, 0)
    for a, k in zip(arrays, kept_masks):
        for index, register in enumerate(REGISTERS):
            chars[register] += int(a["chars"][k & (a["register"] == index)].sum())
    kept = int(sum(k.sum() for k in kept_masks))
    if kept == 0 and any(k.any() for k in keep):
        raise KrelectraError(
            "the corpus is empty after decontamination and near-duplicate removal: they dropped every "
            f"document left by cleaning ({counts}); see corpus.decontaminate and corpus.near_dedup"
        )
    if kept == 0:
        raise KrelectraError(empty_corpus_message([Path(path) for path in hash_files]))
    fractions = balance_fractions(chars, spoken_ratio)
    for path, k in zip(keep_outputs, keep):
        with atomic_open(path, "wb") as handle:
            np.save(handle, k)
    for path, c in zip(decisions.codes if decisions else [], codes):
        with atomic_open(path, "wb") as handle:
            np.save(handle, c)
    plan = {
        "sentences_before_dedup": int(sum(len(h) for h in hashes)),
        "sentences_after_dedup": int(sum(k.sum() for k in keep)),
        "characters_after_dedup": chars,
        "spoken_ratio_target": spoken_ratio,
        "keep_fraction": fractions,
        **counts,
    }
    write_json(plan_path, plan)
    return plan


def keeps_document(sentences: list[str], register: str, fractions: dict[str, float]) -> bool:
    fraction = fractions[register]
    return fraction >= 1.0 or unit_interval("\n".join(sentences), salt="balance:") < fraction


def finalize(
    cleaned: Path,
    keep_path: Path,
    plan_path: Path,
    clean_stats_path: Path,
    output: Path,
    stats_path: Path,
    codes_path: Path | None = None,
) -> dict:
    """Write the shard: one sentence per line, an empty line between documents. With
    `codes_path` (the dedup step's document codes), a document coded as contaminated or
    near-duplicate is left out; its sentences left after exact dedup are counted under
    that reason."""
    keep = np.load(keep_path)
    codes = np.load(codes_path) if codes_path is not None else None
    fractions = read_json(plan_path)["keep_fraction"]
    clean_stats = read_json(clean_stats_path)
    counts: dict[str, Counter[str]] = {r: Counter() for r in REGISTERS}
    dropped = Counter(clean_stats["dropped"])
    position = 0
    with atomic_open(output) as out, open(cleaned, encoding="utf-8") as handle:
        for document, line in enumerate(handle):
            record = json.loads(line)
            sentences = record["sentences"]
            mask = keep[position : position + len(sentences)]
            position += len(sentences)
            dropped["duplicate"] += int((~mask).sum())
            sentences = [s for s, k in zip(sentences, mask) if k]
            if not sentences:
                continue
            if codes is not None:
                if document >= len(codes):
                    raise KrelectraError(
                        f"{codes_path}: codes for {len(codes)} documents but {cleaned} has more; "
                        "the dedup step is out of date"
                    )
                if codes[document] != KEPT:
                    dropped[DOCUMENT_DROP_REASONS[int(codes[document])]] += len(sentences)
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
    # document-level decisions of the dedup step, when it made them
    summary.update({key: plan[key] for key in ("decontamination", "near_dedup") if key in plan})
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
