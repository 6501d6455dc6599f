"""Fetch the upstream task files from their pinned address and verify them.

Each file is checked against the git blob SHA-1 of `resources/finetune/manifest.tsv`
(and its byte size and SHA-256 where those are known). The bytes go to a temporary
file that is renamed into place only once verified, so a mismatch or a broken transfer
never leaves a file behind; the error names the task file and the address.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from krelectra.errors import KrelectraError
from krelectra.io import atomic_open

log = logging.getLogger(__name__)

MANIFEST_COLUMNS = ["task", "file", "url", "git_blob_sha1", "bytes", "sha256"]
CHUNK = 1 << 20

# The manifest shipped with the project (src/krelectra/finetune -> repository root).
PROJECT_MANIFEST = Path(__file__).resolve().parents[3] / "resources" / "finetune" / "manifest.tsv"


@dataclass(frozen=True)
class UpstreamFile:
    task: str
    file: str
    url: str
    git_blob_sha1: str
    bytes: int | None
    sha256: str | None

    @property
    def name(self) -> str:
        return f"{self.task}/{self.file}"


def read_manifest(path: str | os.PathLike) -> dict[tuple[str, str], UpstreamFile]:
    """{(task, file): facts} from a manifest TSV (header `task file url git_blob_sha1 bytes sha256`;
    bytes and sha256 may be empty when unknown)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise KrelectraError(f"{path}: cannot read the download manifest: {error.strerror or error}") from error
    if not lines or lines[0].split("\t") != MANIFEST_COLUMNS:
        raise KrelectraError(f"{path}:1: manifest header should be {' '.join(MANIFEST_COLUMNS)}")
    entries = {}
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != len(MANIFEST_COLUMNS):
            raise KrelectraError(f"{path}:{number}: {len(fields)} columns, expected {len(MANIFEST_COLUMNS)}")
        task, file, url, sha1, size, sha256 = fields
        if len(sha1) != 40 or any(c not in "0123456789abcdef" for c in sha1):
            raise KrelectraError(f"{path}:{number}: git_blob_sha1 {sha1!r} is not 40 lower-case hex digits")
        if size and not size.isdigit():
            raise KrelectraError(f"{path}:{number}: bytes {size!r} is not a whole number")
        if (task, file) in entries:
            raise KrelectraError(f"{path}:{number}: {task}/{file} is listed twice")
        entries[(task, file)] = UpstreamFile(task, file, url, sha1, int(size) if size else None, sha256 or None)
    return entries


def git_blob_sha1(path: str | os.PathLike) -> str:
    """The id git gives the file's content: SHA-1 of `blob <size>\\0` followed by the bytes."""
    path = Path(path)
    digest = hashlib.sha1(b"blob %d\0" % path.stat().st_size)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(url: str, output: str | os.PathLike, expected: UpstreamFile, timeout: float = 60.0) -> Path:
    """Download `url` to `output` and verify it against `expected`; on any failure no
    file is left at `output` and the error names the file."""
    output = Path(output)
    output.unlink(missing_ok=True)  # a stale copy is not a verified one
    where = f"{expected.name} (from {url})"
    with atomic_open(output, "wb") as handle:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                announced = response.headers.get("Content-Length")
                received = 0
                for chunk in iter(lambda: response.read(CHUNK), b""):
                    handle.write(chunk)
                    received += len(chunk)
        except urllib.error.HTTPError as error:
            raise KrelectraError(f"{where}: server answered HTTP {error.code} {error.reason}") from None
        except urllib.error.URLError as error:
            raise KrelectraError(f"{where}: cannot connect: {error.reason}") from None
        except (OSError, http.client.HTTPException) as error:
            raise KrelectraError(f"{where}: transfer broken: {error!r}") from None
        if announced is not None and announced.isdigit() and received != int(announced):
            raise KrelectraError(f"{where}: transfer broken: received {received} of {announced} bytes")
        handle.flush()
        _verify(Path(handle.name), expected, where)
    log.info("%s: %d bytes, git blob SHA-1 %s verified", expected.name, received, expected.git_blob_sha1)
    return output


def _verify(path: Path, expected: UpstreamFile, where: str) -> None:
    size = path.stat().st_size
    if expected.bytes is not None and size != expected.bytes:
        raise KrelectraError(f"{where}: {size} bytes, expected {expected.bytes}")
    sha1 = git_blob_sha1(path)
    if sha1 != expected.git_blob_sha1:
        raise KrelectraError(f"{where}: git blob SHA-1 mismatch: got {sha1}, expected {expected.git_blob_sha1}")
    if expected.sha256 is not None and (sha256 := _sha256(path)) != expected.sha256:
        raise KrelectraError(f"{where}: SHA-256 mismatch: got {sha256}, expected {expected.sha256}")


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
    expected = entries[(task, file)]
    url = f"{base_url.rstrip('/')}/{task}/{file}" if base_url else expected.url
    return fetch(url, output, expected, timeout=timeout)


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
