"""Reading the final shards: one sentence per line, an empty line between documents."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from krelectra.errors import KrelectraError


def read_shard_documents(path: str | Path) -> Iterator[list[str]]:
    """Documents of a shard file, each as its list of sentences. Raises KrelectraError
    naming the file and line when a line is not UTF-8."""
    document: list[str] = []
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as error:
                raise KrelectraError(f"{path}:{number}: not UTF-8 text ({error.reason})") from None
            if line:
                document.append(line)
            elif document:
                yield document
                document = []
    if document:
        yield document
