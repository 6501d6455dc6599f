"""Fetch the upstream task files from their pinned address and verify them.

Each file is checked against the git blob SHA-1 of `resources/finetune/manifest.tsv`
(and its byte size and SHA-256 where those are known) by `krelectra.download.fetch`,
the verified download every download rule uses: the bytes go to a temporary file that
is renamed into place only once verified, so a mismatch or a broken transfer never
leaves a file behind; the error names the task file and the address.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from krelectra.download import MANIFEST_FACTS, PinnedFile, fetch, git_blob_sha1, read_pinned_files
from krelectra.errors import KrelectraError

log = logging.getLogger(__name__)

MANIFEST_COLUMNS = ["task", *MANIFEST_FACTS]

# The manifest shipped with the project (src/krelectra/finetune -> repository root).
PROJECT_MANIFEST = Path(__file__).resolve().parents[3] / "resources" / "finetune" / "manifest.tsv"


def read_manifest(path: str | os.PathLike) -> dict[tuple[str, str], PinnedFile]:
    """{(task, file): facts} from a manifest TSV (header `task file url git_blob_sha1 bytes sha256`;
    bytes and sha256 may be empty when unknown)."""
    return read_pinned_files(path, "task")


def download(
    task: str,
    file: str,
    output: str | os.PathLike,
    manifest: str | os.PathLike = PROJECT_MANIFEST,
    base_url: str | None = None,
    timeout: float = 60.0,
) -> Path:
    """Fetch `<task>/<file>` from its pinned address in `manifest` (or from
    `<base_url>/<task>/<file>`, e.g. a mirror) and verify it."""
    entries = read_manifest(manifest)
    if (task, file) not in entries:
        known = ", ".join(f"{t}/{f}" for t, f in entries)
        raise KrelectraError(f"{manifest}: no entry for {task}/{file} (known: {known})")
    upstream = entries[(task, file)]
    url = f"{base_url.rstrip('/')}/{task}/{file}" if base_url else upstream.url
    fetch(url, output, upstream.expected, timeout=timeout)
    return Path(output)


def upstream_identity(
    task: str, files: dict[str, Path], manifest: str | os.PathLike = PROJECT_MANIFEST
) -> tuple[bool | None, dict[str, str]]:
    """Whether `files` (upstream file name -> path) of `task` are the upstream files, byte
    for byte: (every git blob SHA-1 equals the manifest's, {name: git blob SHA-1}). The
    first is None when the manifest cannot be read (an installation without it), so
    nothing is claimed. The paper's tables compare only runs on the upstream files."""
    blobs = {name: git_blob_sha1(path) for name, path in files.items()}
    try:
        entries = read_manifest(manifest)
    except KrelectraError as error:
        log.warning("cannot tell whether the %s files are the upstream ones: %s", task, error)
        return None, blobs
    same = all((task, name) in entries and entries[(task, name)].git_blob_sha1 == blob for name, blob in blobs.items())
    return same, blobs
