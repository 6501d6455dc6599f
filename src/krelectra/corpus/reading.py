"""Reading the final shards: one sentence per line, an empty line between documents."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path


def read_shard_documents(path: str | Path) -> Iterator[list[str]]:
    """Documents of a shard file, each as its list of sentences."""
    document: list[str] = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.rstrip("\n")
            if line:
                document.append(line)
            elif document:
                yield document
                document = []
    if document:
        yield document
