"""One normalisation of text wherever the model sees it (krelectra/text.py: NFC): the
same Korean text in another Unicode form gives the same tokens through the shipped
tokenizer and the finetuning inputs; text already in NFC is untouched (pretraining
examples byte-identical); long words are split, not dropped; and the forms that stay
distinct by decision are pinned down."""

import json
import shutil
import unicodedata

import numpy as np
import pytest

from krelectra.corpus.clean import Cleaner, CleaningOptions
from krelectra.errors import KrelectraError
from krelectra.text import applies_rule, normalise, original_offsets, unicode_normalizer, with_rule
from krelectra.vocab.alphabet import DEFAULT_ALPHABET, guaranteed_alphabet, hangul_syllables, ks_x_1001_hangul
from krelectra.vocab.tokenizer import MAX_WORD_CHARS, SPECIAL_TOKENS, load_tokenizer, write_tokenizer_dir

REVIEW = "배송이 빨라서 좋았어요 ㅋㅋ 다음에도 살게요!"
WORDS = ["배송", "##이", "빨라서", "좋", "##았", "##어요", "다음", "##에도", "살", "##게요"]
ALPHABET = guaranteed_alphabet(DEFAULT_ALPHABET)
# Hanja in the vocabulary, as the unified ideographs (what NFC makes of the compatibility ones).
HANJA = ["大", "韓", "民", "國", "樂", "豈", "更", "金", "理"]


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


@pytest.fixture(scope="module")
def vocab_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vocab") / "tokenizer"
    vocab = SPECIAL_TOKENS + ALPHABET + [f"##{c}" for c in ALPHABET] + HANJA + WORDS
    write_tokenizer_dir(list(dict.fromkeys(vocab)), folder)
    return folder


@pytest.fixture(scope="module")
def tokenizer(vocab_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(vocab_dir))


def ids(tokenizer, text):
    return tokenizer(text, add_special_tokens=False)["input_ids"]


# -- the rule -------------------------------------------------------------------------------


def test_normalise_is_the_tokenizers_nfc_and_leaves_normal_text_alone():
    step = unicode_normalizer()
    samples = [REVIEW, nfd(REVIEW), "\uf900\uf901", "ＡＢＣ ﾡ ᄏᄏ ㈜", "\u1100\u1161\u11a8", "plain ascii"]
    samples += [chr(c) for c in range(0xF900, 0xFB00)] + [nfd(s) for s in hangul_syllables()[::37]]
    for text in samples:
        assert normalise(text) == step.normalize_str(text) == unicodedata.normalize("NFC", text)
    assert normalise(REVIEW) is REVIEW  # already NFC: the very same string back


def test_the_shipped_tokenizer_normalises_with_the_rule_first(vocab_dir, tokenizer):
    pipeline = json.loads((vocab_dir / "tokenizer.json").read_text(encoding="utf-8"))
    steps = pipeline["normalizer"]["normalizers"]
    assert steps[0] == {"type": "NFC"}
    assert steps[1]["type"] == "BertNormalizer" and not steps[1]["lowercase"] and not steps[1]["strip_accents"]
    assert applies_rule(tokenizer.backend_tokenizer)
    config = json.loads((vocab_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config["do_lower_case"] is False and config["strip_accents"] is False


# -- forms that give the same tokens ---------------------------------------------------------


def test_decomposed_hangul_gives_the_nfc_tokens(tokenizer):
    expected = ids(tokenizer, REVIEW)
    assert tokenizer.convert_ids_to_tokens(expected)[:2] == ["배송", "##이"]
    assert ids(tokenizer, nfd(REVIEW)) == expected
    encoded = tokenizer(nfd(REVIEW), return_offsets_mapping=True)
    tokens = tokenizer.convert_ids_to_tokens(encoded["input_ids"])
    assert "[UNK]" not in tokens and tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
    # offsets point into the string the caller gave, decomposed as it is; tokenizers ends
    # a composed syllable's span after its first code point (tokenizers#1201), and
    # original_offsets moves the end over the rest
    start, end = encoded["offset_mapping"][1]
    assert nfd(REVIEW)[start:end] == nfd("배송")[:-2]
    (start, end), _ = original_offsets(nfd(REVIEW), encoded["offset_mapping"][1:3])
    assert nfd(REVIEW)[start:end] == nfd("배송")


def test_every_modern_syllable_decomposed_or_typed_as_jamo_gives_its_token(tokenizer):
    backend = tokenizer.backend_tokenizer
    syllables = hangul_syllables()
    composed = [e.ids for e in backend.encode_batch(syllables, add_special_tokens=False)]
    decomposed = [e.ids for e in backend.encode_batch([nfd(s) for s in syllables], add_special_tokens=False)]
    assert composed == decomposed
    # ㄱ + ㅏ + ㄱ as conjoining jamo (U+1100 U+1161 U+11A8) is the syllable 각
    assert ids(tokenizer, "\u1100\u1161\u11a8") == ids(tokenizer, "각")


def test_compatibility_ideographs_give_the_unified_ideographs_tokens(tokenizer):
    changed = [chr(c) for c in range(0xF900, 0xFB00) if unicodedata.normalize("NFC", chr(c)) != chr(c)]
    assert len(changed) > 400
    for char in changed:
        assert ids(tokenizer, char) == ids(tokenizer, unicodedata.normalize("NFC", char)), hex(ord(char))
    # 豈 U+F900 -> 豈 U+8C48, 樂 U+F914 -> 樂 U+6A02: in the vocabulary as unified ideographs
    assert tokenizer.convert_ids_to_tokens(ids(tokenizer, "\uf900\uf914")) == ["豈", "樂"]


# -- forms that stay distinct, by decision (krelectra/text.py) --------------------------------


def test_compatibility_variants_stay_distinct(tokenizer):
    # fullwidth ASCII is not ASCII; NFKC's conjoining jamo are not the compatibility jamo
    assert ids(tokenizer, "ＡＢＣ") != ids(tokenizer, "ABC")
    standalone = unicodedata.normalize("NFKC", "ㅋㅋ")
    assert standalone == "\u110f\u110f"
    assert tokenizer.convert_ids_to_tokens(ids(tokenizer, standalone)) == ["[UNK]"]
    assert tokenizer.convert_ids_to_tokens(ids(tokenizer, "ㅋㅋ")) == ["ㅋ", "##ㅋ"]
    # NFKC would also rewrite the compatibility jamo of text already in NFC: the corpus
    # would change, which is why the rule is NFC
    assert unicodedata.normalize("NFKC", REVIEW) != REVIEW == normalise(REVIEW)


# -- the same function in the corpus stage and in finetuning ----------------------------------


def test_the_corpus_stage_normalises_with_the_same_function():
    cleaner = Cleaner(CleaningOptions())
    text = REVIEW.replace("다음에도", "\uf900 다음에도")
    assert cleaner.sentences(nfd(text)) == [normalise(text)] == [REVIEW.replace("다음에도", "豈 다음에도")]
    with pytest.raises(KrelectraError, match="nfc must be true"):
        CleaningOptions.from_dict({"nfc": False})


@pytest.fixture(scope="module")
def bert_folder(tmp_path_factory):
    """A folder as other models ship it: a BertTokenizer without NFC (e.g. a hub model)."""
    from transformers import BertTokenizer

    folder = tmp_path_factory.mktemp("bert")
    vocab = SPECIAL_TOKENS + ALPHABET + [f"##{c}" for c in ALPHABET] + HANJA + WORDS
    (folder / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n", encoding="utf-8")
    BertTokenizer(vocab=str(folder / "vocab.txt"), do_lower_case=False, strip_accents=False).save_pretrained(folder)
    return folder


def test_finetuning_inputs_are_normalised_for_any_model(bert_folder):
    from transformers import AutoTokenizer

    from krelectra.finetune.features import encode_sequences, encode_words
    from krelectra.finetune.train import load_tokenizer

    plain = AutoTokenizer.from_pretrained(bert_folder)
    assert not applies_rule(plain.backend_tokenizer)
    assert "[UNK]" in plain.tokenize(nfd(REVIEW))  # the fault this fixes
    tokenizer = load_tokenizer(str(bert_folder))
    assert applies_rule(tokenizer.backend_tokenizer)
    same = [{"text": REVIEW, "text_pair": "豈樂 大韓民國", "label": "1"}]
    other = [{"text": nfd(REVIEW), "text_pair": "\uf900\uf914 大韓民國", "label": "1"}]
    labels = {"0": 0, "1": 1}
    assert encode_sequences(tokenizer, other, 64, labels, True) == encode_sequences(tokenizer, same, 64, labels, True)
    # NER words: a compatibility ideograph (樂 U+F914) as in the real NER test file
    words_nfc = {"words": ["樂", "배송이"], "tags": ["O", "O"]}
    words_other = {"words": ["\uf914", nfd("배송이")], "tags": ["O", "O"]}
    tag_ids = {"O": 0}
    a = encode_words(tokenizer, [words_nfc], 64, tag_ids, True)
    b = encode_words(tokenizer, [words_other], 64, tag_ids, True)
    assert a.features == b.features and a.first_token == b.first_token
    assert with_rule(tokenizer) is tokenizer  # applying it twice adds nothing
    assert json.loads(tokenizer.backend_tokenizer.to_str())["normalizer"]["normalizers"][0] == {"type": "NFC"}
    assert len(json.loads(tokenizer.backend_tokenizer.to_str())["normalizer"]["normalizers"]) == 2


def test_korquad_answers_of_a_decomposed_context_are_found_and_cut_verbatim(bert_folder):
    from krelectra.finetune import qa
    from krelectra.finetune.features import encode_qa
    from krelectra.finetune.metrics import korquad_scores
    from krelectra.finetune.train import load_tokenizer

    tokenizer = load_tokenizer(str(bert_folder))
    context = nfd("배송이 빨라서 좋았어요 다음에도 살게요")
    answer = nfd("좋았어요")
    example = {
        "id": "q1",
        "question": nfd("배송이 어땠나요"),
        "context": context,
        "answers": [{"text": answer, "answer_start": context.index(answer)}],
    }
    features = encode_qa(tokenizer, [example], max_length=24, doc_stride=8, max_query_length=8, with_labels=True)
    feature = features.features[0]
    start, end = feature["start_positions"], feature["end_positions"]
    assert (start, end) != (0, 0)
    offsets = features.offsets[0]
    assert context[offsets[start][0] : offsets[end][1]] == answer  # offsets into the given (NFD) context
    # a model that points at the gold span: the prediction is the context's own text
    length = len(feature["input_ids"])
    start_logits, end_logits = np.zeros((1, length)), np.zeros((1, length))
    start_logits[0, start] = end_logits[0, end] = 10.0
    predictions = qa.decode(start_logits, end_logits, features, [example], n_best_size=5, max_answer_length=10)
    assert predictions == {"q1": answer}
    assert korquad_scores(predictions, {"q1": [answer]})["exact_match"] == 100.0


# -- pretraining text already in NFC is untouched ---------------------------------------------


def _corpus_lines():
    from pathlib import Path

    import konlpy

    corpus = Path(konlpy.__file__).parent / "data" / "corpus"
    lines = [line for path in sorted(corpus.glob("*/*.txt")) for line in path.read_text("utf-8").splitlines()]
    spoken = Path(__file__).resolve().parents[1] / "resources" / "corpus" / "spoken_sample.txt"
    lines += spoken.read_text(encoding="utf-8").splitlines()
    return [normalise(" ".join(line.split())) for line in lines if line.strip()]


def test_normal_text_gives_the_ids_of_the_previous_pipeline(vocab_dir, tokenizer):
    """The tokenizer before this change: BertTokenizer over vocab.txt, cased, no NFC."""
    from transformers import BertTokenizer

    lines = _corpus_lines()
    assert all(len(word) <= MAX_WORD_CHARS for line in lines for word in line.split())
    previous = BertTokenizer(vocab=str(vocab_dir / "vocab.txt"), do_lower_case=False, strip_accents=False)
    old = [e.ids for e in previous.backend_tokenizer.encode_batch(lines, add_special_tokens=False)]
    new = [e.ids for e in tokenizer.backend_tokenizer.encode_batch(lines, add_special_tokens=False)]
    assert len(lines) > 3000 and old == new


def test_pretraining_examples_of_normal_text_are_byte_identical(pretrain_corpus, tmp_path, monkeypatch):
    from transformers import BertTokenizer

    from krelectra.pretrain import examples
    from krelectra.pretrain.examples import ExampleConfig, build_examples

    shards, vocab = pretrain_corpus
    config = ExampleConfig(max_seq_length=64, eval_fraction=0.05)
    outputs = {}
    previous = BertTokenizer(vocab=str(vocab / "vocab.txt"), do_lower_case=False, strip_accents=False)
    for name in ("shipped", "previous"):
        if name == "previous":
            monkeypatch.setattr(examples, "load_tokenizer", lambda folder: previous.backend_tokenizer)
        paths = [tmp_path / name / f for f in ("train.tfrecord", "eval.tfrecord", "stats.json")]
        build_examples(shards[0], vocab, *paths, config, seed=3)
        outputs[name] = [p.read_bytes() for p in paths[:2]]
    assert outputs["shipped"] == outputs["previous"]
    assert len(outputs["shipped"][0]) > 10_000


# -- long words and characters the vocabulary lacks -------------------------------------------


def test_a_long_word_is_split_into_pieces_not_dropped(tokenizer, vocab_dir):
    from transformers import ElectraTokenizer

    word = "배송이빨라서좋았어요" * 25  # 250 characters, no space (informal text does this)
    tokens = tokenizer.tokenize(word)
    assert "[UNK]" not in tokens
    assert "".join(t.removeprefix("##") for t in tokens) == word
    # cut into chunks of 100 characters: each chunk starts a new word
    starts = [i for i, t in enumerate(tokens) if not t.startswith("##")]
    assert len(starts) == 3
    # ElectraTokenizer (BertTokenizer in transformers 5) rebuilds the pipeline from
    # vocab.txt with WordPiece's 100-character limit: the documented difference
    assert ElectraTokenizer.from_pretrained(str(vocab_dir)).tokenize(word) == ["[UNK]"]


def test_electra_tokenizer_gives_the_same_ids_on_nfc_text_and_lacks_nfc(vocab_dir, tokenizer):
    from transformers import ElectraTokenizer

    electra = ElectraTokenizer.from_pretrained(str(vocab_dir))
    assert electra(REVIEW, "大韓民國")["input_ids"] == tokenizer(REVIEW, "大韓民國")["input_ids"]
    assert electra(REVIEW, "大韓民國")["token_type_ids"] == tokenizer(REVIEW, "大韓民國")["token_type_ids"]
    # the limit of transformers 5 (its BertTokenizer ignores tokenizer.json's normalizer)
    assert "[UNK]" in electra.tokenize(nfd(REVIEW))


def test_a_syllable_outside_ks_x_1001_costs_a_word_unless_the_full_block_is_chosen(tmp_path):
    from krelectra.vocab.wordpiece import train_wordpiece

    assert "됬" not in ks_x_1001_hangul() and "됬" in hangul_syllables()
    assert len(hangul_syllables()) == 11172 and set(ks_x_1001_hangul()) <= set(hangul_syllables())
    morphemes = tmp_path / "m.txt"
    morphemes.write_text("잘 되 ##었 ##어요\n잘 했 ##어요\n" * 3, encoding="utf-8")
    results = {}
    for name, sets in (("ks", DEFAULT_ALPHABET), ("full", ["hangul_syllables", "compatibility_jamo", "ascii"])):
        vocab = train_wordpiece([morphemes], 30000, guaranteed_alphabet(sets))
        write_tokenizer_dir(vocab, tmp_path / name)
        results[name] = (len(vocab), load_tokenizer(tmp_path / name).tokenize("잘 됬어요"))
    assert results["ks"][1] == ["잘", "[UNK]"]
    assert "[UNK]" not in results["full"][1] and results["full"][1][0] == "잘"
    # the documented cost: 2 entries (plain and ##) for each of the 8,822 extra syllables
    assert results["full"][0] - results["ks"][0] == 2 * (11172 - 2350)


def test_the_report_names_the_characters_that_cost_unk(vocab_dir, tmp_path):
    from krelectra.vocab.report import vocab_report

    heldout = tmp_path / "heldout.txt"
    heldout.write_text("잘 됬어요 됬다\n\n🙂 좋았어요\n", encoding="utf-8")
    report = vocab_report(vocab_dir, {"all": [heldout]}, tmp_path / "report.json")["heldout"]["all"]
    assert report["unk_words"] == 3
    assert report["unk_characters"] == [
        {"char": "됬", "codepoint": "U+B42C", "name": "HANGUL SYLLABLE DOESS", "unk_words": 2},
        {"char": "🙂", "codepoint": "U+1F642", "name": "SLIGHTLY SMILING FACE", "unk_words": 1},
    ]
    assert report["unk_without_missing_character"] == 0


def test_a_stale_tokenizer_json_is_refused(vocab_dir, tmp_path):
    stale = tmp_path / "stale"
    shutil.copytree(vocab_dir, stale)
    lines = (stale / "vocab.txt").read_text(encoding="utf-8").splitlines()
    lines[10], lines[11] = lines[11], lines[10]
    (stale / "vocab.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(KrelectraError, match=r"tokenizer.json and vocab.txt disagree \(line 11"):
        load_tokenizer(stale)
