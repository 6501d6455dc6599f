"""Splitting text into Mecab-Ko morphemes by surface spans.

Each word (the unit ElectraTokenizer sees after its normaliser and pre-tokeniser:
whitespace and punctuation split, CJK characters isolated) is cut at Mecab-Ko's
morpheme boundaries. Pieces are substrings of the word, so they always join back to
it: Mecab-Ko's decomposed forms of inflections (갔 -> 가/VV + 았/EP) never change the
text. Non-initial pieces carry the WordPiece continuation prefix `##`.
"""

from __future__ import annotations

from functools import cached_property

CONTINUATION = "##"


class MorphemeSegmenter:
    def __init__(self) -> None:
        self.fallbacks = 0  # sentences where Mecab-Ko's surfaces did not match the text

    @cached_property
    def _tagger(self):
        import mecab_ko

        # Wakati output: the surfaces only, space separated (the fastest output format).
        return mecab_ko.Tagger("-Owakati")

    @cached_property
    def _normalizer(self):
        from tokenizers import normalizers

        # The same normalisation ElectraTokenizer applies with do_lower_case=False.
        return normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                          strip_accents=False, lowercase=False)

    @cached_property
    def _pre_tokenizer(self):
        from tokenizers import pre_tokenizers

        return pre_tokenizers.BertPreTokenizer()

    def words(self, sentence: str) -> tuple[str, list[tuple[str, tuple[int, int]]]]:
        """The normalised sentence and its words with character offsets."""
        normalised = self._normalizer.normalize_str(sentence)
        return normalised, self._pre_tokenizer.pre_tokenize_str(normalised)

    def morpheme_boundaries(self, normalised: str) -> set[int] | None:
        """Offsets (into the text with whitespace removed) where a Mecab-Ko morpheme ends."""
        surfaces = self._tagger.parse(normalised).split()
        boundaries, position = set(), 0
        for surface in surfaces:
            position += len(surface)
            boundaries.add(position)
        if position != sum(1 for c in normalised if not c.isspace()):
            return None
        return boundaries

    def segment(self, sentence: str) -> list[list[str]]:
        """Words of the sentence, each as its list of morpheme pieces (without markers)."""
        normalised, words = self.words(sentence)
        boundaries = self.morpheme_boundaries(normalised)
        if boundaries is None:
            self.fallbacks += 1
            return [[word] for word, _ in words]
        result, position = [], 0
        for word, _ in words:
            pieces, start = [], 0
            for i in range(1, len(word)):
                if position + i in boundaries:
                    pieces.append(word[start:i])
                    start = i
            pieces.append(word[start:])
            position += len(word)
            result.append(pieces)
        return result

    def segment_line(self, sentence: str) -> str:
        """The sentence as space-separated pieces, non-initial pieces marked with `##`."""
        out = []
        for pieces in self.segment(sentence):
            out.append(pieces[0])
            out.extend(CONTINUATION + p for p in pieces[1:])
        return " ".join(out)
