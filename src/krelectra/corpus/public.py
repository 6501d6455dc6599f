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

import re
from dataclasses import dataclass
from pathlib import Path

from krelectra.download import Expected, fetch
from krelectra.errors import KrelectraError
from krelectra.io import write_json

GITHUB_BASE_URL = "https://raw.githubusercontent.com"
WIKIMEDIA_BASE_URL = "https://dumps.wikimedia.org"

CC_BY_SA_4 = "CC BY-SA 4.0"
CC_BY_SA_4_URL = "https://creativecommons.org/licenses/by-sa/4.0/"

# How a downloaded file becomes plain text for corpus_partition.
AS_IS = "as-is"  # already one document per line
TEXT_COLUMN = "text-column"  # tab-separated; one column is the text
MEDIAWIKI = "mediawiki"  # a pages-articles XML dump: extract articles as plain text


@dataclass(frozen=True)
class PublicFile:
    """One file of a data set: its name in the download folder, the path below the base
    URL, what verifies it, and how it becomes text."""

    name: str
    url_path: str
    git_blob_sha1: str | None  # None: verified against the dump's sha1sums.txt
    extraction: str = AS_IS
    text_column: int | None = None  # 0-based column of a TEXT_COLUMN file


@dataclass(frozen=True)
class PublicDataset:
    """A public data set: what it is, under which licence, at which version, and its files."""

    name: str
    title: str
    kind: str  # "github" or "wikimedia": which base URL its files are under
    homepage: str
    licence: str
    licence_url: str
    version: str  # a pinned commit, or the dump date
    files: tuple[PublicFile, ...]
    checksums: str | None = None  # the dump's sha1sums.txt (name in the download folder)

    def url(self, file_name: str, base_urls: dict[str, str]) -> str:
        """Where `file_name` (one of its files, or its checksum list) is below the base
        URL of its kind ({"github": ..., "wikimedia": ...})."""
        file = next((f for f in self.files if f.name == file_name), None)
        folder = self.files[0].url_path.rsplit("/", 1)[0]
        path = file.url_path if file is not None else f"{folder}/{file_name}"
        return f"{base_urls[self.kind].rstrip('/')}/{path}"

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


def _github(name, title, repository, commit, licence, licence_url, files) -> PublicDataset:
    return PublicDataset(
        name=name,
        title=title,
        kind="github",
        homepage=f"https://github.com/{repository}",
        licence=licence,
        licence_url=licence_url,
        version=f"commit {commit}",
        files=tuple(
            PublicFile(path.rsplit("/", 1)[-1], f"{repository}/{commit}/{path}", blob, extraction, column)
            for path, blob, extraction, column in files
        ),
    )


HATE_SPEECH_COMMIT = "f8d05dce2b22007bb149e5139c0060c68ad8f94b"
BAB2MIN_COMMIT = "62f3097b6c6974cecda5571f2cd2b64aa3b7f01e"
BAB2MIN_LICENCE = "public domain (repository README)"

GITHUB_DATASETS = {
    dataset.name: dataset
    for dataset in (
        _github(
            "korean-hate-speech",
            "Korean Hate Speech, unlabeled comments (Moon et al., 2020)",
            "kocohub/korean-hate-speech",
            HATE_SPEECH_COMMIT,
            CC_BY_SA_4,
            CC_BY_SA_4_URL,
            [
                ("unlabeled/unlabeled_comments_1.txt", "67f65966c71da0a12a38c1e583a18a71230b9064", AS_IS, None),
                ("unlabeled/unlabeled_comments_2.txt", "300e2b1d86c104d16a9dd8bd9658ce1318bb93e6", AS_IS, None),
                ("unlabeled/unlabeled_comments_3.txt", "bc7093d383eaab2979caa6c3f1a75c72a9df3e91", AS_IS, None),
                ("unlabeled/unlabeled_comments_4.txt", "54adbac768bdf00985c177ecc762a194daa717b7", AS_IS, None),
                ("unlabeled/unlabeled_comments_5.txt", "0b68bd07ce849b933f6a67d4cf07c1eefcb623bb", AS_IS, None),
            ],
        ),
        _github(
            "naver-shopping",
            "Naver Shopping reviews (bab2min/corpus)",
            "bab2min/corpus",
            BAB2MIN_COMMIT,
            BAB2MIN_LICENCE,
            "https://github.com/bab2min/corpus",
            [("sentiment/naver_shopping.txt", "25afff322fd86ee54d7813acedafe4990d83b18c", TEXT_COLUMN, 1)],
        ),
        _github(
            "steam",
            "Steam game reviews (bab2min/corpus)",
            "bab2min/corpus",
            BAB2MIN_COMMIT,
            BAB2MIN_LICENCE,
            "https://github.com/bab2min/corpus",
            [("sentiment/steam.txt", "358da9142ab212ed3018e5bf53d099a166a31395", TEXT_COLUMN, 1)],
        ),
    )
}

WIKIMEDIA_PROJECTS = {
    "kowiki": "Korean Wikipedia",
    "kowikisource": "Korean Wikisource",
    "kowikinews": "Korean Wikinews",
}
DATASET_NAMES = (*GITHUB_DATASETS, *WIKIMEDIA_PROJECTS)


def wikimedia_dump(project: str, date: str) -> PublicDataset:
    """The pages-articles dump of a Wikimedia project on a dump date (YYYYMMDD)."""
    stem = f"{project}-{date}"
    return PublicDataset(
        name=project,
        title=f"{WIKIMEDIA_PROJECTS[project]} ({project}), pages-articles dump",
        kind="wikimedia",
        homepage=f"https://dumps.wikimedia.org/{project}/",
        licence=f"{CC_BY_SA_4} (and GFDL)",
        licence_url=CC_BY_SA_4_URL,
        version=f"dump {date}",
        files=(
            PublicFile(
                f"{stem}-pages-articles.xml.bz2", f"{project}/{date}/{stem}-pages-articles.xml.bz2", None, MEDIAWIKI
            ),
        ),
        checksums=f"{stem}-sha1sums.txt",
    )


def public_dataset(name: str, wikimedia_date: str | None, where: str = "corpus.sources") -> PublicDataset:
    """The data set called `name`; a Wikimedia project needs the dump date. Raises
    KrelectraError naming `where` and the known names."""
    if name in GITHUB_DATASETS:
        return GITHUB_DATASETS[name]
    if name in WIKIMEDIA_PROJECTS:
        if not wikimedia_date:
            raise KrelectraError(
                f"{where}: public data set {name!r} is a Wikimedia dump, but corpus.download.wikimedia_dump "
                "(the dump date, YYYYMMDD) is not set"
            )
        return wikimedia_dump(name, wikimedia_date)
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
) -> dict:
    """Fetch file `file_name` of `dataset` from `url` and verify it: against
    `git_blob_sha1` (a GitHub file at a pinned commit), or against the SHA-1 the dump's
    `checksums` list gives for it; the checksum list itself (`dataset.checksums`) is
    checked by its transfer only. Writes the provenance `record` (JSON: the data set's
    attribution, the URL, the size and digests, what verified it) after the file; both
    atomically. Raises KrelectraError naming the file, the URL and, on a mismatch, the
    expected and the actual checksum; when the server cannot be reached, also the target
    that downloads the public corpus."""
    name = f"{dataset.name}/{file_name}"
    if file_name == dataset.checksums:
        expected = Expected(name)
        verified_by = "transfer only (the dump's own checksum list)"
    elif file_name not in {f.name for f in dataset.files}:
        known = ", ".join(f.name for f in dataset.files)
        raise KrelectraError(f"public data set {dataset.name} has no file {file_name!r} (its files: {known})")
    elif git_blob_sha1 is not None:
        expected = Expected(name, git_blob_sha1=git_blob_sha1)
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
