"""Splitting text into Mecab-Ko morphemes by surface spans.

Each word (the unit ElectraTokenizer sees after its normaliser and pre-tokeniser:
whitespace and punctuation split, CJK characters isolated) is cut at Mecab-Ko's
morpheme boundaries. Pieces are substrings of the word, so they always join back to
it: Mecab-Ko's decomposed forms of inflections (갔 -> 가/VV + 았/EP) never change the
text. Non-initial pieces carry the WordPiece continuation prefix `##`.

`MorphemeSegmenter.pieces` states the rule one sentence at a time. The vocabulary stage
segments whole shards with `segment_lines`, which gives the same lines with one Mecab-Ko
call per sentence and nothing else per sentence: Mecab-Ko writes every morpheme with the
white space before it and a mark after it, and a few string operations over the whole
batch turn that into the output (see `_rewrite`). Sentences those cannot express (rare
white space, NUL, the mark itself) go through `pieces`.
"""

from __future__ import annotations

import re
import shlex
import sys
import unicodedata
from collections.abc import Sequence
from functools import cache, cached_property
from itertools import accumulate

CONTINUATION = "##"

# Sentences per `segment_lines` call in the vocabulary stage: large enough that the
# per-call string operations cost nothing beside Mecab-Ko's parse of every sentence.
BATCH_SENTENCES = 2000

# Mecab-Ko's output in the batch path: every morpheme as the white space before it and its
# surface (MeCab's %M), then MARK; " \n" after each sentence. So a morpheme that directly
# follows another comes after MARK, one after a space after MARK and the space.
# MARK is a control character, which the corpus stage and ElectraTokenizer's normaliser
# both remove; text that holds one goes the careful way.
_MARK = "\x01"
_NODE_FORMAT = f"%M{_MARK}"
_EOS_FORMAT = r"\s\n"  # MeCab's escapes for a space and a line break
# In the sentences, what makes `_rewrite` leave a batch to `pieces`: white space other than
# " " (str.isspace: words split at it, but Mecab-Ko keeps some of it inside morphemes; a
# line break would split the line), NUL (it ends the C string Mecab-Ko reads); and
# characters beyond the Basic Multilingual Plane (handled, with a slower pattern).
_UNUSUAL = re.compile("[\t\n\x0b\x0c\r\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\x00]")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_UNUSUAL_OR_ASTRAL = re.compile(_UNUSUAL.pattern[:-1] + _ASTRAL.pattern[1:])


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
def _isolated_class(limit: int) -> str:
    """The characters below `limit` that `_is_isolated` accepts, as the inside of a
    regular-expression character class (ranges of consecutive code points, so it stays
    small). A class that stays in the Basic Multilingual Plane is matched by a bitmap
    lookup; with characters beyond it, by a scan of all ranges (3x slower), so callers
    use the full class only for text that needs it."""
    codes = [c for c in range(limit) if not 0xD800 <= c <= 0xDFFF and _is_isolated(chr(c))]
    ranges, start = [], codes[0]
    for previous, code in zip(codes, codes[1:] + [-1]):  # -1: no next code point
        if code != previous + 1:
            ranges.append(re.escape(chr(start)) + ("" if previous == start else "-" + re.escape(chr(previous))))
            start = code
    return "".join(ranges)


@cache
def _word_pattern(limit: int) -> re.Pattern:
    """One regular expression that finds ElectraTokenizer's words in clean text (a C loop,
    several times faster than calling the tokenizer's pre-tokeniser per sentence), for
    text whose characters are all below `limit`."""
    isolated = _isolated_class(limit)
    return re.compile(f"[{isolated}]|[^\\s{isolated}]+")


@cache
def _isolated_splitter(limit: int) -> re.Pattern:
    """Splits Mecab-Ko's marked output at every isolated character (kept, as a group) and
    drops the boundary that follows it (MARK, and a space after it)."""
    return re.compile(f"([{_isolated_class(limit)}])(?:{_MARK} ?)?")


@cache
def _mecab(arguments: str):
    """One Mecab-Ko tagger per set of arguments and process (loading the dictionary takes
    about 0.1 s; a tagger keeps no state from one sentence to the next)."""
    import mecab_ko

    return mecab_ko.Tagger(arguments)


class MorphemeSegmenter:
    def __init__(self) -> None:
        self.fallbacks = 0  # sentences where Mecab-Ko's surfaces did not match the text

    @property
    def _tagger(self):
        # Wakati output: the surfaces only, space separated.
        return _mecab("-Owakati")

    @property
    def _marking_tagger(self):
        # The same analysis (the output format changes nothing else), written for the batch path.
        return _mecab(f"-F{shlex.quote(_NODE_FORMAT)} -E{shlex.quote(_EOS_FORMAT)}")

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
        limit = 0x10000 if _ASTRAL.search(sentence) is None else sys.maxunicode + 1
        return _word_pattern(limit).findall(sentence)

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
        return self.segment_lines([sentence])[:-1]

    def _careful_line(self, sentence: str) -> str:
        return " ".join(piece if initial else CONTINUATION + piece for piece, initial in self.pieces(sentence))

    def segment_lines(self, sentences: Sequence[str]) -> str:
        """`segment_line` of every sentence, each followed by "\\n", as one string.

        One Mecab-Ko call per sentence; the rest is done on the whole batch by `_rewrite`.
        A batch it cannot take is split up, down to single sentences, and a sentence it
        cannot take goes through `pieces` (the same result; Mecab-Ko parses it again)."""
        parsed = list(map(self._marking_tagger.parse, sentences))
        return self._lines(sentences, parsed)

    def _lines(self, sentences: Sequence[str], parsed: list[str]) -> str:
        lines = self._rewrite(sentences, parsed)
        if lines is not None:
            return lines
        if len(sentences) == 1:
            return self._careful_line(sentences[0]) + "\n"
        step = -(-len(sentences) // 8)
        return "".join(
            self._lines(sentences[i : i + step], parsed[i : i + step]) for i in range(0, len(sentences), step)
        )

    @staticmethod
    def _rewrite(sentences: Sequence[str], parsed: list[str]) -> str | None:
        """The lines of `segment_lines` from Mecab-Ko's marked output, or None when the text
        has something the marks cannot express (then `pieces` decides).

        In the marked output every morpheme ends with MARK, a space before a morpheme is
        kept, and every sentence ends with a space. Each isolated character (punctuation,
        CJK) becomes a word of its own: it gets a space on both sides and the MARK after
        it goes. Then MARK before a space (a word boundary) goes, the spaces at the ends
        of a line go, and every other MARK (a morpheme boundary inside a word) becomes
        " ##"."""
        if not sentences:
            return ""
        text, marked = "".join(sentences), "".join(parsed)
        # MeCab writes every character it read, once, and MARK once per morpheme: text it
        # does not return (after a NUL, trailing spaces) or a MARK in the text shows in the
        # lengths (the check `pieces` makes with the surfaces).
        if len(marked) - marked.count(_MARK) != len(text) + 2 * len(sentences) or "  " in text:
            return None  # (spaces in a row: the rewrite removes one extra space, not more)
        limit = 0x10000
        if _UNUSUAL_OR_ASTRAL.search(text):
            if _UNUSUAL.search(text):
                return None
            limit = sys.maxunicode + 1
        lines = " ".join(_isolated_splitter(limit).split(marked))
        lines = (
            lines.replace("  ", " ")  # two isolated characters in a row, or one after a space
            .replace(_MARK + " ", " ")  # word boundaries
            .replace("\n ", "\n")  # the ends of a line
            .replace(" \n", "\n")
            .replace(_MARK, " " + CONTINUATION)  # morpheme boundaries inside a word
        )
        return lines[1:] if lines[0] == " " else lines
