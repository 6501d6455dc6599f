"""Splitting text into Mecab-Ko morphemes by surface spans.

Each word (the unit ElectraTokenizer sees after its normaliser and pre-tokeniser:
whitespace and punctuation split, CJK characters isolated) is cut at Mecab-Ko's
morpheme boundaries. Pieces are substrings of the word, so they always join back to
it: Mecab-Ko's decomposed forms of inflections (갔 -> 가/VV + 았/EP) never change the
text. Non-initial pieces carry the WordPiece continuation prefix `##`.

`MorphemeSegmenter.pieces` states the rule one sentence at a time. The vocabulary stage
segments whole shards with `segment_lines`, which gives the same lines with one Mecab-Ko
`-Owakati` call per sentence (the same call `pieces` makes) and nothing else per sentence:
array operations over the whole batch line its morphemes up with the text's spaces and
isolated characters (see `_rewrite`). Sentences those cannot take (white space other than
the space, NUL, surfaces that are not the text) go through `pieces`.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Sequence
from functools import cache, cached_property
from itertools import accumulate

import numpy as np

CONTINUATION = "##"

# Sentences per `_rewrite` call (and per `segment_lines` call in the vocabulary stage):
# large enough that the per-call array operations cost nothing beside Mecab-Ko's parse of
# every sentence, small enough that their arrays stay a few MB.
BATCH_SENTENCES = 2000

# What `_character_kinds` says of a character: ISOLATED (a word of its own), UNUSUAL (white
# space other than " ": words split at it, but Mecab-Ko skips some of it and makes morphemes
# of the rest; NUL, which ends the C string Mecab-Ko reads): text that holds an UNUSUAL
# character goes through `pieces`. "\n" is neither: `_rewrite` uses it to end each line.
_ISOLATED, _UNUSUAL = 1, 2
_BMP = 0x10000
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


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
def _character_kinds() -> np.ndarray:
    """`_ISOLATED` or `_UNUSUAL` (or 0) for every code point of the Basic Multilingual Plane,
    as a uint8 array of 0x10001 entries; the last one (0) stands for every character
    beyond the plane, which `_rewrite` looks up one by one (they are rare)."""
    kinds = np.zeros(_BMP + 1, dtype=np.uint8)
    for code in range(_BMP):
        char = chr(code)
        if _is_isolated(char):
            kinds[code] = _ISOLATED
        elif (char.isspace() and char not in " \n") or char == "\0":
            kinds[code] = _UNUSUAL
    return kinds


def _code_points(text: str) -> np.ndarray:
    """The text's code points, one uint32 per character."""
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def _after(mask: np.ndarray, first: bool) -> np.ndarray:
    """mask shifted one place on: entry i is mask[i - 1], entry 0 is `first`."""
    shifted = np.empty_like(mask)
    shifted[0] = first
    shifted[1:] = mask[:-1]
    return shifted


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

        One Mecab-Ko `-Owakati` call per sentence; the rest is done by `_rewrite` on
        batches of BATCH_SENTENCES (its arrays take about 70 bytes per character, so the
        batch, not the caller, bounds that memory). A batch it cannot take is split up,
        down to single sentences, and a sentence it cannot take goes through `pieces` (the
        same result; Mecab-Ko parses it again)."""
        parse = self._tagger.parse
        batches = (sentences[i : i + BATCH_SENTENCES] for i in range(0, len(sentences), BATCH_SENTENCES))
        return "".join(self._lines(batch, list(map(parse, batch))) for batch in batches)

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
        """The lines of `segment_lines` from Mecab-Ko's `-Owakati` output of each sentence,
        or None when the text has something they cannot express (then `pieces` decides).

        The rule of `pieces`, for a whole batch at once, on arrays of code points: the
        sentences' characters other than " " (each line ended by "\\n") must be those of the
        wakati output without its separators (else Mecab-Ko changed the text, None). Each
        such character starts a word if a space comes before it in the text, or it or the
        character before it is isolated; it starts a morpheme if a separator comes before
        it in the wakati output. The output writes each character after " " where it starts
        a word and after " ##" where it only starts a morpheme, except at the start of a
        line; spaces in the text go. Costs about 1% of the parse that made `parsed`."""
        if not sentences:
            return ""
        text = _code_points("\n".join(sentences) + "\n")
        wakati = _code_points("".join(parsed))
        text_space, separator = text == ord(" "), wakati == ord(" ")
        text_kept, wakati_kept = np.flatnonzero(~text_space), np.flatnonzero(~separator)
        chars = text.take(text_kept)
        if len(chars) != len(wakati_kept) or not np.array_equal(wakati.take(wakati_kept), chars):
            return None
        line_end = chars == ord("\n")
        if np.count_nonzero(line_end) != len(sentences):
            return None  # a line break inside a sentence
        kinds = _character_kinds().take(chars, mode="clip")  # every astral character at _BMP
        if chars.max() >= _BMP:
            astral = np.flatnonzero(chars >= _BMP)
            kinds[astral] = [_ISOLATED if _is_isolated(chr(code)) else 0 for code in chars.take(astral)]
        if (kinds & _UNUSUAL).any():
            return None
        isolated = kinds == _ISOLATED
        # (Index -1, before the first character, wraps round: a line's first character gets no mark.)
        after_space, after_separator = text_space.take(text_kept - 1), separator.take(wakati_kept - 1)
        unmarked = _after(line_end, True) | line_end  # the first character of a line, and its end
        word = (after_space | isolated | _after(isolated, False)) & ~unmarked
        within = after_separator & ~word & ~unmarked
        lengths = 1 + word + (1 + len(CONTINUATION)) * within  # each character and its mark
        ends = np.cumsum(lengths)
        # Every mark is a space, then (" ##") the continuation prefix's "#"s.
        lines = np.full(ends[-1], ord(CONTINUATION[0]), dtype=np.uint32)
        lines[ends - lengths] = ord(" ")  # (a character without a mark overwrites it)
        lines[ends - 1] = chars
        return lines.tobytes().decode("utf-32-le")
