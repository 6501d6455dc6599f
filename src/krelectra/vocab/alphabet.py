"""Characters the vocabulary always contains, whatever the corpus happens to hold.

WordPiece turns a whole word into [UNK] when one of its characters is missing, so a
vocabulary built from a small or narrow corpus fails on other text (measured: 17.9%
[UNK] on informal text with a legal-text-only vocabulary, 0.15% once the alphabet below
is guaranteed; see README).

Each character costs two entries, plain and `##` (word-initial and word-inner). The
choices (config `vocab.alphabet`, any combination):

| name | characters | entries |
|---|---|---|
| ks_x_1001_hangul | the 2,350 Hangul syllables of KS X 1001 (EUC-KR), the set in everyday use | 4,700 |
| hangul_syllables | every modern Hangul syllable, U+AC00-U+D7A3 (11,172; includes the 2,350) | 22,344 |
| compatibility_jamo | Hangul compatibility jamo U+3131-U+3163 (ㄱ..ㅣ, 51), as in ㅋㅋ, ㅠㅠ | 102 |
| ascii | printable ASCII U+0021-U+007E (94) | 188 |

KS X 1001 lacks syllables that informal text uses (됬, the common misspelling of 됐;
햏, 뷁, 똠, 쌰): a word holding one becomes [UNK] unless the corpus itself had the
syllable. `hangul_syllables` removes that failure for every modern syllable, at the
price of 17,644 more entries than `ks_x_1001_hangul`: with the paper's 30,000 entries
and the other two sets, 7,361 entries are left for learned pieces instead of 25,005.
"""

from __future__ import annotations

from collections.abc import Callable

from krelectra.errors import KrelectraError


def ks_x_1001_hangul() -> list[str]:
    """The 2,350 Hangul syllables of KS X 1001 (those EUC-KR can encode): the set in
    everyday use. Rows 0xB0-0xC8, columns 0xA1-0xFE of the EUC-KR code table."""
    return [bytes([lead, trail]).decode("euc-kr") for lead in range(0xB0, 0xC9) for trail in range(0xA1, 0xFF)]


def hangul_syllables() -> list[str]:
    """All 11,172 precomposed modern Hangul syllables, U+AC00-U+D7A3 (19 initial x 21
    medial x 28 final forms, the Unicode Hangul Syllables block)."""
    return [chr(c) for c in range(0xAC00, 0xD7A4)]


def compatibility_jamo() -> list[str]:
    """Hangul compatibility jamo (ㄱ..ㅣ), common in informal text (ㅋㅋ, ㅠㅠ)."""
    return [chr(c) for c in range(0x3131, 0x3164)]


def printable_ascii() -> list[str]:
    return [chr(c) for c in range(0x21, 0x7F)]


ALPHABETS: dict[str, Callable[[], list[str]]] = {
    "ks_x_1001_hangul": ks_x_1001_hangul,
    "hangul_syllables": hangul_syllables,
    "compatibility_jamo": compatibility_jamo,
    "ascii": printable_ascii,
}
DEFAULT_ALPHABET = ["ks_x_1001_hangul", "compatibility_jamo", "ascii"]


def guaranteed_alphabet(include: list[str]) -> list[str]:
    """The characters of the named sets, sorted, each once. Raises KrelectraError for an
    unknown name."""
    chars: set[str] = set()
    for name in include:
        if name not in ALPHABETS:
            raise KrelectraError(f"vocab.alphabet: unknown set {name!r} (known: {', '.join(ALPHABETS)})")
        chars.update(ALPHABETS[name]())
    return sorted(chars)


def reserved_entries(include: list[str], special_tokens: int = 5) -> int:
    """Vocabulary entries taken before anything is learned: the special tokens and every
    character of the alphabet in plain and `##` form."""
    return special_tokens + 2 * len(guaranteed_alphabet(include))
