"""The public corpus (config/public.yaml): verified downloads, for real, from an HTTP server
on 127.0.0.1 that serves files the tests write in the upstream formats (comment and review
files, a MediaWiki pages-articles dump with its sha1sums.txt); the extraction of that dump;
attribution from the download records to the corpus statistics."""

from __future__ import annotations

import bz2
import functools
import hashlib
import http.server
import json
import threading
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest

from krelectra.corpus.extract import article_paragraphs, extract_mediawiki, extract_text_column
from krelectra.corpus.public import (
    DATASET_NAMES,
    PROJECT_MANIFEST,
    download_public_file,
    dump_sha1,
    github_dataset,
    public_dataset,
    wikimedia_dump,
)
from krelectra.corpus.sources import resolve_sources
from krelectra.download import Expected, fetch, read_pinned_files
from krelectra.errors import KrelectraError

# -- files in the upstream formats -------------------------------------------------------------

# Korean Hate Speech's unlabeled comments: one comment per line.
COMMENTS = "".join(f"배우 {i}번 연기 정말 좋았어요 ㅋㅋㅋㅋ\n" for i in range(40)).encode("utf-8")
# bab2min/corpus reviews: `rating<TAB>text` (Naver Shopping), `label<TAB>text` (Steam).
NAVER_SHOPPING = "5\t배송 빠르고 좋아요\n2\t생각보다 별로예요. 포장이 엉망\n4\t\n1\n".encode()
STEAM = "1\t스토리가 정말 재밌는 게임입니다\n0\t버그가 너무 많아요 환불합니다\n".encode()

SITEINFO = """  <siteinfo>
    <sitename>위키백과</sitename>
    <dbname>kowiki</dbname>
    <base>https://ko.wikipedia.org/wiki/</base>
    <generator>MediaWiki 1.44.0-wmf.1</generator>
    <case>first-letter</case>
    <namespaces>
      <namespace key="0" case="first-letter" />
      <namespace key="6" case="first-letter">파일</namespace>
      <namespace key="10" case="first-letter">틀</namespace>
      <namespace key="14" case="first-letter">분류</namespace>
    </namespaces>
  </siteinfo>
"""

# An article with an infobox and another template, a reference with a citation template
# inside, a named reference, a file link, a table, an HTML comment, a heading, and the
# appendix sections (같이 보기, 각주) with a category link.
SEOUL = """{{위키데이터 속성 추적}}
{{정보상자 도시
| 이름 = 서울특별시
| 인구 = 9,386,034
}}
'''서울특별시'''(서울特別市)는 [[대한민국]]의 [[수도]]이다.<ref>{{웹 인용|url=https://example.org|제목=통계}}</ref> \
한강이 도시를 가로지른다.
[[파일:Seoul skyline.jpg|thumb|서울의 야경]]
서울의 인구는 약 940만 명이다.<ref name="통계청">통계청, 2024년</ref>

== 역사 ==
조선의 수도는 [[한양|한양(漢陽)]]이었다.
{| class="wikitable"
! 연도 !! 인구
|-
| 1990 || 10,612,577
|}
<!-- 주석 -->일제강점기에는 경성부라 불렸다.

== 같이 보기 ==
* [[부산광역시]]

== 각주 ==
<references />

[[분류:대한민국의 도시]]
"""
HANGUL = """{{다른 뜻}}
'''한글'''은 [[세종]]이 만든 문자이다.

한글 자모는 24자로 이루어져 있다.
"""
DISAMBIGUATION = """'''서울'''은 다음을 가리킨다.
* [[서울특별시]]: 대한민국의 수도.
* [[서울 (노래)]]: 노래.
{{동음이의}}
"""
PAGES = [  # (title, namespace, wikitext, redirect target)
    ("서울특별시", 0, SEOUL, None),
    ("서울시", 0, "#넘겨주기 [[서울특별시]]", "서울특별시"),
    ("서울", 0, DISAMBIGUATION, None),
    ("대한민국의 도시 목록", 0, "* [[서울특별시]]\n* [[부산광역시]]\n", None),
    ("틀:정보상자 도시", 10, "{{정보상자 도시\n| 이름 = {{{이름}}}\n}}", None),
    ("한글", 0, HANGUL, None),
]
# What a reader of the two articles expects: one paragraph per line, an empty line between articles.
EXPECTED_TEXT = """서울특별시(서울特別市)는 대한민국의 수도이다. 한강이 도시를 가로지른다.
서울의 인구는 약 940만 명이다.
조선의 수도는 한양(漢陽)이었다.
일제강점기에는 경성부라 불렸다.

한글은 세종이 만든 문자이다.
한글 자모는 24자로 이루어져 있다.
"""


def export_xml(pages=PAGES) -> bytes:
    """A pages-articles dump in the MediaWiki export schema (0.11)."""
    parts = []
    for number, (title, namespace, text, redirect) in enumerate(pages, start=1):
        redirect_element = f"    <redirect title={quoteattr(redirect)} />\n" if redirect else ""
        parts.append(
            f"  <page>\n    <title>{escape(title)}</title>\n    <ns>{namespace}</ns>\n    <id>{number}</id>\n"
            f"{redirect_element}    <revision>\n      <id>{number * 10}</id>\n"
            "      <timestamp>2026-11-01T00:00:00Z</timestamp>\n"
            "      <contributor>\n        <username>Example</username>\n        <id>1</id>\n      </contributor>\n"
            "      <model>wikitext</model>\n      <format>text/x-wiki</format>\n"
            f'      <text bytes="{len(text.encode())}" xml:space="preserve">{escape(text)}</text>\n'
            f"      <sha1>{hashlib.sha1(text.encode()).hexdigest()}</sha1>\n    </revision>\n  </page>\n"
        )
    return (
        '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.mediawiki.org/xml/export-0.11/ '
        'http://www.mediawiki.org/xml/export-0.11.xsd" version="0.11" xml:lang="ko">\n'
        + SITEINFO
        + "".join(parts)
        + "</mediawiki>\n"
    ).encode("utf-8")


DUMP = bz2.compress(export_xml())
DATE = "20261101"


def sha1sums(project: str, dump: bytes = DUMP) -> bytes:
    """The dump folder's `<project>-<date>-sha1sums.txt`, as Wikimedia writes it."""
    lines = [
        f"{hashlib.sha1(b'other').hexdigest()}  {project}-{DATE}-pages-meta-current.xml.bz2",
        f"{hashlib.sha1(dump).hexdigest()}  {project}-{DATE}-pages-articles.xml.bz2",
    ]
    return ("\n".join(lines) + "\n").encode()


def blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


# -- a server on 127.0.0.1 ---------------------------------------------------------------------


class Server:
    """Serves `files` {path: bytes}; a path under /flaky/ is cut halfway on its first
    request, one under /truncated/ on every request; Range requests are answered (206)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[tuple[str, str | None]] = []
        served = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                served.requests.append((self.path, self.headers.get("Range")))
                body = served.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                cut = self.path.startswith("/truncated/") or (
                    self.path.startswith("/flaky/") and sum(p == self.path for p, _ in served.requests) == 1
                )
                start = 0
                if (wanted := self.headers.get("Range")) and wanted.startswith("bytes="):
                    start = int(wanted[len("bytes=") :].rstrip("-"))
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                self.wfile.write(body[start : start + (len(body) - start) // 2] if cut else body[start:])
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    served = Server()
    yield served
    served.close()


def closed_port_url() -> str:
    import socket

    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


# -- the verified download ---------------------------------------------------------------------


def test_a_transfer_cut_short_is_resumed_with_a_range_request(tmp_path, server):
    server.files["/flaky/comments.txt"] = COMMENTS
    output = tmp_path / "comments.txt"
    facts = fetch(
        f"{server.url}/flaky/comments.txt", output, Expected("c", git_blob_sha1=blob_sha1(COMMENTS)), backoff=0
    )
    assert output.read_bytes() == COMMENTS
    assert facts["bytes"] == len(COMMENTS) and facts["git_blob_sha1"] == blob_sha1(COMMENTS)
    assert facts["sha1"] == hashlib.sha1(COMMENTS).hexdigest()
    # The second request asks for the rest only.
    assert server.requests == [("/flaky/comments.txt", None), ("/flaky/comments.txt", f"bytes={len(COMMENTS) // 2}-")]


def test_a_transfer_cut_short_every_time_is_refused_and_leaves_nothing(tmp_path, server):
    server.files["/truncated/comments.txt"] = COMMENTS
    (tmp_path / "comments.txt").write_bytes(b"a stale copy")
    with pytest.raises(
        KrelectraError, match=r"c \(from http://.*/truncated/comments\.txt\): transfer broken: .*3 tries"
    ):
        fetch(
            f"{server.url}/truncated/comments.txt",
            tmp_path / "comments.txt",
            Expected("c", git_blob_sha1=blob_sha1(COMMENTS)),
            attempts=3,
            backoff=0,
        )
    assert len(server.requests) == 3
    assert list(tmp_path.iterdir()) == []


def manifest_for(tmp_path: Path, url: str, data: bytes) -> Path:
    path = tmp_path / "manifest.tsv"
    path.write_text(
        f"dataset\tfile\turl\tgit_blob_sha1\tbytes\tsha256\n"
        f"korean-hate-speech\tunlabeled_comments_1.txt\t{url}\t{blob_sha1(data)}\t\t\n"
    )
    return path


def test_a_github_file_is_verified_and_its_provenance_recorded(tmp_path, server):
    server.files["/kocohub/unlabeled_comments_1.txt"] = COMMENTS
    url = f"{server.url}/kocohub/unlabeled_comments_1.txt"
    dataset = github_dataset("korean-hate-speech", manifest_for(tmp_path, url, COMMENTS))
    output, record = tmp_path / "out" / "unlabeled_comments_1.txt", tmp_path / "out" / "unlabeled_comments_1.txt.json"
    download_public_file(dataset, output.name, url, output, record, git_blob_sha1=blob_sha1(COMMENTS))
    assert output.read_bytes() == COMMENTS
    facts = json.loads(record.read_text())
    assert facts == {
        "dataset": "korean-hate-speech",
        "title": "Korean Hate Speech, unlabeled comments (Moon et al., 2020)",
        "homepage": "https://github.com/kocohub/korean-hate-speech",
        "licence": "CC BY-SA 4.0",
        "licence_url": "https://creativecommons.org/licenses/by-sa/4.0/",
        "version": "commit f8d05dce2b22007bb149e5139c0060c68ad8f94b",
        "file": "unlabeled_comments_1.txt",
        "url": url,
        "bytes": len(COMMENTS),
        "sha1": hashlib.sha1(COMMENTS).hexdigest(),
        "git_blob_sha1": blob_sha1(COMMENTS),
        "verified_by": f"git blob SHA-1 {blob_sha1(COMMENTS)} (commit f8d05dce2b22007bb149e5139c0060c68ad8f94b)",
    }


def test_a_corrupted_github_file_is_refused_naming_url_expected_and_actual(tmp_path, server):
    corrupted = COMMENTS.replace("좋았어요".encode(), "싫었어요".encode(), 1)
    server.files["/kocohub/unlabeled_comments_1.txt"] = corrupted
    url = f"{server.url}/kocohub/unlabeled_comments_1.txt"
    dataset = github_dataset("korean-hate-speech", manifest_for(tmp_path, url, COMMENTS))
    out = tmp_path / "out"
    with pytest.raises(KrelectraError) as error:
        download_public_file(
            dataset, "unlabeled_comments_1.txt", url, out / "c.txt", out / "c.json", git_blob_sha1=blob_sha1(COMMENTS)
        )
    assert str(error.value) == (
        f"korean-hate-speech/unlabeled_comments_1.txt (from {url}): git blob SHA-1 mismatch: "
        f"got {blob_sha1(corrupted)}, expected {blob_sha1(COMMENTS)}"
    )
    assert list(out.iterdir()) == []


def test_a_github_file_of_another_size_than_the_manifest_gives_is_refused(tmp_path, server):
    server.files["/kocohub/unlabeled_comments_5.txt"] = COMMENTS
    url = f"{server.url}/kocohub/unlabeled_comments_5.txt"
    dataset = github_dataset("korean-hate-speech")
    (file,) = [f for f in dataset.files if f.name == "unlabeled_comments_5.txt"]
    assert file.bytes == 3_569_176  # the shipped manifest's size of file 5
    out = tmp_path / "out"
    with pytest.raises(
        KrelectraError, match=rf"unlabeled_comments_5\.txt \(from .*\): {len(COMMENTS)} bytes, expected 3569176"
    ):
        download_public_file(
            dataset, file.name, url, out / file.name, out / "r.json", git_blob_sha1=file.git_blob_sha1, size=file.bytes
        )
    assert list(out.iterdir()) == []


def test_a_dump_is_verified_against_the_sha1_its_checksum_list_gives(tmp_path, server):
    dataset = wikimedia_dump("kowiki", DATE, f"{server.url}/dumps")
    folder = f"/dumps/kowiki/{DATE}"
    server.files[f"{folder}/kowiki-{DATE}-sha1sums.txt"] = sha1sums("kowiki")
    server.files[f"{folder}/kowiki-{DATE}-pages-articles.xml.bz2"] = DUMP
    checksums_name, checksums_url = dataset.checksums
    assert checksums_url == f"{server.url}{folder}/kowiki-{DATE}-sha1sums.txt"
    checksums = tmp_path / checksums_name
    download_public_file(dataset, checksums_name, checksums_url, checksums, tmp_path / "sums.json")
    (file,) = dataset.files
    assert file.url == f"{server.url}{folder}/kowiki-{DATE}-pages-articles.xml.bz2"
    record = tmp_path / "dump.json"
    download_public_file(dataset, file.name, file.url, tmp_path / file.name, record, checksums=checksums)
    assert (tmp_path / file.name).read_bytes() == DUMP
    facts = json.loads(record.read_text())
    assert facts["sha1"] == hashlib.sha1(DUMP).hexdigest() and facts["version"] == f"dump {DATE}"
    assert facts["verified_by"] == f"SHA-1 listed in kowiki-{DATE}-sha1sums.txt"
    assert facts["licence"] == "CC BY-SA 4.0 (and GFDL)"

    # One flipped bit: refused, naming the expected and the actual SHA-1; nothing is left.
    corrupted = bytearray(DUMP)
    corrupted[len(DUMP) // 2] ^= 0x01
    server.files[f"{folder}/kowiki-{DATE}-pages-articles.xml.bz2"] = bytes(corrupted)
    (tmp_path / "bad").mkdir()
    with pytest.raises(KrelectraError) as error:
        download_public_file(dataset, file.name, file.url, tmp_path / "bad" / file.name, record, checksums=checksums)
    assert f"SHA-1 mismatch: got {hashlib.sha1(corrupted).hexdigest()}, expected {hashlib.sha1(DUMP).hexdigest()}" in (
        str(error.value)
    )
    assert list((tmp_path / "bad").iterdir()) == []


def test_a_checksum_list_that_does_not_list_the_dump_or_is_malformed_names_it(tmp_path):
    sums = tmp_path / "sums.txt"
    sums.write_bytes(sha1sums("kowiki"))
    assert dump_sha1(sums, f"kowiki-{DATE}-pages-articles.xml.bz2") == hashlib.sha1(DUMP).hexdigest()
    with pytest.raises(KrelectraError, match=r"sums\.txt: lists no SHA-1 for kowiki-20261201"):
        dump_sha1(sums, "kowiki-20261201-pages-articles.xml.bz2")
    sums.write_text("<html>Not Found</html>\n")
    with pytest.raises(KrelectraError, match=r"sums\.txt:1: not a '<sha1>  <file name>' line"):
        dump_sha1(sums, f"kowiki-{DATE}-pages-articles.xml.bz2")


def test_without_network_the_error_names_the_file_and_the_target_that_fetches_it(tmp_path):
    url = f"{closed_port_url()}/kocohub/unlabeled_comments_1.txt"
    dataset = github_dataset("korean-hate-speech", manifest_for(tmp_path, url, COMMENTS))
    output = tmp_path / "corpus" / "download" / "korean-hate-speech" / "unlabeled_comments_1.txt"
    with pytest.raises(KrelectraError) as error:
        download_public_file(
            dataset, output.name, url, output, f"{output}.json", git_blob_sha1=blob_sha1(COMMENTS), timeout=5
        )
    message = str(error.value)
    assert message.startswith(f"korean-hate-speech/unlabeled_comments_1.txt (from {url}): cannot connect")
    assert "`snakemake corpus_data --configfile <your config>`" in message
    assert not output.exists()


# -- the catalogue -----------------------------------------------------------------------------


def test_the_shipped_manifest_pins_the_upstream_commits_and_blobs():
    # From the data sets' repositories (spec: public-corpus.md): commits and git blob SHA-1s.
    hate = "https://raw.githubusercontent.com/kocohub/korean-hate-speech/f8d05dce2b22007bb149e5139c0060c68ad8f94b"
    bab2min = "https://raw.githubusercontent.com/bab2min/corpus/62f3097b6c6974cecda5571f2cd2b64aa3b7f01e"
    expected = {
        ("korean-hate-speech", "unlabeled_comments_1.txt"): (
            f"{hate}/unlabeled/unlabeled_comments_1.txt",
            "67f65966c71da0a12a38c1e583a18a71230b9064",
        ),
        ("korean-hate-speech", "unlabeled_comments_2.txt"): (
            f"{hate}/unlabeled/unlabeled_comments_2.txt",
            "300e2b1d86c104d16a9dd8bd9658ce1318bb93e6",
        ),
        ("korean-hate-speech", "unlabeled_comments_3.txt"): (
            f"{hate}/unlabeled/unlabeled_comments_3.txt",
            "bc7093d383eaab2979caa6c3f1a75c72a9df3e91",
        ),
        ("korean-hate-speech", "unlabeled_comments_4.txt"): (
            f"{hate}/unlabeled/unlabeled_comments_4.txt",
            "54adbac768bdf00985c177ecc762a194daa717b7",
        ),
        ("korean-hate-speech", "unlabeled_comments_5.txt"): (
            f"{hate}/unlabeled/unlabeled_comments_5.txt",
            "0b68bd07ce849b933f6a67d4cf07c1eefcb623bb",
        ),
        ("naver-shopping", "naver_shopping.txt"): (
            f"{bab2min}/sentiment/naver_shopping.txt",
            "25afff322fd86ee54d7813acedafe4990d83b18c",
        ),
        ("steam", "steam.txt"): (f"{bab2min}/sentiment/steam.txt", "358da9142ab212ed3018e5bf53d099a166a31395"),
    }
    entries = read_pinned_files(PROJECT_MANIFEST, "dataset")
    assert {key: (e.url, e.git_blob_sha1) for key, e in entries.items()} == expected
    assert entries[("korean-hate-speech", "unlabeled_comments_5.txt")].bytes == 3_569_176
    # The reviews keep their text field only (`rating<TAB>text`, `label<TAB>text`).
    assert {f.text_column for name in ("naver-shopping", "steam") for f in github_dataset(name).files} == {1}


def test_wikimedia_dumps_live_at_the_dump_servers_layout():
    dataset = public_dataset("kowikisource", DATE)
    (file,) = dataset.files
    assert file.url == f"https://dumps.wikimedia.org/kowikisource/{DATE}/kowikisource-{DATE}-pages-articles.xml.bz2"
    assert dataset.checksums == (
        f"kowikisource-{DATE}-sha1sums.txt",
        f"https://dumps.wikimedia.org/kowikisource/{DATE}/kowikisource-{DATE}-sha1sums.txt",
    )
    with pytest.raises(KrelectraError, match=r"'kowikinews' is a Wikimedia dump, but corpus\.download\.wikimedia_dump"):
        public_dataset("kowikinews", None)
    with pytest.raises(KrelectraError, match=r"unknown public data set 'namuwiki' \(known: korean-hate-speech, "):
        public_dataset("namuwiki", DATE)
    assert set(DATASET_NAMES) == {
        "korean-hate-speech",
        "naver-shopping",
        "steam",
        "kowiki",
        "kowikisource",
        "kowikinews",
    }


def test_a_source_of_public_data_sets_reads_their_text_files():
    calls = []

    def text_files(name, where):
        calls.append((name, where))
        return [f"results/corpus/extracted/{name}/{name}.txt"]

    (source,) = resolve_sources(
        [{"name": "reviews", "public": ["naver-shopping", "steam"], "register": "spoken", "documents": "line"}],
        public_files=text_files,
    )
    assert source.public == ("naver-shopping", "steam")
    assert source.files == (
        Path("results/corpus/extracted/naver-shopping/naver-shopping.txt"),
        Path("results/corpus/extracted/steam/steam.txt"),
    )
    assert calls == [("naver-shopping", "corpus.sources[0] ('reviews')"), ("steam", "corpus.sources[0] ('reviews')")]
    with pytest.raises(KrelectraError, match=r"corpus\.sources\[0\] \('x'\): public data sets \(steam\) are fetched"):
        resolve_sources([{"name": "x", "public": ["steam"], "register": "spoken"}])


# -- extraction --------------------------------------------------------------------------------


def test_the_self_made_dump_gives_the_expected_paragraphs_and_counts(tmp_path):
    dump = tmp_path / f"kowiki-{DATE}-pages-articles.xml.bz2"
    dump.write_bytes(DUMP)
    stats = extract_mediawiki(dump, tmp_path / "kowiki.txt", tmp_path / "kowiki.json")
    assert (tmp_path / "kowiki.txt").read_text(encoding="utf-8") == EXPECTED_TEXT
    assert json.loads((tmp_path / "kowiki.json").read_text()) == stats
    assert stats["pages"] == 6 and stats["articles"] == 2 and stats["paragraphs"] == 6
    assert stats["characters"] == sum(len(line) for line in EXPECTED_TEXT.splitlines())
    assert stats["dropped_pages"] == {"namespace": 1, "redirect": 1, "disambiguation": 1, "list": 1}
    # 위키데이터 속성 추적, 정보상자 도시, 웹 인용 (inside a reference), 다른 뜻.
    assert stats["removed_markup"] == {
        "appendix_sections": 2,
        "templates": 4,
        "tables": 1,
        "references": 2,
        "file_category_links": 1,
        "headings": 1,
    }


def test_article_markup_is_turned_into_paragraphs():
    assert article_paragraphs("'''굵게''' [[링크|보이는 글]]과 [https://example.org 바깥 링크].\n\n__TOC__\n") == [
        "굵게 보이는 글과 바깥 링크."
    ]
    assert article_paragraphs("본문<ref>출처</ref>이다.<math>x^2</math>\n[[Category:테스트]]") == ["본문이다."]


def test_a_truncated_dump_is_refused_and_leaves_no_text(tmp_path):
    dump = tmp_path / "kowiki.xml.bz2"
    dump.write_bytes(DUMP[: len(DUMP) // 2])
    with pytest.raises(KrelectraError, match=r"kowiki\.xml\.bz2: not a readable MediaWiki XML dump"):
        extract_mediawiki(dump, tmp_path / "out" / "kowiki.txt", tmp_path / "out" / "kowiki.json")
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_the_text_field_of_review_files(tmp_path):
    source = tmp_path / "naver_shopping.txt"
    source.write_bytes(NAVER_SHOPPING)
    stats = extract_text_column(source, tmp_path / "text.txt", 1, tmp_path / "text.json")
    assert (tmp_path / "text.txt").read_text(encoding="utf-8") == "배송 빠르고 좋아요\n생각보다 별로예요. 포장이 엉망\n"
    assert stats["lines"] == 4 and stats["kept"] == 2 and stats["dropped"] == {"empty": 1, "no_text_column": 1}


# -- attribution -------------------------------------------------------------------------------


@functools.cache
def _record(dataset: str, file: str, size: int) -> dict:
    facts = (github_dataset(dataset) if dataset != "kowiki" else wikimedia_dump("kowiki", DATE)).attribution()
    return {
        **facts,
        "file": file,
        "url": f"https://example.org/{file}",
        "bytes": size,
        "sha1": "0" * 40,
        "verified_by": "x",
    }


def test_corpus_statistics_name_every_public_source_with_licence_version_and_size(tmp_path):
    from krelectra.corpus.pipeline import public_attribution

    partition_stats = [
        {
            "source": "comments",
            "public": [_record("korean-hate-speech", "a.txt", 10), _record("korean-hate-speech", "b.txt", 5)],
        },
        {
            "source": "reviews",
            "public": [_record("naver-shopping", "naver_shopping.txt", 7), _record("steam", "steam.txt", 3)],
        },
        {"source": "wikipedia", "public": [_record("kowiki", "kowiki.xml.bz2", 100)]},
        {"source": "mine"},  # the user's own files: nothing to attribute
    ]
    attribution = public_attribution(partition_stats)
    assert [(a["dataset"], a["sources"], a["bytes"], a["licence"]) for a in attribution] == [
        ("korean-hate-speech", ["comments"], 15, "CC BY-SA 4.0"),
        ("naver-shopping", ["reviews"], 7, "public domain (repository README)"),
        ("steam", ["reviews"], 3, "public domain (repository README)"),
        ("kowiki", ["wikipedia"], 100, "CC BY-SA 4.0 (and GFDL)"),
    ]
    assert attribution[3]["version"] == f"dump {DATE}" and len(attribution[0]["files"]) == 2


# -- the rules, run by Snakemake ---------------------------------------------------------------

GITHUB_FILES = {  # (data set, file name): content in the upstream format
    ("korean-hate-speech", f"unlabeled_comments_{i}.txt"): COMMENTS.replace(
        b"\xeb\xb0\xb0\xec\x9a\xb0", f"{i}".encode()
    )
    for i in range(1, 6)
} | {("naver-shopping", "naver_shopping.txt"): NAVER_SHOPPING, ("steam", "steam.txt"): STEAM}
PUBLIC_SOURCES = [
    {"name": "wikipedia", "public": ["kowiki"], "register": "written", "documents": "paragraph"},
    {"name": "legal", "public": ["kowikisource"], "register": "written", "documents": "paragraph"},
    {"name": "news", "public": ["kowikinews"], "register": "written", "documents": "paragraph"},
    {"name": "comments", "public": ["korean-hate-speech"], "register": "spoken", "documents": "line"},
    {"name": "reviews", "public": ["naver-shopping", "steam"], "register": "spoken", "documents": "line"},
]


def write_config(work: Path, name: str, results: str, wikimedia_base_url: str, sources=PUBLIC_SOURCES) -> str:
    import yaml

    config = {
        "results": results,
        "corpus": {
            "sources": sources,
            "download": {"wikimedia_dump": DATE, "wikimedia_base_url": wikimedia_base_url, "timeout": 10},
            "spoken_ratio": None,
            "num_shards": 2,
        },
    }
    (work / name).write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return name


@pytest.mark.slow
def test_the_download_and_extraction_rules_feed_the_corpus_and_its_attribution(tmp_path, server):
    """Every download and extraction rule, run by Snakemake against the local server: the
    GitHub files (from the workflow's manifest), the three dumps and their checksum
    lists; then the corpus statistics credit every data set. A corrupted dump and a
    machine without network stop the run with the error in the job's log, leaving no file."""
    from workflow_helpers import copy_workflow, snakemake

    work = copy_workflow(tmp_path / "work")
    rows = ["dataset\tfile\turl\tgit_blob_sha1\tbytes\tsha256"]
    for (dataset, file), data in GITHUB_FILES.items():
        server.files[f"/github/{dataset}/{file}"] = data
        rows.append(f"{dataset}\t{file}\t{server.url}/github/{dataset}/{file}\t{blob_sha1(data)}\t{len(data)}\t")
    (work / "resources" / "corpus" / "manifest.tsv").write_text("\n".join(rows) + "\n")
    corrupted = bytearray(DUMP)
    corrupted[len(DUMP) // 2] ^= 0x01
    for project in ("kowiki", "kowikisource", "kowikinews"):
        for root, dump in (("dumps", DUMP), ("corrupt", bytes(corrupted))):
            server.files[f"/{root}/{project}/{DATE}/{project}-{DATE}-sha1sums.txt"] = sha1sums(project)
            server.files[f"/{root}/{project}/{DATE}/{project}-{DATE}-pages-articles.xml.bz2"] = dump

    good = write_config(work, "good.yaml", "results", f"{server.url}/dumps")
    snakemake(work, "--cores", "2", "results/corpus/stats.json", "--configfile", good)
    corpus = work / "results" / "corpus"
    for project in ("kowiki", "kowikisource", "kowikinews"):
        text = corpus / "extracted" / project / f"{project}-{DATE}-pages-articles.txt"
        assert text.read_text(encoding="utf-8") == EXPECTED_TEXT
    reviews = (corpus / "extracted" / "naver-shopping" / "naver_shopping.txt").read_text(encoding="utf-8")
    assert reviews == "배송 빠르고 좋아요\n생각보다 별로예요. 포장이 엉망\n"
    stats = json.loads((corpus / "stats.json").read_text())
    attribution = {a["dataset"]: a for a in stats["attribution"]}
    assert list(attribution) == [
        "kowiki",
        "kowikisource",
        "kowikinews",
        "korean-hate-speech",
        "naver-shopping",
        "steam",
    ]
    assert attribution["kowiki"]["licence"] == "CC BY-SA 4.0 (and GFDL)"
    assert attribution["kowiki"]["version"] == f"dump {DATE}" and attribution["kowiki"]["bytes"] == len(DUMP)
    assert attribution["kowiki"]["files"][0]["sha1"] == hashlib.sha1(DUMP).hexdigest()
    assert attribution["korean-hate-speech"]["bytes"] == sum(
        len(data) for (dataset, _), data in GITHUB_FILES.items() if dataset == "korean-hate-speech"
    )
    assert attribution["steam"]["sources"] == ["reviews"] and attribution["steam"]["licence"].startswith(
        "public domain"
    )
    assert stats["sources"]["reviews"]["documents"] == 4  # two Naver Shopping and two Steam reviews

    # A corrupted dump: the job fails, its log names the file, the expected and the actual SHA-1.
    bad = write_config(work, "bad.yaml", "results-corrupt", f"{server.url}/corrupt", sources=PUBLIC_SOURCES[:1])
    run = snakemake(work, "--cores", "1", "results-corrupt/corpus/stats.json", "--configfile", bad, check=False)
    assert run.returncode != 0
    name = f"kowiki-{DATE}-pages-articles.xml.bz2"
    log = (work / "results-corrupt" / "logs" / "corpus" / "download" / "kowiki" / f"{name}.log").read_text()
    assert f"kowiki/{name} (from {server.url}/corrupt/kowiki/{DATE}/{name}): SHA-1 mismatch" in log
    assert f"got {hashlib.sha1(corrupted).hexdigest()}, expected {hashlib.sha1(DUMP).hexdigest()}" in log
    assert sorted(p.name for p in (work / "results-corrupt" / "corpus" / "download" / "kowiki").iterdir()) == [
        f"kowiki-{DATE}-sha1sums.txt",
        f"kowiki-{DATE}-sha1sums.txt.json",
    ]

    # No network: the first download fails with the target that fetches the public corpus.
    offline = write_config(work, "offline.yaml", "results-offline", closed_port_url(), sources=PUBLIC_SOURCES[:1])
    run = snakemake(work, "--cores", "1", "results-offline/corpus/stats.json", "--configfile", offline, check=False)
    assert run.returncode != 0
    log = work / "results-offline" / "logs" / "corpus" / "download" / "kowiki" / f"kowiki-{DATE}-sha1sums.txt.log"
    assert "cannot connect" in log.read_text() and "snakemake corpus_data" in log.read_text()
    assert not list((work / "results-offline" / "corpus").rglob("*.txt"))


def _attribution() -> list[dict]:
    from krelectra.corpus.pipeline import public_attribution

    return public_attribution(
        [
            {"source": "comments", "public": [_record("korean-hate-speech", "a.txt", 2_000_000)]},
            {"source": "wikipedia", "public": [_record("kowiki", "kowiki.xml.bz2", 1_000_000_000)]},
        ]
    )


def test_the_model_card_credits_every_public_data_set():
    from krelectra.convert.model_card import _corpus_lines

    card = "\n".join(_corpus_lines({"documents": 1, "attribution": _attribution()}))
    assert "### Attribution" in card
    assert (
        "| [Korean Hate Speech, unlabeled comments (Moon et al., 2020)](https://github.com/kocohub/korean-hate-speech)"
        " | comments | [CC BY-SA 4.0](https://creativecommons.org/licenses/by-sa/4.0/)"
        " | commit f8d05dce2b22007bb149e5139c0060c68ad8f94b | 2,000,000 |"
    ) in card
    assert (
        "| [Korean Wikipedia (kowiki), pages-articles dump](https://dumps.wikimedia.org/kowiki/) | wikipedia"
        " | [CC BY-SA 4.0 (and GFDL)](https://creativecommons.org/licenses/by-sa/4.0/) | dump 20261101 "
        "| 1,000,000,000 |"
    ) in card


def test_the_papers_corpus_table_names_source_licence_version_and_size():
    from krelectra.paper.layout import plain
    from krelectra.paper.tables import attribution_panel

    panel = attribution_panel(_attribution())
    assert panel is not None and panel.title == "Public data sets"
    rows = [[plain(cell) for cell in row] for section in panel.sections for row in section.rows]
    assert rows == [
        [
            "Korean Hate Speech, unlabeled comments (Moon et al., 2020)",
            "comments",
            "CC BY-SA 4.0",
            "commit f8d05dce2b22007bb149e5139c0060c68ad8f94b",
            "2.0 MB",
        ],
        [
            "Korean Wikipedia (kowiki), pages-articles dump",
            "wikipedia",
            "CC BY-SA 4.0 (and GFDL)",
            "dump 20261101",
            "1.0 GB",
        ],
    ]
    assert attribution_panel([]) is None
