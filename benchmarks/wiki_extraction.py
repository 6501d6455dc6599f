"""Throughput of the wiki extraction (`krelectra corpus extract-wiki`) on a synthetic dump.

Writes a pages-articles dump in the MediaWiki export schema whose articles carry the
markup real articles do (an infobox template, citation templates inside references,
links, a file link, a table, headings, appendix sections) around paragraphs of real
Korean text (konlpy's constitution), compresses it with bz2 as Wikimedia does, and times
the extraction in wall and CPU time (the machine may be shared: CPU time is the steadier
figure). Prints the rates per MB of XML read and of text written, and what they imply
for a dump of a given uncompressed XML size (an ESTIMATE: real articles differ in length
and markup density, and the synthetic dump compresses far better than a real one, so its
bz2 size says nothing).

    python benchmarks/wiki_extraction.py [--pages 3000] [--xml-gb 5.0]
"""

from __future__ import annotations

import argparse
import bz2
import json
import sys
import tempfile
import time
from pathlib import Path
from xml.sax.saxutils import escape

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from krelectra.corpus.extract import extract_mediawiki  # noqa: E402
from krelectra.corpus.sources import konlpy_corpus_dir  # noqa: E402

ARTICLE = """{{{{정보상자 문서
| 이름 = 문서 {n}
| 번호 = {n}
}}}}
'''문서 {n}'''은 [[대한민국]]의 [[헌법|헌법 조문]]을 다룬다.<ref>{{{{웹 인용|url=https://example.org/{n}|제목=출처}}}}</ref>
{p0}
[[파일:Example {n}.jpg|thumb|그림 {n}]]
{p1}<ref name="r{n}">출처 {n}</ref>

== 내용 ==
{p2}
{{| class="wikitable"
! 항목 !! 값
|-
| 번호 || {n}
|}}
{p3}

== 같이 보기 ==
* [[문서 {m}]]

== 각주 ==
<references />

[[분류:문서]]
"""


def paragraphs() -> list[str]:
    text = (konlpy_corpus_dir() / "kolaw" / "constitution.txt").read_text(encoding="utf-8")
    return [" ".join(line.split()) for line in text.splitlines() if len(line.strip()) > 30]


def page(n: int, text: str) -> str:
    return (
        f"  <page>\n    <title>문서 {n}</title>\n    <ns>0</ns>\n    <id>{n}</id>\n    <revision>\n"
        f"      <id>{n}</id>\n      <timestamp>2026-11-01T00:00:00Z</timestamp>\n"
        "      <contributor>\n        <username>Example</username>\n        <id>1</id>\n      </contributor>\n"
        "      <model>wikitext</model>\n      <format>text/x-wiki</format>\n"
        f'      <text bytes="{len(text.encode())}" xml:space="preserve">{escape(text)}</text>\n'
        "    </revision>\n  </page>\n"
    )


def write_dump(path: Path, pages: int) -> int:
    source = paragraphs()
    parts = [
        '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11" xml:lang="ko">\n'
        "  <siteinfo>\n    <sitename>위키백과</sitename>\n    <dbname>kowiki</dbname>\n"
        "    <base>https://ko.wikipedia.org/wiki/</base>\n    <generator>MediaWiki</generator>\n"
        "    <case>first-letter</case>\n    <namespaces>\n"
        '      <namespace key="0" case="first-letter" />\n    </namespaces>\n  </siteinfo>\n'
    ]
    for n in range(pages):
        p = [source[(4 * n + i) % len(source)] for i in range(4)]
        parts.append(page(n, ARTICLE.format(n=n, m=n + 1, p0=p[0], p1=p[1], p2=p[2], p3=p[3])))
    parts.append("</mediawiki>\n")
    xml = "".join(parts).encode("utf-8")
    path.write_bytes(bz2.compress(xml))
    return len(xml)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=3000)
    parser.add_argument(
        "--xml-gb",
        type=float,
        default=5.0,
        help="uncompressed XML of the dump to estimate for (default: kowiki's about 1 GB of bz2 at an assumed 5x)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="krelectra-wiki-") as tmp:
        dump = Path(tmp) / "kowiki-pages-articles.xml.bz2"
        xml_bytes = write_dump(dump, args.pages)
        start, cpu_start = time.perf_counter(), time.process_time()
        stats = extract_mediawiki(dump, Path(tmp) / "text.txt", Path(tmp) / "stats.json")
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
        text_bytes = (Path(tmp) / "text.txt").stat().st_size
    result = {
        "pages": stats["pages"],
        "xml_mb": round(xml_bytes / 1e6, 2),
        "text_mb": round(text_bytes / 1e6, 2),
        "wall_seconds": round(seconds, 2),
        "cpu_seconds": round(cpu_seconds, 2),
        "xml_mb_per_cpu_s": round(xml_bytes / 1e6 / cpu_seconds, 2),
        "text_mb_per_cpu_s": round(text_bytes / 1e6 / cpu_seconds, 2),
        f"estimate_cpu_hours_for_{args.xml_gb:g}_gb_of_xml": round(
            args.xml_gb * 1e9 / xml_bytes * cpu_seconds / 3600, 2
        ),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
