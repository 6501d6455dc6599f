"""Plain text from downloaded public data: the articles of a MediaWiki dump, the text
field of a tab-separated review file.

Both write the `paragraph` document layout of the corpus stage (one paragraph per line,
an empty line between documents; reviews: one review per line) and a JSON file of what
was kept and what was dropped, by reason. Outputs are written atomically.

MediaWiki dumps are read as a stream (`bz2` and mwxml's iterative parser of the XML
export schema), one page at a time, so memory does not grow with the dump; the markup
of each article is parsed with mwparserfromhell (no MediaWiki parser of our own). Kept:
pages of namespace 0 (articles) that are not redirects (`<redirect title=…/>`), not
disambiguation pages (a disambiguation template, e.g. kowiki's 틀:동음이의, or "(동음이의)"
in the title) and not lists (a title ending in 목록, "list"). Removed from each article:
templates (infoboxes, navboxes, parser functions), tables, every tag MediaWiki does not
display as text (<ref> references, <gallery>, <math>, …), file, image and category
links, headings, and the appendix sections (각주, 참고 문헌, 외부 링크, 같이 보기, …).
What is left, stripped of markup by mwparserfromhell's `strip_code`, gives one paragraph
per non-empty line.
"""

from __future__ import annotations

import bz2
import re
from collections import Counter
from pathlib import Path

from krelectra.errors import KrelectraError
from krelectra.io import atomic_open, write_json

ARTICLE_NAMESPACE = 0
# Template names that mark a disambiguation page (kowiki's 틀:동음이의 and its redirects;
# the English names are used on the smaller projects). Compared after normalising the
# first letter's case and underscores, as MediaWiki does.
DISAMBIGUATION_TEMPLATES = frozenset(
    {"동음이의", "동음이의어", "동음이의 문서", "disambig", "disambiguation", "dab", "disamb", "hndis", "geodis"}
)
# Titles of list pages: "<...> 목록" ("list of <...>"), and "List of ...".
LIST_TITLE = re.compile(r"(^|\s)목록$|^list of ", re.IGNORECASE)
# Link namespaces whose links are not running text: files, images, categories.
NON_TEXT_LINK = re.compile(r"^\s*:?\s*(파일|그림|file|image|분류|category|media|미디어)\s*:", re.IGNORECASE)
# Level-2 sections that hold references and link lists, not prose.
APPENDIX_SECTIONS = frozenset(
    {"각주", "주석", "참고 문헌", "참고문헌", "외부 링크", "외부링크", "같이 보기", "관련 항목", "출처", "참고 자료"}
)
MAGIC_WORD = re.compile(r"__[A-Z]+__")
EMPTY_BRACKETS = re.compile(r"\(\s*[,;:]?\s*\)")
SPACES = re.compile(r"\s+")


def _template_name(template) -> str:
    name = str(template.name).strip().replace("_", " ")
    return name[:1].lower() + name[1:]


def is_disambiguation(title: str, code) -> bool:
    """A disambiguation page: its title says so, or it uses a disambiguation template."""
    if "(동음이의)" in title:
        return True
    return any(_template_name(t) in DISAMBIGUATION_TEMPLATES for t in code.filter_templates(recursive=True))


def _remove_all(code, nodes, counts: Counter, what: str) -> None:
    for node in nodes:
        try:
            code.remove(node)
        except ValueError:  # inside a node removed before (a reference in a table)
            continue
        counts[what] += 1


def article_paragraphs(wikitext: str, counts: Counter | None = None) -> list[str]:
    """The paragraphs of an article's wikitext as plain text (see the module docstring);
    `counts` (if given) is increased by the removed markup, by kind."""
    import mwparserfromhell

    return _paragraphs(mwparserfromhell.parse(wikitext), Counter() if counts is None else counts)


def _paragraphs(code, counts: Counter) -> list[str]:
    from mwparserfromhell.definitions import is_visible

    for section in code.get_sections(levels=[2]):
        headings = section.filter_headings(recursive=False)
        if headings and headings[0].title.strip_code().strip() in APPENDIX_SECTIONS:
            _remove_all(code, [section], counts, "appendix_sections")
    _remove_all(code, code.filter_templates(recursive=True), counts, "templates")
    tags = code.filter_tags(recursive=True)
    _remove_all(code, [t for t in tags if str(t.tag).strip().lower() == "table"], counts, "tables")
    _remove_all(code, [t for t in tags if str(t.tag).strip().lower() == "ref"], counts, "references")
    _remove_all(code, [t for t in tags if not is_visible(str(t.tag).strip().lower())], counts, "hidden_tags")
    links = code.filter_wikilinks(recursive=True)
    _remove_all(code, [link for link in links if NON_TEXT_LINK.match(str(link.title))], counts, "file_category_links")
    _remove_all(code, code.filter_headings(recursive=True), counts, "headings")
    text = code.strip_code(normalize=True, collapse=True)
    paragraphs = []
    for line in text.splitlines():
        line = EMPTY_BRACKETS.sub("", MAGIC_WORD.sub("", line))
        line = SPACES.sub(" ", line).strip()
        if line:
            paragraphs.append(line)
    return paragraphs


def extract_mediawiki(dump: str | Path, output: str | Path, stats_path: str | Path) -> dict:
    """Write the articles of a pages-articles dump (`.xml.bz2`, or plain `.xml`) as plain
    text: one paragraph per line, an empty line between articles. Returns and writes the
    counts: pages read, articles kept, pages dropped by reason (`namespace`, `redirect`,
    `disambiguation`, `list`, `empty`), paragraphs and characters written, markup removed
    by kind. Raises KrelectraError naming the dump when it is not a readable export."""
    import mwparserfromhell
    import mwxml

    dump = Path(dump)
    dropped: Counter[str] = Counter()
    removed: Counter[str] = Counter()
    pages = articles = paragraphs = characters = 0
    opener = bz2.open if dump.suffix == ".bz2" else open
    try:
        with opener(dump, "rb") as raw, atomic_open(output) as out:
            for page in mwxml.Dump.from_file(raw):
                pages += 1
                reason = _drop_reason(page)
                if reason is None:
                    # pages-articles holds the latest revision of each page only.
                    code = mwparserfromhell.parse("".join(revision.text or "" for revision in page))
                    if is_disambiguation(page.title, code):
                        reason = "disambiguation"
                    else:
                        kept = _paragraphs(code, removed)
                        reason = None if kept else "empty"
                if reason is not None:
                    dropped[reason] += 1
                    continue
                out.write(("\n" if articles else "") + "\n".join(kept) + "\n")
                articles += 1
                paragraphs += len(kept)
                characters += sum(len(p) for p in kept)
    except (OSError, EOFError, ValueError) as error:
        raise KrelectraError(f"{dump}: not a readable MediaWiki XML dump: {error}") from error
    except Exception as error:  # mwxml raises its own and the XML parser's errors
        if type(error).__module__.startswith(("mwxml", "mwtypes", "xml")):
            raise KrelectraError(f"{dump}: not a readable MediaWiki XML dump: {error}") from error
        raise
    stats = {
        "dump": str(dump),
        "pages": pages,
        "articles": articles,
        "dropped_pages": dict(sorted(dropped.items())),
        "paragraphs": paragraphs,
        "characters": characters,
        "removed_markup": dict(sorted(removed.items())),
    }
    write_json(stats_path, stats)
    return stats


def _drop_reason(page) -> str | None:
    if page.namespace != ARTICLE_NAMESPACE:
        return "namespace"
    if page.redirect:
        return "redirect"
    if LIST_TITLE.search(page.title.strip()):
        return "list"
    return None


def extract_text_column(source: str | Path, output: str | Path, column: int, stats_path: str | Path) -> dict:
    """Write column `column` (0-based) of a tab-separated UTF-8 file, one text per line
    (a review's rating or label is not text). Returns and writes the counts of lines read,
    kept, and dropped (`no_text_column`, `empty`). Raises KrelectraError naming the file
    and line when a line is not UTF-8."""
    source = Path(source)
    lines = kept = 0
    dropped: Counter[str] = Counter()
    with open(source, "rb") as handle, atomic_open(output) as out:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as error:
                raise KrelectraError(f"{source}:{number}: not UTF-8 text ({error.reason})") from None
            lines += 1
            fields = line.split("\t")
            if len(fields) <= column:
                dropped["no_text_column"] += 1
                continue
            text = SPACES.sub(" ", fields[column]).strip()
            if not text:
                dropped["empty"] += 1
                continue
            out.write(text + "\n")
            kept += 1
    stats = {
        "file": str(source),
        "column": column,
        "lines": lines,
        "kept": kept,
        "dropped": dict(sorted(dropped.items())),
    }
    write_json(stats_path, stats)
    return stats
