"""Evaluation text in the pretraining corpus: the n-gram index of the evaluation splits,
the per-shard scan, and the audit that reduces the scans.

Unit: character n-grams of a *simplified* text, the unit of GPT-4's contamination check
(OpenAI 2023, arXiv 2303.08774, appendix C: characters after removing all spaces and
symbols). `simplify` keeps letters and digits only (NFC, then Python's `\\w` without the
underscore), lower-cases, and shortens a character repeated more than twice to two (the
corpus cleaning does the same to ㅋㅋㅋㅋ, `corpus.cleaning.max_char_repeat`). Korean is
typed with arbitrary spacing, so the same comment re-spaced or with other punctuation
simplifies to the same string and is found; whitespace-word n-grams (GPT-3,
lm-evaluation-harness, datatrove) miss it (docs/contamination.md has the measurement).

An example is *contaminated* when any of its n-grams occurs in a corpus document (GPT-3's
"dirty", Brown et al. 2020, arXiv 2005.14165, appendix C). Its *overlap* is the share of
its simplified characters that lie inside an n-gram found in the corpus (Llama 2 counts
tokens inside matched spans the same way, Touvron et al. 2023, arXiv 2307.09288, A.6):
clean below 20%, dirty from 80%. An example with fewer than n characters after
simplification has no n-gram and is reported as too short to judge.

The evaluation splits are those a score is reported on: every task's test file, and the
dev file of the tasks that have one (PAWS, KorNLI, KorSTS, Question Pair); a dev split
carved out of a training file is training text. KorQuAD is audited in two parts:
questions with their answers (one example per question), and contexts (one example per
distinct paragraph), as GPT-3 reported reading-comprehension passages apart.

Hashes: a polynomial rolling hash of the code points modulo 2^64 (numpy integer
arithmetic, which wraps), identical on every machine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from krelectra.corpus.audit_format import CLEAN_BELOW, CONTEXTS, DIRTY_FROM, QUESTION_ANSWERS, TEXT
from krelectra.errors import KrelectraError
from krelectra.io import atomic_open, read_json, write_json
from krelectra.text import normalise

NOT_LETTER_OR_DIGIT = re.compile(r"[\W_]+")
LONG_REPEAT = re.compile(r"(.)\1{2,}")
BASE = np.uint64(0x100000001B3)  # the FNV-1 64-bit prime: odd, so every code point matters
EVALUATED_SPLITS = ("dev", "test")
# Documents are scanned in batches of about this many simplified characters.
BATCH_CHARS = 1 << 20


def simplify(text: str) -> str:
    """`text` in NFC with everything but letters and digits removed, lower-cased, and any
    character repeated more than twice shortened to two. Raises nothing; may be empty."""
    text = NOT_LETTER_OR_DIGIT.sub("", normalise(text)).lower()
    return LONG_REPEAT.sub(r"\1\1", text)


def _codes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)


def window_hashes(codes: np.ndarray, n: int) -> np.ndarray:
    """Hashes of every window of n consecutive code points (uint64, length len(codes) - n + 1,
    empty when shorter than n): sum over j of codes[i + j] * BASE^(n - 1 - j) mod 2^64."""
    count = len(codes) - n + 1
    if count <= 0:
        return np.zeros(0, dtype=np.uint64)
    hashes = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(n):
            hashes = hashes * BASE + codes[j : j + count]
    return hashes


def text_ngrams(text: str, n: int) -> np.ndarray:
    """The n-gram hashes of one already simplified text, in order of position."""
    return window_hashes(_codes(text), n)


# -- the evaluation examples -------------------------------------------------------------


@dataclass
class Example:
    task: str
    split: str
    part: str
    indices: list[int]  # the split's examples it stands for, by reader position (a context: its questions)
    texts: list[str]  # simplified; n-grams never cross from one text to the next


def _texts(problem: str, example: dict) -> list[str]:
    if problem == "token_classification":
        return [" ".join(example["words"])]
    if "text_pair" in example:
        return [example["text"], example["text_pair"]]
    return [example["text"]]


def evaluation_files(tasks: list[str]) -> dict[str, list[str]]:
    """{task: the file names of its evaluated splits}, the files the audit reads (the
    rules' inputs). Raises KrelectraError for an unknown task."""
    from krelectra.finetune.tasks import get_task

    return {
        name: [file for split in EVALUATED_SPLITS if (file := get_task(name).files[split]) is not None]
        for name in tasks
    }


def evaluation_examples(data_dir: Path, tasks: list[str]) -> Iterator[Example]:
    """The examples of every evaluated split (module docstring) of `tasks`, read with each
    task's reader from `data_dir/<task>/<file>`. Raises KrelectraError for an unknown task
    or a file its reader refuses."""
    from krelectra.finetune.tasks import get_task

    for name in tasks:
        task = get_task(name)
        for split in EVALUATED_SPLITS:
            file = task.files[split]
            if file is None:
                continue
            examples = task.reader(Path(data_dir) / name / file).examples
            if task.problem != "extractive_qa":
                for i, example in enumerate(examples):
                    yield Example(name, split, TEXT, [i], [simplify(t) for t in _texts(task.problem, example)])
                continue
            contexts: dict[str, list[int]] = {}
            for i, example in enumerate(examples):
                texts = [example["question"], *(a["text"] for a in example["answers"])]
                yield Example(name, split, QUESTION_ANSWERS, [i], [simplify(t) for t in texts])
                contexts.setdefault(example["context"], []).append(i)
            for context, questions in contexts.items():
                yield Example(name, split, CONTEXTS, questions, [simplify(context)])


def build_index(data_dir: Path, tasks: list[str], n: int, index_path: Path, examples_path: Path) -> dict:
    """Write the index of the evaluation n-grams: `index_path` (.npz: `grams`, sorted unique
    uint64 hashes; `tasks`, a uint16 bit mask per gram of the tasks holding it, bit i for
    `task_names[i]`) and `examples_path` (JSON: n, tasks, and every example with its simplified
    texts). Returns the counts written. Raises KrelectraError for n < 1."""
    if n < 1:
        raise KrelectraError(f"corpus.contamination.ngram: {n} must be at least 1")
    if len(tasks) > 16:
        raise KrelectraError(f"contamination index: at most 16 tasks, got {len(tasks)}")
    examples = list(evaluation_examples(data_dir, tasks))
    parts, owners = [], []
    for example in examples:
        for text in example.texts:
            grams = text_ngrams(text, n)
            parts.append(grams)
            owners.append(np.full(len(grams), 1 << tasks.index(example.task), dtype=np.uint16))
    all_grams = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)
    all_owners = np.concatenate(owners) if owners else np.zeros(0, dtype=np.uint16)
    grams, inverse = np.unique(all_grams, return_inverse=True)
    masks = np.zeros(len(grams), dtype=np.uint16)
    np.bitwise_or.at(masks, inverse, all_owners)
    with atomic_open(index_path, "wb") as handle:
        np.savez(handle, grams=grams, tasks=masks, task_names=np.asarray(tasks, dtype=str))
    write_json(
        examples_path,
        {
            "ngram": n,
            "tasks": tasks,
            "examples": [
                {"task": e.task, "split": e.split, "part": e.part, "indices": e.indices, "texts": e.texts}
                for e in examples
            ],
        },
    )
    return {"examples": len(examples), "ngrams": len(grams)}


# The scan's prefilter: one bit per value of a hash's top FILTER_BITS bits (16 MiB), set
# for the index's n-grams; only windows whose bit is set are looked up (binary search).
FILTER_BITS = 27


@dataclass
class EvaluationIndex:
    """The n-gram index as the scan uses it."""

    n: int
    tasks: list[str]
    grams: np.ndarray  # sorted unique uint64
    task_masks: np.ndarray  # uint16 per gram

    def __post_init__(self):
        slots = (self.grams >> np.uint64(64 - FILTER_BITS)).astype(np.int64)
        self._filter = np.zeros(1 << (FILTER_BITS - 3), dtype=np.uint8)
        np.bitwise_or.at(self._filter, slots >> 3, (1 << (slots & 7)).astype(np.uint8))

    @classmethod
    def load(cls, index_path: Path, examples_path: Path) -> EvaluationIndex:
        meta = read_json(examples_path)
        with np.load(index_path) as data:
            return cls(int(meta["ngram"]), list(meta["tasks"]), data["grams"], data["tasks"])

    def lookup(self, hashes: np.ndarray) -> np.ndarray:
        """For each hash, its position in `grams`, or -1 when it is not an evaluation n-gram."""
        result = np.full(len(hashes), -1, dtype=np.int64)
        if not len(self.grams):
            return result
        slots = (hashes >> np.uint64(64 - FILTER_BITS)).astype(np.int64)
        candidates = np.flatnonzero((self._filter[slots >> 3] >> (slots & 7).astype(np.uint8)) & 1)
        if len(candidates):
            position = np.searchsorted(self.grams, hashes[candidates])
            position[position == len(self.grams)] = 0
            found = self.grams[position] == hashes[candidates]
            result[candidates[found]] = position[found]
        return result


class Scanner:
    """Finds the evaluation n-grams in the documents of one shard, in batches.

    `add(document_index, text)` queues a document; `hits()` returns the (document, gram)
    pairs found, each pair once, as two int64 arrays (gram: a position in the index)."""

    def __init__(self, index: EvaluationIndex):
        self.index = index
        self._texts: list[str] = []
        self._documents: list[int] = []
        self._queued = 0
        self._found: list[np.ndarray] = []

    def add(self, document: int, text: str) -> None:
        simple = simplify(text)
        if len(simple) < self.index.n:
            return
        self._texts.append(simple)
        self._documents.append(document)
        self._queued += len(simple)
        if self._queued >= BATCH_CHARS:
            self._flush()

    def _flush(self) -> None:
        if not self._texts:
            return
        n = self.index.n
        lengths = np.fromiter((len(t) for t in self._texts), dtype=np.int64, count=len(self._texts))
        codes = _codes("".join(self._texts))
        owner = np.repeat(np.asarray(self._documents, dtype=np.int64), lengths)
        hashes = window_hashes(codes, n)
        # A window belongs to one document when its first and last character do.
        inside = owner[: len(hashes)] == owner[n - 1 :]
        position = self.index.lookup(hashes)
        found = inside & (position >= 0)
        if found.any():
            self._found.append(np.stack([owner[: len(hashes)][found], position[found]], axis=1))
        self._texts, self._documents, self._queued = [], [], 0

    def hits(self) -> tuple[np.ndarray, np.ndarray]:
        self._flush()
        if not self._found:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        pairs = np.unique(np.concatenate(self._found), axis=0)
        self._found = [pairs]
        return pairs[:, 0].copy(), pairs[:, 1].copy()


def read_index_tasks(index_path: Path) -> list[str]:
    """The task names of an index, in the order of the bits of its task masks."""
    with np.load(index_path) as data:
        return [str(name) for name in data["task_names"]]


def write_hits(path: Path, documents: np.ndarray, grams: np.ndarray) -> None:
    with atomic_open(path, "wb") as handle:
        np.savez(handle, document=documents, gram=grams)


def read_hits(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path) as data:
            return data["document"], data["gram"]
    except (OSError, KeyError, ValueError) as error:
        raise KrelectraError(f"{path}: not a file of evaluation n-gram hits ({error})") from None


def contaminated_documents(hits: Path, task_masks: np.ndarray, documents: int) -> tuple[np.ndarray, np.ndarray]:
    """(bool per document of the shard: holds an evaluation n-gram; uint16 task bit mask per
    document). Raises KrelectraError when a hit names a document the shard does not have."""
    doc, gram = read_hits(hits)
    if len(doc) and int(doc.max()) >= documents:
        raise KrelectraError(
            f"{hits}: a hit names document {int(doc.max())} but the shard has {documents}; the scan is out of date"
        )
    masks = np.zeros(documents, dtype=np.uint16)
    np.bitwise_or.at(masks, doc, task_masks[gram])
    return masks > 0, masks


# -- the audit ---------------------------------------------------------------------------


def overlap(texts: Iterable[str], n: int, found: np.ndarray, grams: np.ndarray) -> tuple[int, int, int]:
    """(characters, characters inside a found n-gram, found n-grams) of one example;
    `found` is a bool per index gram."""
    chars = covered = matched = 0
    for text in texts:
        hashes = text_ngrams(text, n)
        chars += len(text)
        if not len(hashes):
            continue
        position = np.searchsorted(grams, hashes)
        hit = found[np.minimum(position, len(grams) - 1)] & (grams[np.minimum(position, len(grams) - 1)] == hashes)
        matched += int(hit.sum())
        if hit.any():
            # character c is covered when a found window starts in [c - n + 1, c]
            starts = np.zeros(len(text) + 1, dtype=np.int64)
            np.add.at(starts, np.flatnonzero(hit), 1)
            np.add.at(starts, np.flatnonzero(hit) + n, -1)
            covered += int((np.cumsum(starts)[: len(text)] > 0).sum())
    return chars, covered, matched


def audit(index_path: Path, examples_path: Path, hit_files: list[Path], output: Path) -> dict:
    """Reduce the per-shard hits into the audit (JSON at `output`): per task, split and part
    the examples, those too short to judge, and of the others the contaminated ones (any
    n-gram found), the clean/dirty buckets by overlap, the mean overlap, and the indices of the contaminated
    examples (for scores on the clean subset). Returns the audit."""
    index = EvaluationIndex.load(index_path, examples_path)
    meta = read_json(examples_path)
    found = np.zeros(len(index.grams), dtype=bool)
    documents = 0
    for path in hit_files:
        doc, gram = read_hits(path)
        if len(gram) and int(gram.max()) >= len(found):
            raise KrelectraError(f"{path}: hits name n-grams the index does not have; the scan is out of date")
        found[gram] = True
        documents += len(np.unique(doc))
    n = index.n
    groups: dict[tuple[str, str, str], dict] = {}
    for example in meta["examples"]:
        key = (example["task"], example["split"], example["part"])
        group = groups.setdefault(
            key,
            {
                "task": key[0],
                "split": key[1],
                "part": key[2],
                "examples": 0,
                "too_short": 0,
                "contaminated": 0,
                "clean": 0,
                "dirty": 0,
                "overlap_sum": 0.0,
                "contaminated_indices": [],
            },
        )
        group["examples"] += 1
        if all(len(t) < n for t in example["texts"]):
            group["too_short"] += 1
            continue
        chars, covered, matched = overlap(example["texts"], n, found, index.grams)
        share = covered / chars if chars else 0.0
        group["overlap_sum"] += share
        if matched:
            group["contaminated"] += 1
            group["contaminated_indices"].extend(example["indices"])
        if share < CLEAN_BELOW:
            group["clean"] += 1
        elif share >= DIRTY_FROM:
            group["dirty"] += 1
    rows = []
    for group in groups.values():
        judged = group["examples"] - group["too_short"]
        group["mean_overlap"] = group.pop("overlap_sum") / judged if judged else 0.0
        group["contaminated_share"] = group["contaminated"] / judged if judged else 0.0
        rows.append(group)
    report = {
        "unit": "characters of the text without whitespace and symbols",
        "ngram": n,
        "clean_below": CLEAN_BELOW,
        "dirty_from": DIRTY_FROM,
        "corpus_documents_with_evaluation_ngrams": documents,
        "evaluation_ngrams_found": int(found.sum()),
        "evaluation_ngrams": len(found),
        "splits": rows,
    }
    write_json(output, report)
    return report
