"""Fingerprints of training runs: resume only the state that belongs to this run.

A resumable stage (pretraining, finetuning) keeps its working state in a folder that
Snakemake does not own, and writes `fingerprint.json` there: a JSON object of everything
that determines the run (the resolved settings that change what is computed, and the
SHA-256 of each input file). A rerun compares its own fingerprint with the saved one:

- equal: the state is this run's, and it is resumed;
- different: `check_state` raises one KrelectraError that names what changed (dotted keys,
  files) and the two ways on: restore what changed, or start afresh with the stage's
  restart switch, which moves the old folder aside (`move_aside`: a timestamped sibling,
  never deleted).

A folder that holds no resumable state (e.g. a run killed before its first checkpoint) is
moved aside without asking: there is nothing to resume in it, and nothing is lost.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from krelectra.errors import KrelectraError
from krelectra.io import read_json, write_json

log = logging.getLogger(__name__)
FINGERPRINT_FILE = "fingerprint.json"
FORMAT = 1  # raise when the fingerprint's layout changes: older ones then differ
RESUME, FRESH, MOVE_ASIDE = "resume", "fresh", "move aside"
# Files hashed at once by `files_sha256`: the cores this process may use, at most 8 (SHA-256 takes one
# core per file; more threads than cores only queue).
HASH_WORKERS = min(8, len(os.sched_getaffinity(0)))


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of the file's bytes. Raises KrelectraError naming the file when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as error:
        raise KrelectraError(f"{path}: cannot read it to fingerprint the run ({error.strerror})") from None


def file_keys(paths) -> list[str]:
    """The key of each of `paths` in `files_sha256`: the name alone (a run moved to another
    folder is the same run); the full path where two names are equal."""
    paths = [Path(p) for p in paths]
    names = [p.name for p in paths]
    return [p.name if names.count(p.name) == 1 else str(p) for p in paths]


def files_sha256(paths, workers: int = HASH_WORKERS) -> dict[str, str]:
    """{`file_keys` key: SHA-256} of `paths`. Up to `workers` files are hashed at once in
    threads (hashlib and file reads release the GIL): on the recipe's tens of GB of
    examples, the start of a run waits for the disk's rate instead of one core's."""
    paths = [Path(p) for p in paths]
    with ThreadPoolExecutor(max(1, min(workers, len(paths)))) as pool:
        digests = list(pool.map(file_sha256, paths))
    return dict(zip(file_keys(paths), digests, strict=True))


def _flat(value, prefix: str = "") -> dict:
    if isinstance(value, dict) and value:
        out: dict = {}
        for key, item in value.items():
            out.update(_flat(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def differences(saved: dict, current: dict) -> list[str]:
    """What differs between two fingerprints, one line per dotted key: `key: old -> new`,
    `key: added (new)` or `key: removed (was old)`. Hashes are shortened to 12 digits."""

    def show(value) -> str:
        if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
            return f"sha256 {value[:12]}"
        return repr(value)

    old, new = _flat(saved), _flat(current)
    lines = []
    for key in sorted(set(old) | set(new)):
        if key not in new:
            lines.append(f"{key}: removed (was {show(old[key])})")
        elif key not in old:
            lines.append(f"{key}: added ({show(new[key])})")
        elif old[key] != new[key]:
            lines.append(f"{key}: {show(old[key])} -> {show(new[key])}")
    return lines


def aside_path(folder: Path, stamp: str | None = None) -> Path:
    """The timestamped sibling `folder` moves to: `<name>.<UTC time>` (a counter added where taken)."""
    stamp = stamp or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = folder.with_name(f"{folder.name}.{stamp}")
    count = 1
    while target.exists():
        count += 1
        target = folder.with_name(f"{folder.name}.{stamp}-{count}")
    return target


def move_aside(folder: Path, stamp: str | None = None) -> Path | None:
    """Rename `folder` to its `aside_path`; return where it went (None when it does not exist)."""
    folder = Path(folder)
    if not folder.exists():
        return None
    target = aside_path(folder, stamp)
    folder.rename(target)
    log.warning("moved %s aside to %s (nothing deleted)", folder, target)
    return target


def check_state(folder: Path, fingerprint: dict, has_state: bool, restart: bool, switch: str) -> str:
    """Whether the working state in `folder` may be resumed by the run of `fingerprint`.

    Returns RESUME (the saved fingerprint equals `fingerprint`, and there is state to
    resume), FRESH (nothing of another run in `folder`: start at the beginning in it), or
    MOVE_ASIDE (another run's folder that the caller must `move_aside` before it starts
    afresh: `restart` was asked for, or the folder holds nothing resumable). `switch` names
    the restart switch in the error. Raises KrelectraError naming every difference when the
    folder holds another run's state and `restart` is false. Writes nothing (the caller
    writes, e.g. only the chief of several workers)."""
    folder = Path(folder)
    saved_path = folder / FINGERPRINT_FILE
    saved = read_json(saved_path) if saved_path.is_file() else None
    if saved == fingerprint:
        return RESUME if has_state else FRESH
    if not folder.exists() or (saved is None and not has_state):
        return FRESH
    if not has_state or restart:
        return MOVE_ASIDE
    if saved is None:
        what = [f"{saved_path}: missing (the state was written by an older krelectra or by hand)"]
    else:
        what = differences(saved, fingerprint)
    raise KrelectraError(
        f"{folder}: the saved state belongs to another run; changed since it was written:\n  "
        + "\n  ".join(what)
        + f"\nEither restore what changed to resume it, or start afresh with {switch}, which moves "
        f"{folder} aside to {folder.name}.<UTC time> (nothing is deleted)."
    )


def write_fingerprint(folder: Path, fingerprint: dict) -> None:
    write_json(Path(folder) / FINGERPRINT_FILE, fingerprint)
