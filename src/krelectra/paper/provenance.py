"""provenance.tsv: for each generated table (or figure), the files it was computed from
and their SHA-256, so every number can be traced back to the rule output it came from."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from krelectra.io import atomic_open

HEADER = ("output", "input", "sha256", "bytes")
CONFIG_INPUT = "(config: paper section)"


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def config_digest(config: dict) -> tuple[str, int]:
    """SHA-256 and size of the config section as canonical JSON (sorted keys)."""
    text = json.dumps(config, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(text).hexdigest(), len(text)


def write_provenance(path: str | os.PathLike, inputs: dict[str, list[Path]], config: dict | None = None) -> list[tuple]:
    """`inputs`: output name -> the files it read. Rows are sorted; paths as given (the
    rules give them relative to the working directory)."""
    rows = []
    config_row = config_digest(config) if config is not None else None
    for output in sorted(inputs):
        for file in sorted({str(p) for p in inputs[output]}):
            rows.append((output, file, sha256_file(file), os.path.getsize(file)))
        if config_row is not None:
            rows.append((output, CONFIG_INPUT, *config_row))
    with atomic_open(path) as handle:
        handle.write("\t".join(HEADER) + "\n")
        for row in rows:
            handle.write("\t".join(str(x) for x in row) + "\n")
    return rows


def read_provenance(path: str | os.PathLike) -> list[dict]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"))) for line in lines[1:] if line]
