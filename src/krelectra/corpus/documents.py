"""Reading raw source files as documents, and sending each document to a shard.

Files are read as UTF-8 with invalid byte sequences replaced (and counted), so a
stray Latin-1 byte in a 10 GB crawl never stops the run.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from krelectra.hashing import stable_hash64
from krelectra.io import atomic_open, write_json

REPLACEMENT = "\ufffd"


@dataclass
class Document:
    origin: str  # "<file>:<first line>", so any output line can be traced to its source
    text: str


class InvalidBytesCounter:
    def __init__(self) -> None:
        self.count = 0

    def lines(self, path: Path) -> Iterator[str]:
        with open(path, encoding="utf-8", errors="replace", newline=None) as handle:
            for line in handle:
                # A genuine U+FFFD in the input is counted too; it is removed when cleaning.
                self.count += line.count(REPLACEMENT)
                yield line.rstrip("\n")


def read_documents(path: Path, mode: str, counter: InvalidBytesCounter) -> Iterator[Document]:
    """Documents of one file: the whole file, blank-line separated paragraphs, or lines."""
    if mode == "file":
        lines = list(counter.lines(path))
        text = "\n".join(lines).strip()
        if text:
            yield Document(f"{path}:1", text)
        return
    block: list[str] = []
    start = 1
    for number, line in enumerate(counter.lines(path), start=1):
        if mode == "line":
            if line.strip():
                yield Document(f"{path}:{number}", line)
            continue
        if line.strip():
            if not block:
                start = number
            block.append(line)
        elif block:
            yield Document(f"{path}:{start}", "\n".join(block))
            block = []
    if block:
        yield Document(f"{path}:{start}", "\n".join(block))


def shard_of(document_text: str, num_shards: int) -> int:
    """A stable hash of the text decides the shard: identical documents meet in one shard."""
    return stable_hash64(document_text) % num_shards


def partition(
    source_name: str, register: str, mode: str, files: list[Path], outputs: list[Path], stats_path: Path
) -> dict:
    """Write each document of one source as a JSON line into its shard's partition file."""
    num_shards = len(outputs)
    counter = InvalidBytesCounter()
    per_shard = [0] * num_shards
    documents = raw_bytes = 0
    # Open every partition at once; the ExitStack renames them into place together,
    # or removes them all if anything fails.
    with contextlib.ExitStack() as stack:
        files_out = [stack.enter_context(atomic_open(path)) for path in outputs]
        for path in files:
            raw_bytes += path.stat().st_size
            for doc in read_documents(path, mode, counter):
                shard = shard_of(doc.text, num_shards)
                record = {"source": source_name, "register": register, "origin": doc.origin, "text": doc.text}
                files_out[shard].write(json.dumps(record, ensure_ascii=False) + "\n")
                per_shard[shard] += 1
                documents += 1
    stats = {
        "source": source_name,
        "register": register,
        "files": [str(p) for p in files],
        "bytes": raw_bytes,
        "documents": documents,
        "documents_per_shard": per_shard,
        "invalid_utf8_sequences_replaced": counter.count,
    }
    write_json(stats_path, stats)
    return stats
