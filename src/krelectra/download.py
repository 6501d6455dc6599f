"""Verified downloads: fetch a file from its pinned address and keep it only if it is the
expected file, byte for byte.

One function, `fetch`, serves every download rule of the workflow (the finetuning task
files and the public corpus). The bytes go to a temporary file beside the output that is
renamed into place only once every given check passed (size, git blob SHA-1, SHA-1,
SHA-256), so a mismatch, a broken transfer or a crash never leaves a file behind. A
transient network failure (a timeout, a reset connection, a transfer cut short, HTTP 408,
429 or 5xx) is retried with exponential backoff, resuming with an HTTP Range request where
the server allows it; a failure that retrying cannot fix (HTTP 404, no route or name
resolution, a wrong checksum) stops at once. Every error names the file and the URL, and a
checksum error the expected and the actual value.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from krelectra.errors import KrelectraError
from krelectra.io import atomic_open

log = logging.getLogger(__name__)

CHUNK = 1 << 20
# HTTP statuses worth another try: request timeout, rate limiting, server-side errors.
TRANSIENT_HTTP = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Expected:
    """What a download must be. `name` is how errors and logs call the file; every check
    that is not None is applied (hex digests in lower case, `bytes` the exact size). With
    no check at all only the transfer is checked: that is for the checksum list of a
    Wikimedia dump, which is where the verification of the dump starts."""

    name: str
    git_blob_sha1: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    bytes: int | None = None


# A manifest of pinned files is a TSV: a grouping column (the finetuning task, the public
# data set), then these (bytes and sha256 may be empty when unknown).
MANIFEST_FACTS = ["file", "url", "git_blob_sha1", "bytes", "sha256"]


@dataclass(frozen=True)
class PinnedFile:
    """One file of a manifest: its pinned address and what it must be."""

    group: str
    file: str
    url: str
    git_blob_sha1: str
    bytes: int | None
    sha256: str | None

    @property
    def name(self) -> str:
        return f"{self.group}/{self.file}"

    @property
    def expected(self) -> Expected:
        """What `fetch` checks the download against."""
        return Expected(self.name, git_blob_sha1=self.git_blob_sha1, sha256=self.sha256, bytes=self.bytes)


def read_pinned_files(path: str | os.PathLike, group_column: str) -> dict[tuple[str, str], PinnedFile]:
    """{(group, file): facts} from a manifest TSV whose header is `group_column` then
    MANIFEST_FACTS. Raises KrelectraError naming the file and line of a malformed row."""
    path = Path(path)
    columns = [group_column, *MANIFEST_FACTS]
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise KrelectraError(f"{path}: cannot read the download manifest: {error.strerror or error}") from error
    if not lines or lines[0].split("\t") != columns:
        raise KrelectraError(f"{path}:1: manifest header should be {' '.join(columns)}")
    entries = {}
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != len(columns):
            raise KrelectraError(f"{path}:{number}: {len(fields)} columns, expected {len(columns)}")
        group, file, url, sha1, size, sha256 = fields
        if len(sha1) != 40 or any(c not in "0123456789abcdef" for c in sha1):
            raise KrelectraError(f"{path}:{number}: git_blob_sha1 {sha1!r} is not 40 lower-case hex digits")
        if size and not size.isdigit():
            raise KrelectraError(f"{path}:{number}: bytes {size!r} is not a whole number")
        if (group, file) in entries:
            raise KrelectraError(f"{path}:{number}: {group}/{file} is listed twice")
        entries[(group, file)] = PinnedFile(group, file, url, sha1, int(size) if size else None, sha256 or None)
    return entries


class _Transient(Exception):
    """A failure that another try may not meet (the message says what happened)."""


def git_blob_sha1(path: str | os.PathLike) -> str:
    """The id git gives the file's content: SHA-1 of `blob <size>\\0` followed by the bytes
    (`git hash-object`)."""
    path = Path(path)
    digest = hashlib.sha1(b"blob %d\0" % path.stat().st_size)
    return _digest_file(path, digest)


def file_digest(path: str | os.PathLike, algorithm: str) -> str:
    """Hex digest of the file's bytes with a hashlib algorithm ("sha1", "sha256")."""
    return _digest_file(Path(path), hashlib.new(algorithm))


def _digest_file(path: Path, digest) -> str:
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: str | os.PathLike, expected: Expected, where: str | None = None) -> dict[str, str | int]:
    """Check the file at `path` against `expected`; return its size and digests
    ({"bytes", "sha1", and "git_blob_sha1" / "sha256" where expected}). Raises
    KrelectraError naming `where` (default: the expected name), the expected and the
    actual value on the first mismatch."""
    path = Path(path)
    where = where or expected.name
    size = path.stat().st_size
    if expected.bytes is not None and size != expected.bytes:
        raise KrelectraError(f"{where}: {size} bytes, expected {expected.bytes}")
    facts: dict[str, str | int] = {"bytes": size, "sha1": file_digest(path, "sha1")}
    if expected.git_blob_sha1 is not None:
        facts["git_blob_sha1"] = git_blob_sha1(path)
    if expected.sha256 is not None:
        facts["sha256"] = file_digest(path, "sha256")
    for key, label in (("git_blob_sha1", "git blob SHA-1"), ("sha1", "SHA-1"), ("sha256", "SHA-256")):
        wanted = getattr(expected, key)
        if wanted is not None and facts[key] != wanted:
            raise KrelectraError(f"{where}: {label} mismatch: got {facts[key]}, expected {wanted}")
    return facts


def fetch(
    url: str,
    output: str | os.PathLike,
    expected: Expected,
    timeout: float = 60.0,
    attempts: int = 3,
    backoff: float = 1.0,
) -> dict[str, str | int]:
    """Download `url` to `output` and verify it against `expected`.

    Up to `attempts` tries for transient failures, waiting `backoff` x 2^(try - 1)
    seconds between them. Returns the provenance of the kept file: {"url", "bytes",
    "sha1", and "git_blob_sha1" / "sha256" where expected}. On any failure no file is
    left at `output` (a stale copy is removed first: it is not a verified one) and the
    KrelectraError names the file and the URL.
    """
    output = Path(output)
    output.unlink(missing_ok=True)
    where = f"{expected.name} (from {url})"
    with atomic_open(output, "wb") as handle:
        for attempt in range(1, attempts + 1):
            try:
                _transfer(url, handle, timeout, where)
                break
            except _Transient as error:
                if attempt == attempts:
                    raise KrelectraError(f"{where}: {error} (gave up after {attempts} tries)") from None
                wait = backoff * 2 ** (attempt - 1)
                log.warning("%s: %s; trying again in %g s (try %d of %d)", where, error, wait, attempt + 1, attempts)
                time.sleep(wait)
        handle.flush()
        facts = verify(handle.name, expected, where)
    log.info("%s: %d bytes verified", where, facts["bytes"])
    return {"url": url, **facts}


def _transfer(url: str, handle, timeout: float, where: str) -> None:
    """Append the rest of `url` to `handle` (a Range request when it already holds a part);
    raise _Transient for failures worth another try, KrelectraError for the others."""
    have = handle.tell()
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if have and response.status != 206:  # the server sends the whole file again
                handle.seek(0)
                handle.truncate()
                have = 0
            announced = response.headers.get("Content-Length")
            received = 0
            for chunk in iter(lambda: response.read(CHUNK), b""):
                handle.write(chunk)
                received += len(chunk)
    except urllib.error.HTTPError as error:
        if error.code in TRANSIENT_HTTP:
            raise _Transient(f"server answered HTTP {error.code} {error.reason}") from None
        raise KrelectraError(f"{where}: server answered HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        if isinstance(error.reason, (TimeoutError, socket.timeout, ConnectionResetError)):
            raise _Transient(f"cannot connect: {error.reason}") from None
        raise KrelectraError(f"{where}: cannot connect: {error.reason}") from None
    except (OSError, http.client.HTTPException) as error:
        raise _Transient(f"transfer broken: {error!r}") from None
    if announced is not None and announced.isdigit() and received != int(announced):
        raise _Transient(f"transfer broken: received {have + received} of {have + int(announced)} bytes")
