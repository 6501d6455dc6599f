"""Reading raw source files as documents, and sending each document to a shard.

Files are read as UTF-8 with invalid byte sequences replaced (and counted), so a
stray Latin-1 byte in a 10 GB crawl never stops the run. A file that is not UTF-8
text at all stops the run with its name: UTF-16 (a UTF-16 byte order mark), a legacy
encoding such as CP949/EUC-KR or a binary file (more invalid sequences than valid
non-ASCII characters), or binary data (NUL bytes in more than 10% of characters). A
UTF-8 byte order mark at the start of a file is not text and is dropped; CRLF and CR
line ends read as LF.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from krelectra.errors import KrelectraError
from krelectra.hashing import stable_hash64
from krelectra.io import atomic_open, write_json

REPLACEMENT = "\ufffd"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# A file with fewer invalid sequences (or NUL bytes) than this is never refused: a few
# stray bytes are replaced (NUL is removed with the control characters when cleaning).
MIN_INVALID_TO_REFUSE = 8
MAX_NUL_SHARE = 0.1


@dataclass
class Document:
    origin: str  # "<file>:<first line>", so any output line can be traced to its source
    text: str


class InvalidBytesCounter:
    """Reads files as UTF-8 lines, counting the invalid byte sequences it replaces, and
    refuses a file that is not UTF-8 text (see the module docstring)."""

    def __init__(self) -> None:
        self.count = 0

    def lines(self, path: Path) -> Iterator[str]:
        try:
            with open(path, "rb") as raw:
                start = raw.read(2)
            if start in UTF16_BOMS:
                raise KrelectraError(
                    f"{path}: UTF-16 text (byte order mark {start.hex(' ')}); convert it to UTF-8, "
                    f"e.g. iconv -f UTF-16 -t UTF-8"
                )
            handle = open(path, encoding="utf-8-sig", errors="replace", newline=None)  # noqa: SIM115
        except OSError as error:
            raise KrelectraError(f"{path}: cannot read: {error.strerror or error}") from error
        invalid = valid_non_ascii = nul = chars = 0
        first_invalid = None
        with handle:
            for number, line in enumerate(handle, start=1):
                # A genuine U+FFFD in the input is counted too; it is removed when cleaning.
                replaced = line.count(REPLACEMENT)
                if replaced and first_invalid is None:
                    first_invalid = number
                invalid += replaced
                chars += len(line)
                if not line.isascii():
                    valid_non_ascii += len(line) - len(line.encode("ascii", "ignore")) - replaced
                nul += line.count("\0")
                yield line.rstrip("\n")
        if invalid >= MIN_INVALID_TO_REFUSE and invalid > valid_non_ascii:
            raise KrelectraError(
                f"{path}:{first_invalid}: not UTF-8 text ({invalid} invalid byte sequences against "
                f"{valid_non_ascii} valid non-ASCII characters): a legacy encoding such as CP949/EUC-KR "
                f"(convert it: iconv -f CP949 -t UTF-8) or a binary file (remove it from the source's paths)"
            )
        if nul >= MIN_INVALID_TO_REFUSE and nul > MAX_NUL_SHARE * chars:
            raise KrelectraError(
                f"{path}: binary data ({nul} NUL bytes in {chars} characters); remove it from the source's paths"
            )
        self.count += invalid


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
    source_name: str,
    register: str,
    mode: str,
    files: list[Path],
    outputs: list[Path],
    stats_path: Path,
    provenance: list[dict] | None = None,
) -> dict:
    """Write each document of one source as a JSON line into its shard's partition file.
    `provenance`: the download records of the public data the files come from
    (krelectra.corpus.public), kept in the stats as `public` so that the attribution
    travels with the text."""
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
    if provenance:
        stats["public"] = provenance
    write_json(stats_path, stats)
    return stats
