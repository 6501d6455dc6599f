"""Characters the vocabulary always contains, whatever the corpus happens to hold.

WordPiece turns a whole word into [UNK] when one of its characters is missing, so a
vocabulary built from a small or narrow corpus fails on other text (measured: 17.9%
[UNK] on informal text with a legal-text-only vocabulary, 0.15% once the alphabet below
is guaranteed; see README).
"""

from __future__ import annotations


def ks_x_1001_hangul() -> list[str]:
    """The 2,350 Hangul syllables of KS X 1001 (those EUC-KR can encode): the set in
    everyday use. Rows 0xB0-0xC8, columns 0xA1-0xFE of the EUC-KR code table."""
    return [bytes([lead, trail]).decode("euc-kr") for lead in range(0xB0, 0xC9) for trail in range(0xA1, 0xFF)]


def compatibility_jamo() -> list[str]:
    """Hangul compatibility jamo (ㄱ..ㅣ), common in informal text (ㅋㅋ, ㅠㅠ)."""
    return [chr(c) for c in range(0x3131, 0x3164)]


def printable_ascii() -> list[str]:
    return [chr(c) for c in range(0x21, 0x7F)]


def guaranteed_alphabet(include: list[str]) -> list[str]:
    parts = {"ks_x_1001_hangul": ks_x_1001_hangul, "compatibility_jamo": compatibility_jamo, "ascii": printable_ascii}
    chars: list[str] = []
    for name in include:
        chars.extend(parts[name]())
    return sorted(set(chars))
