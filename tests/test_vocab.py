import unicodedata

import pytest

from krelectra.corpus.sources import konlpy_corpus_dir
from krelectra.errors import KrelectraError
from krelectra.io import read_json
from krelectra.vocab.alphabet import guaranteed_alphabet, ks_x_1001_hangul
from krelectra.vocab.morphemes import MorphemeSegmenter
from krelectra.vocab.report import piece_lengths, vocab_report
from krelectra.vocab.tokenizer import SPECIAL_TOKENS, read_vocab, write_tokenizer_dir
from krelectra.vocab.wordpiece import train_wordpiece

ALPHABET = guaranteed_alphabet(["ks_x_1001_hangul", "compatibility_jamo", "ascii"])


@pytest.fixture(scope="module")
def law_sentences():
    text = (konlpy_corpus_dir() / "kolaw" / "constitution.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory, law_sentences):
    tmp = tmp_path_factory.mktemp("vocab")
    segmenter = MorphemeSegmenter()
    morphemes = tmp / "morphemes.txt"
    morphemes.write_text("".join(segmenter.segment_line(s) + "\n" for s in law_sentences), encoding="utf-8")
    vocab = train_wordpiece([morphemes], 5500, ALPHABET)
    write_tokenizer_dir(vocab, tmp / "tokenizer")
    return tmp / "tokenizer"


def test_morpheme_pieces_join_back_to_every_word(law_sentences):
    segmenter = MorphemeSegmenter()
    for sentence in law_sentences:
        words = segmenter.words(sentence)
        assert ["".join(pieces) for pieces in segmenter.segment(sentence)] == words
    assert segmenter.fallbacks == 0


def test_inflected_forms_keep_their_surface_text():
    # Mecab-Ko analyses 갔 as 가/VV + 았/EP; the piece must stay 갔.
    assert MorphemeSegmenter().segment_line("학교에 갔습니다.") == "학교 ##에 갔 ##습니다 ."


def reference_line(segmenter: MorphemeSegmenter, sentence: str) -> str:
    """The documented rule, one sentence at a time: `pieces`, continuation pieces marked."""
    return " ".join(piece if initial else "##" + piece for piece, initial in segmenter.pieces(sentence))


# Sentences the batch path must get right or hand to `pieces`: punctuation runs, CJK
# inside and beside words, isolated characters at both ends, spaces at the ends and in
# runs, white space Mecab-Ko skips (tab, vertical tab) or keeps in a morpheme (NBSP,
# ideographic space; all of Python's white space below), NUL, a control character,
# "#", characters beyond the BMP (an emoji; an ideograph of CJK extension B, which is
# isolated), an empty sentence and one with a line break.
TRICKY = [
    "3.14는 원주율... e-mail!",
    "(가)항: “국민”은 漢字로 國民이다.",
    "...시작과 끝!?",
    " 앞에 공백",
    "뒤에 공백 ",
    "두  칸  공백",
    "두 칸  (괄호)  앞뒤   세 칸",
    "탭\t문자",
    "줄\x0b바꿈",
    "널\x00문자",
    "표시\x01문자",
    "#해시태그 #두개",
    "이모지😀와 한자𠀀자",
    "",
    "줄\n바꿈",
    "ㅋㅋㅋ 진짜 웃겨요 ㅠㅠ",
]
# Every character Python's str.split() (and so the word rule) splits at, between two words.
TRICKY += [f"말{chr(code)}글." for code in range(0x110000) if chr(code).isspace()]


def test_batch_segmentation_equals_the_per_sentence_rule(law_sentences):
    segmenter, one_by_one, reference = MorphemeSegmenter(), MorphemeSegmenter(), MorphemeSegmenter()
    # Clean text (the fast path for every batch) and text that needs `pieces` here and there.
    for batch in (law_sentences, TRICKY, law_sentences[:40] + TRICKY + law_sentences[40:80]):
        expected = "".join(reference_line(reference, sentence) + "\n" for sentence in batch)
        assert segmenter.segment_lines(batch) == expected
        assert [one_by_one.segment_line(sentence) for sentence in batch] == expected.split("\n")[:-1]
    # Surface mismatches are still counted, once per sentence: the one with NUL (which ends
    # Mecab-Ko's input), in two batches.
    assert segmenter.fallbacks == one_by_one.fallbacks == reference.fallbacks == 2


def test_batch_segmentation_of_hand_checked_sentences():
    segmenter = MorphemeSegmenter()
    # Mecab-Ko: 3 . 14 는 원주율 . .. e - mail ! -- every punctuation mark is a word.
    assert segmenter.segment_line("3.14는 원주율... e-mail!") == "3 . 14 ##는 원주율 . . . e - mail !"
    assert segmenter.segment_lines(["학교에 갔습니다.", "", "#해시"]) == "학교 ##에 갔 ##습니다 .\n\n# 해시\n"


def test_batch_path_takes_space_runs_control_characters_and_astral_characters():
    # Text the batch path (`_rewrite`) segments itself, without `pieces`: spaces in runs and
    # at both ends, a line of spaces, an empty line, a control character (Mecab-Ko makes it a
    # morpheme), characters beyond the BMP (an emoji inside a word; an ideograph of CJK
    # extension B, isolated), two ideographs in one Mecab-Ko surface (漢字, split).
    segmenter = MorphemeSegmenter()
    batch = ["  두  칸  漢字로  ", "   ", "", "이모지😀와 한자𠀀자", "표시\x01문자"]
    lines = segmenter._rewrite(batch, [segmenter._tagger.parse(sentence) for sentence in batch])
    assert lines == "두 칸 漢 字 로\n\n\n이 ##모지 ##😀 ##와 한자 𠀀 자\n표시 ##\x01 ##문자\n"
    assert lines == "".join(reference_line(segmenter, sentence) + "\n" for sentence in batch)


# White space the word rule splits at but Mecab-Ko skips (tab) or keeps as a morpheme (NBSP,
# ideographic space), NUL (the end of Mecab-Ko's input), a line break inside a sentence.
@pytest.mark.parametrize("sentence", ["탭\t문자", "말\xa0글", "말\u3000글", "널\x00문자", "줄\n바꿈"])
def test_batch_path_leaves_unusual_white_space_nul_and_line_breaks_to_pieces(sentence):
    segmenter = MorphemeSegmenter()
    batch = ["국민의 권리", sentence]
    assert segmenter._rewrite(batch, [segmenter._tagger.parse(s) for s in batch]) is None
    assert segmenter.segment_lines(batch) == "".join(reference_line(segmenter, s) + "\n" for s in batch)


def test_segment_lines_rewrites_at_most_a_batch_at_a_time(monkeypatch, law_sentences):
    # A long document comes in one call; `_rewrite`'s arrays (about 70 bytes a character)
    # must still cover one batch of BATCH_SENTENCES at most.
    from krelectra.vocab import morphemes

    segmenter, sizes = MorphemeSegmenter(), []
    rewrite = MorphemeSegmenter._rewrite
    monkeypatch.setattr(morphemes, "BATCH_SENTENCES", 7)
    monkeypatch.setattr(
        segmenter, "_rewrite", lambda sentences, parsed: sizes.append(len(sentences)) or rewrite(sentences, parsed)
    )
    lines = segmenter.segment_lines(law_sentences)
    assert lines == "".join(reference_line(segmenter, sentence) + "\n" for sentence in law_sentences)
    assert max(sizes) == 7 and sum(sizes) == len(law_sentences)


def test_segment_shard_writes_every_training_sentence_segmented(tmp_path, law_sentences):
    from krelectra.vocab.segment import is_heldout, segment_shard

    documents = [law_sentences[i : i + 7] for i in range(0, 700, 7)]
    shard = tmp_path / "shard.txt"
    shard.write_text("".join("\n".join(document) + "\n\n" for document in documents), encoding="utf-8")
    paths = tmp_path / "m.txt", tmp_path / "h.txt", tmp_path / "stats.json"
    counts = segment_shard(shard, *paths, heldout_fraction=0.2)
    training = [document for document in documents if not is_heldout(document, 0.2)]
    segmenter = MorphemeSegmenter()
    expected = [reference_line(segmenter, sentence) for document in training for sentence in document]
    assert paths[0].read_text(encoding="utf-8").splitlines() == expected
    assert 0 < len(training) < len(documents)
    assert counts["sentences"] == len(expected)
    assert counts["bytes"] == sum(len(sentence.encode("utf-8")) for document in training for sentence in document)


def test_ks_x_1001_has_the_2350_syllables_in_use():
    syllables = ks_x_1001_hangul()
    assert len(syllables) == len(set(syllables)) == 2350
    assert {"가", "힝", "똥"} <= set(syllables)
    assert "똠" not in syllables  # the best-known syllable KS X 1001 lacks
    assert all(0xAC00 <= ord(c) <= 0xD7A3 for c in syllables)


def test_vocab_has_special_tokens_first_and_morpheme_pieces(tokenizer_dir):
    vocab = read_vocab(tokenizer_dir / "vocab.txt")
    assert vocab[:5] == SPECIAL_TOKENS == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert len(vocab) == len(set(vocab)) == 5500
    assert {"국민", "##의", "##은", "법률"} <= set(vocab)
    assert {"가", "##가", "ㅋ", "##ㅋ", "a", "##a"} <= set(vocab)  # the guaranteed alphabet


def test_training_is_deterministic(tmp_path, law_sentences):
    segmenter = MorphemeSegmenter()
    morphemes = tmp_path / "m.txt"
    morphemes.write_text("".join(segmenter.segment_line(s) + "\n" for s in law_sentences), encoding="utf-8")
    runs = [train_wordpiece([morphemes], 5600, ALPHABET) for _ in range(3)]
    assert runs[0] == runs[1] == runs[2]


def test_too_small_size_for_the_alphabet_is_an_error(tmp_path):
    (tmp_path / "m.txt").write_text("국민 ##의\n", encoding="utf-8")
    with pytest.raises(KrelectraError, match=r"vocab.size is 1000"):
        train_wordpiece([tmp_path / "m.txt"], 1000, ALPHABET)


def test_electra_tokenizer_loads_the_directory_and_never_decomposes_hangul(tokenizer_dir):
    from transformers import AutoTokenizer, ElectraTokenizer

    for tokenizer in (
        ElectraTokenizer.from_pretrained(str(tokenizer_dir)),
        AutoTokenizer.from_pretrained(str(tokenizer_dir)),
    ):
        text = "대한민국의 주권은 국민에게 있고, 배송이 빨라서 좋았어요 ㅋㅋ Good!"
        tokens = tokenizer.tokenize(text)
        assert "[UNK]" not in tokens
        assert not any(0x1100 <= ord(c) <= 0x11FF for t in tokens for c in t), "Hangul decomposed to jamo"
        assert tokens[:2] == ["대한민국", "##의"]
        assert "Good" in tokenizer.decode(tokenizer(text)["input_ids"])
        assert tokenizer.convert_tokens_to_ids(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]) == [0, 1, 2, 3, 4]
        nfd = unicodedata.normalize("NFD", "국민")
        assert tokenizer.tokenize("국민") != [] and nfd != "국민"


def test_report_measures_unk_and_boundaries(tmp_path, tokenizer_dir):
    heldout = tmp_path / "heldout.txt"
    heldout.write_text("국민의 권리와 의무.\n\n🙂🙂 웃겨\n", encoding="utf-8")
    report = vocab_report(tokenizer_dir, {"all": [heldout]}, tmp_path / "report.json")["heldout"]["all"]
    assert report["eojeols"] == 5
    # 🙂🙂 is not in the vocabulary: one [UNK] among the tokens.
    assert 0 < report["unk_rate"] < 0.2
    assert report["boundary_recall"] > 0.5
    assert 0 <= report["exact_eojeol_agreement"] <= 1


def test_report_writes_tokens_and_morphemes_per_eojeol_and_piece_lengths(tmp_path, tokenizer_dir):
    heldout = tmp_path / "heldout.txt"
    heldout.write_text("국민의 권리와 의무.\n\n🙂🙂 웃겨\n", encoding="utf-8")
    vocab_report(tokenizer_dir, {"all": [heldout]}, tmp_path / "report.json", tmp_path / "distributions.json")
    distributions = read_json(tmp_path / "distributions.json")
    held = distributions["heldout"]["all"]
    # WordPiece: 국민|##의, 권리|##와, 의무|., [UNK], 웃|##겨; the period starts inside 의무.
    # Mecab-Ko: 국민|의, 권리|와, 의무|., 🙂🙂, 웃겨 (one inflected form).
    assert (held["sentences"], held["eojeols"], held["tokens"]) == (2, 5, 9)
    assert held["wordpiece_per_eojeol"] == {"1": 1, "2": 4}
    assert held["morphemes_per_eojeol"] == {"1": 2, "2": 3}
    lengths = distributions["piece_lengths"]
    assert distributions["vocab_size"] == 5500
    assert sum(lengths["word_initial"].values()) + sum(lengths["continuation"].values()) == 5500 - 5


def test_piece_lengths_count_characters_without_the_continuation_mark():
    pieces = [*SPECIAL_TOKENS, "가", "##가", "국민", "##의", "민주공화국", "##습니다", ""]
    assert piece_lengths(pieces) == {"word_initial": {1: 1, 2: 1, 5: 1}, "continuation": {1: 2, 3: 1}}
