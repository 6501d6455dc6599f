"""Openly licensed Korean text the workflow can download, verify and extract itself.

A corpus source names these data sets in `public:` (config `corpus.sources`); the corpus
rules (workflow/rules/corpus_data.smk) then fetch every file with the verified download
of `krelectra.download`, turn it into plain text where it is not, and hand the text to
`corpus_partition` like any other file. Facts (addresses, pinned commits, git blob SHA-1s,
licences, sizes) from the data sets' repositories and the Wikimedia dump layout:

- kocohub/korean-hate-speech, `unlabeled/unlabeled_comments_{1..5}.txt` at commit
  f8d05dce: 2,033,893 comments from a Korean entertainment-news platform, one per line,
  offered "for pretraining language model" (its README); CC BY-SA 4.0.
- bab2min/corpus, `sentiment/naver_shopping.txt` (200,000 Naver Shopping reviews,
  `rating<TAB>text`) and `sentiment/steam.txt` (100,000 Steam reviews, `label<TAB>text`)
  at commit 62f3097b; public domain (the repository's README). Only the text field is kept.
- Wikimedia's `pages-articles` dumps of kowiki (Wikipedia), kowikisource (Wikisource:
  statutes, court decisions, historical documents) and kowikinews (Wikinews), at
  `<base>/<project>/<YYYYMMDD>/<project>-<YYYYMMDD>-pages-articles.xml.bz2`, verified
  against the SHA-1 in the same folder's `<project>-<YYYYMMDD>-sha1sums.txt`; CC BY-SA 4.0
  (and GFDL). The dump date is the config's `corpus.download.wikimedia_dump`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from krelectra.download import Expected, fetch, read_pinned_files
from krelectra.errors import KrelectraError
from krelectra.io import write_json

WIKIMEDIA_BASE_URL = "https://dumps.wikimedia.org"
# The pinned addresses and git blob SHA-1s of the GitHub files (src/krelectra/corpus ->
# repository root); the workflow reads <workflow>/resources/corpus/manifest.tsv.
PROJECT_MANIFEST = Path(__file__).resolve().parents[3] / "resources" / "corpus" / "manifest.tsv"
MANIFEST_GROUP = "dataset"

CC_BY_SA_4 = "CC BY-SA 4.0"
CC_BY_SA_4_URL = "https://creativecommons.org/licenses/by-sa/4.0/"

# How a downloaded file becomes plain text for corpus_partition.
AS_IS = "as-is"  # already one document per line
TEXT_COLUMN = "text-column"  # tab-separated; one column is the text
MEDIAWIKI = "mediawiki"  # a pages-articles XML dump: extract articles as plain text


@dataclass(frozen=True)
class PublicFile:
    """One file of a data set: its name in the download folder, its address, what
    verifies it, and how it becomes text."""

    name: str
    url: str
    git_blob_sha1: str | None  # None: verified against the dump's sha1sums.txt
    extraction: str = AS_IS
    text_column: int | None = None  # 0-based column of a TEXT_COLUMN file
    bytes: int | None = None  # its size where the manifest gives it


@dataclass(frozen=True)
class PublicDataset:
    """A public data set: what it is, under which licence, at which version, and its files."""

    name: str
    title: str
    kind: str  # "github" or "wikimedia"
    homepage: str
    licence: str
    licence_url: str
    version: str  # a pinned commit, or the dump date
    files: tuple[PublicFile, ...]
    checksums: tuple[str, str] | None = None  # a dump's sha1sums.txt: (name, URL)

    def url(self, file_name: str) -> str:
        """The address of one of its files or of its checksum list."""
        if self.checksums is not None and file_name == self.checksums[0]:
            return self.checksums[1]
        return next(f.url for f in self.files if f.name == file_name)

    def attribution(self) -> dict[str, str]:
        """What a user of text from this data set must credit (CC BY-SA's attribution)."""
        return {
            "dataset": self.name,
            "title": self.title,
            "homepage": self.homepage,
            "licence": self.licence,
            "licence_url": self.licence_url,
            "version": self.version,
        }


@dataclass(frozen=True)
class GitHubFacts:
    title: str
    repository: str
    commit: str
    licence: str
    licence_url: str
    extraction: str = AS_IS
    text_column: int | None = None


BAB2MIN_LICENCE = "public domain (repository README)"
GITHUB_DATASETS = {
    "korean-hate-speech": GitHubFacts(
        "Korean Hate Speech, unlabeled comments (Moon et al., 2020)",
        "kocohub/korean-hate-speech",
        "f8d05dce2b22007bb149e5139c0060c68ad8f94b",
        CC_BY_SA_4,
        CC_BY_SA_4_URL,
    ),
    "naver-shopping": GitHubFacts(
        "Naver Shopping reviews (bab2min/corpus)",
        "bab2min/corpus",
        "62f3097b6c6974cecda5571f2cd2b64aa3b7f01e",
        BAB2MIN_LICENCE,
        "https://github.com/bab2min/corpus",
        TEXT_COLUMN,
        1,
    ),
    "steam": GitHubFacts(
        "Steam game reviews (bab2min/corpus)",
        "bab2min/corpus",
        "62f3097b6c6974cecda5571f2cd2b64aa3b7f01e",
        BAB2MIN_LICENCE,
        "https://github.com/bab2min/corpus",
        TEXT_COLUMN,
        1,
    ),
}

WIKIMEDIA_PROJECTS = {
    "kowiki": "Korean Wikipedia",
    "kowikisource": "Korean Wikisource",
    "kowikinews": "Korean Wikinews",
}
DATASET_NAMES = (*GITHUB_DATASETS, *WIKIMEDIA_PROJECTS)


def github_dataset(name: str, manifest: str | os.PathLike = PROJECT_MANIFEST) -> PublicDataset:
    """A data set of GitHub files: its facts, and its files' addresses and git blob SHA-1s
    from `manifest` (a `dataset file url git_blob_sha1 bytes sha256` TSV)."""
    facts = GITHUB_DATASETS[name]
    files = tuple(
        PublicFile(entry.file, entry.url, entry.git_blob_sha1, facts.extraction, facts.text_column, entry.bytes)
        for (group, _), entry in read_pinned_files(manifest, MANIFEST_GROUP).items()
        if group == name
    )
    if not files:
        raise KrelectraError(f"{manifest}: lists no file of the public data set {name}")
    return PublicDataset(
        name=name,
        title=facts.title,
        kind="github",
        homepage=f"https://github.com/{facts.repository}",
        licence=facts.licence,
        licence_url=facts.licence_url,
        version=f"commit {facts.commit}",
        files=files,
    )


def wikimedia_dump(project: str, date: str, base_url: str = WIKIMEDIA_BASE_URL) -> PublicDataset:
    """The pages-articles dump of a Wikimedia project on a dump date (YYYYMMDD), at
    `<base_url>/<project>/<date>/` (dumps.wikimedia.org or a mirror with its layout)."""
    stem = f"{project}-{date}"
    folder = f"{base_url.rstrip('/')}/{project}/{date}"
    dump = f"{stem}-pages-articles.xml.bz2"
    return PublicDataset(
        name=project,
        title=f"{WIKIMEDIA_PROJECTS[project]} ({project}), pages-articles dump",
        kind="wikimedia",
        homepage=f"{WIKIMEDIA_BASE_URL}/{project}/",
        licence=f"{CC_BY_SA_4} (and GFDL)",
        licence_url=CC_BY_SA_4_URL,
        version=f"dump {date}",
        files=(PublicFile(dump, f"{folder}/{dump}", None, MEDIAWIKI),),
        checksums=(f"{stem}-sha1sums.txt", f"{folder}/{stem}-sha1sums.txt"),
    )


def public_dataset(
    name: str,
    wikimedia_dump_date: str | None,
    wikimedia_base_url: str = WIKIMEDIA_BASE_URL,
    manifest: str | os.PathLike = PROJECT_MANIFEST,
    where: str = "corpus.sources",
) -> PublicDataset:
    """The data set called `name`; a Wikimedia project needs the dump date. Raises
    KrelectraError naming `where` and the known names."""
    if name in GITHUB_DATASETS:
        return github_dataset(name, manifest)
    if name in WIKIMEDIA_PROJECTS:
        if not wikimedia_dump_date:
            raise KrelectraError(
                f"{where}: public data set {name!r} is a Wikimedia dump, but corpus.download.wikimedia_dump "
                "(the dump date, YYYYMMDD) is not set"
            )
        return wikimedia_dump(name, wikimedia_dump_date, wikimedia_base_url)
    raise KrelectraError(f"{where}: unknown public data set {name!r} (known: {', '.join(DATASET_NAMES)})")


# -- where the workflow keeps them (one place for the rules and the package) ------------


def download_path(corpus_dir: str | Path, dataset: PublicDataset, name: str) -> str:
    """A downloaded file: <corpus>/download/<data set>/<file name>."""
    return f"{corpus_dir}/download/{dataset.name}/{name}"


def record_path(download: str) -> str:
    """The provenance record written beside a verified download (URL, size, digests)."""
    return f"{download}.json"


def text_path(corpus_dir: str | Path, dataset: PublicDataset, file: PublicFile) -> str:
    """The plain text corpus_partition reads for `file`: the download itself when it is
    text already, else the extracted text under <corpus>/extracted/<data set>/."""
    if file.extraction == AS_IS:
        return download_path(corpus_dir, dataset, file.name)
    if file.extraction == MEDIAWIKI:
        return f"{corpus_dir}/extracted/{dataset.name}/{file.name.removesuffix('.xml.bz2')}.txt"
    return f"{corpus_dir}/extracted/{dataset.name}/{file.name}"


# -- fetching them ----------------------------------------------------------------------

SHA1SUMS_LINE = re.compile(r"^([0-9a-f]{40})\s+\*?(\S+)$")


def dump_sha1(checksums: str | Path, file_name: str) -> str:
    """The SHA-1 a Wikimedia dump's `sha1sums.txt` (lines `<sha1>  <file name>`) lists for
    `file_name`. Raises KrelectraError naming the list and line when a line is malformed
    or the file is not listed."""
    checksums = Path(checksums)
    try:
        lines = checksums.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise KrelectraError(f"{checksums}: cannot read the dump's checksum list: {error}") from error
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        match = SHA1SUMS_LINE.match(line.strip())
        if match is None:
            raise KrelectraError(f"{checksums}:{number}: not a '<sha1>  <file name>' line: {line[:80]!r}")
        if match.group(2) == file_name:
            return match.group(1)
    raise KrelectraError(f"{checksums}: lists no SHA-1 for {file_name} (is it the checksum list of that dump?)")


def download_public_file(
    dataset: PublicDataset,
    file_name: str,
    url: str,
    output: str | Path,
    record: str | Path,
    git_blob_sha1: str | None = None,
    checksums: str | Path | None = None,
    timeout: float = 60.0,
    size: int | None = None,
) -> dict:
    """Fetch file `file_name` of `dataset` from `url` and verify it: against
    `git_blob_sha1` (a GitHub file at a pinned commit; and its `size` in bytes where
    known), or against the SHA-1 the dump's
    `checksums` list gives for it; the checksum list itself (`dataset.checksums`) is
    checked by its transfer only. Writes the provenance `record` (JSON: the data set's
    attribution, the URL, the size and digests, what verified it) after the file; both
    atomically. Raises KrelectraError naming the file, the URL and, on a mismatch, the
    expected and the actual checksum; when the server cannot be reached, also the target
    that downloads the public corpus."""
    name = f"{dataset.name}/{file_name}"
    if dataset.checksums is not None and file_name == dataset.checksums[0]:
        expected = Expected(name)
        verified_by = "transfer only (the dump's own checksum list)"
    elif file_name not in {f.name for f in dataset.files}:
        known = ", ".join(f.name for f in dataset.files)
        raise KrelectraError(f"public data set {dataset.name} has no file {file_name!r} (its files: {known})")
    elif git_blob_sha1 is not None:
        expected = Expected(name, git_blob_sha1=git_blob_sha1, bytes=size)
        verified_by = f"git blob SHA-1 {git_blob_sha1} ({dataset.version})"
    elif checksums is not None:
        expected = Expected(name, sha1=dump_sha1(checksums, file_name))
        verified_by = f"SHA-1 listed in {Path(checksums).name}"
    else:
        raise KrelectraError(f"{name}: give the git blob SHA-1 it must have, or the dump's checksum list")
    try:
        facts = fetch(url, output, expected, timeout=timeout)
    except KrelectraError as error:
        if "cannot connect" in str(error):
            raise KrelectraError(
                f"{error}. The public corpus is downloaded by the target corpus_data: run "
                "`snakemake corpus_data --configfile <your config>` where there is network, then bring "
                f"its folder {Path(output).parent.parent} to this machine"
            ) from None
        raise
    write_json(record, {**dataset.attribution(), "file": file_name, **facts, "verified_by": verified_by})
    return facts
