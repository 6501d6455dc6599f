"""Splitting text into Mecab-Ko morphemes by surface spans.

Each word (the unit ElectraTokenizer sees after its normaliser and pre-tokeniser:
whitespace and punctuation split, CJK characters isolated) is cut at Mecab-Ko's
morpheme boundaries. Pieces are substrings of the word, so they always join back to
it: Mecab-Ko's decomposed forms of inflections (갔 -> 가/VV + 았/EP) never change the
text. Non-initial pieces carry the WordPiece continuation prefix `##`.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import cache, cached_property
from itertools import accumulate

CONTINUATION = "##"


def _is_isolated(char: str) -> bool:
    """Characters ElectraTokenizer's pre-tokenisation makes words of their own: BERT's
    punctuation (ASCII symbols and Unicode category P*) and CJK ideographs."""
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    if unicodedata.category(char).startswith("P"):
        return True
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0x2A700 <= code <= 0x2B73F
        or 0x2B740 <= code <= 0x2B81F
        or 0x2B820 <= code <= 0x2CEAF
        or 0xF900 <= code <= 0xFAFF
        or 0x2F800 <= code <= 0x2FA1F
    )


@cache
def _word_pattern(limit: int) -> re.Pattern:
    """One regular expression that finds ElectraTokenizer's words in clean text (a C loop,
    several times faster than calling the tokenizer's pre-tokeniser per sentence), for
    text whose characters are all below `limit`."""
    codes = [c for c in range(limit) if not 0xD800 <= c <= 0xDFFF and _is_isolated(chr(c))]
    # As ranges of consecutive code points, so the class stays small.
    ranges, start = [], codes[0]
    for previous, code in zip(codes, codes[1:] + [None]):
        if code != previous + 1:
            ranges.append(re.escape(chr(start)) + ("" if previous == start else "-" + re.escape(chr(previous))))
            start = code
    isolated = "".join(ranges)
    return re.compile(f"[{isolated}]|[^\\s{isolated}]+")


class MorphemeSegmenter:
    def __init__(self) -> None:
        self.fallbacks = 0  # sentences where Mecab-Ko's surfaces did not match the text
        # A class that stays in the Basic Multilingual Plane is matched by a bitmap lookup;
        # with characters beyond it, by a scan of all ranges (3x slower). Almost all Korean
        # text needs only the first.
        self._words_bmp = _word_pattern(0x10000)
        self._words_all = _word_pattern(sys.maxunicode + 1)

    @cached_property
    def _tagger(self):
        import mecab_ko

        # Wakati output: the surfaces only, space separated.
        return mecab_ko.Tagger("-Owakati")

    @cached_property
    def _normalizer(self):
        from tokenizers import normalizers

        # The normalisation ElectraTokenizer applies with do_lower_case=False.
        return normalizers.BertNormalizer(
            clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False
        )

    def normalise(self, text: str) -> str:
        """Text as ElectraTokenizer sees it (control characters removed, CJK spaced out).
        The corpus stage already produces such text, so the vocabulary stage skips this."""
        return self._normalizer.normalize_str(text)

    def words(self, sentence: str) -> list[str]:
        """ElectraTokenizer's words: split at whitespace, punctuation and CJK isolated."""
        if sentence and max(sentence) > "\uffff":
            return self._words_all.findall(sentence)
        return self._words_bmp.findall(sentence)

    def pieces(self, sentence: str) -> list[tuple[str, bool]]:
        """(piece, starts_a_word) for every morpheme piece of every word of the sentence."""
        words = self.words(sentence)
        surfaces = self._tagger.parse(sentence).split()
        text = "".join(words)  # the sentence without whitespace
        if "".join(surfaces) != text:
            # Mecab-Ko changed the text (unclean input, e.g. control characters): keep whole words.
            self.fallbacks += 1
            return [(word, True) for word in words]
        word_ends = set(accumulate(map(len, words)))
        word_starts = word_ends | {0}
        morpheme_ends = list(accumulate(map(len, surfaces)))
        if word_ends.issubset(morpheme_ends):
            # The usual case: no morpheme crosses a word boundary, so the pieces are the surfaces.
            return list(zip(surfaces, map(word_starts.__contains__, [0] + morpheme_ends[:-1])))
        cuts = sorted(word_ends.union(morpheme_ends))
        return [(text[start:end], start in word_starts) for start, end in zip([0] + cuts, cuts)]

    def spans(self, sentence: str) -> list[tuple[int, int]]:
        """(start, end) character offsets of every morpheme piece in the sentence."""
        spans, position = [], 0
        for piece, _ in self.pieces(sentence):
            start = sentence.index(piece, position)
            position = start + len(piece)
            spans.append((start, position))
        return spans

    def segment(self, sentence: str) -> list[list[str]]:
        """Words of the sentence, each as its list of morpheme pieces (without markers)."""
        words: list[list[str]] = []
        for piece, initial in self.pieces(sentence):
            if initial:
                words.append([piece])
            else:
                words[-1].append(piece)
        return words

    def segment_line(self, sentence: str) -> str:
        """The sentence as space-separated pieces, non-initial pieces marked with `##`."""
        return " ".join(piece if initial else CONTINUATION + piece for piece, initial in self.pieces(sentence))
