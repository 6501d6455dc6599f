"""Every architecture family of the seed's table as a finetuning starting point: tiny
random encoders built here (tests/encoder_families.py) loaded from a folder through the
Auto classes, their task inputs built by the real finetuning code on the task fixtures,
and what a family cannot do refused with one clear error."""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pytest
from encoder_families import FAMILIES, FIXTURES, build_encoder

from krelectra.errors import KrelectraError
from krelectra.finetune import features as feats
from krelectra.finetune import qa
from krelectra.finetune.models import load_model, load_tokenizer, resolve_source
from krelectra.finetune.tasks import TASKS, load_splits
from krelectra.finetune.train import data_collator, prepare_split, resolve_hyperparameters

WITHOUT_TOKEN_TYPES = {"roberta", "xlm-roberta"}


@pytest.fixture(scope="module")
def encoders(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("encoders")
    return {family: str(build_encoder(family, root / family)) for family in FAMILIES}


def fixture_split(task: str, split: str, limit: int | None = None) -> list[dict]:
    examples = load_splits(TASKS[task], FIXTURES, 0.1, TASKS[task].hyperparameters["seed"])[split].examples
    return examples[:limit] if limit else examples


# -- every head loads and runs --------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_every_task_head_loads_from_the_folder_and_runs_on_its_inputs(encoders, family):
    heads = {"nsmc": "classifier", "paws": "classifier", "korsts": "classifier", "naver-ner": "classifier"}
    for name in ("nsmc", "paws", "korsts", "naver-ner", "korquad"):
        task = TASKS[name]
        tokenizer = load_tokenizer(encoders[family], task)
        model, loading = load_model(task, encoders[family])
        # only the task head is new: the whole encoder came from the checkpoint
        head = heads.get(name, "qa_outputs")
        assert loading["new_parameters"] and all(key.startswith(f"{head}.") for key in loading["new_parameters"])
        hp = resolve_hyperparameters(task, {"max_seq_length": 64, "doc_stride": 16, "max_query_length": 16}, 1)
        split = prepare_split(task, tokenizer, "train", fixture_split(name, "train", 8), hp, with_labels=True)
        batch = data_collator(task, tokenizer)(split.features[:4])
        output = model(**batch)
        assert np.isfinite(output.loss.item()), name
        if task.problem == "extractive_qa":
            assert output.start_logits.shape == batch["input_ids"].shape
        elif task.problem == "token_classification":
            assert output.logits.shape[-1] == len(task.labels)
        else:
            assert output.logits.shape == (4, 1 if task.problem == "regression" else len(task.labels))


# -- NER: the first sub-token of each word ----------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_ner_labels_sit_on_the_first_sub_token_of_each_word(encoders, family):
    task = TASKS["naver-ner"]
    tokenizer = load_tokenizer(encoders[family], task)
    label2id = {label: i for i, label in enumerate(task.labels)}
    examples = fixture_split("naver-ner", "test", 40)
    encoded = feats.encode_words(tokenizer, examples, 128, label2id, with_labels=True)
    for example, feature, positions in zip(examples, encoded.features, encoded.first_token):
        assert None not in positions  # nothing truncated at 128 tokens
        labels = feature["labels"]
        assert [i for i, label in enumerate(labels) if label != feats.IGNORE_INDEX] == positions
        ends = positions[1:] + [len(labels) - 1]  # every family ends a sentence with one special token
        for word, tag, start, end in zip(example["words"], example["tags"], positions, ends):
            assert labels[start] == label2id[tag]
            # The reference tokenizes each word on its own and labels its first token: the
            # tokens here, from the first sub-token on, are exactly that word's tokens.
            alone = tokenizer([[word]], is_split_into_words=True, add_special_tokens=False)["input_ids"][0]
            assert feature["input_ids"][start : start + len(alone)] == alone, (family, word)
            assert end - start == len(alone), (family, word)
    # read back per word from per-token predictions
    predicted = [label2id["O"]] * len(encoded.features[0]["input_ids"])
    predicted[encoded.first_token[0][0]] = label2id["PER-B"]
    words = feats.words_from_token_predictions(predicted, encoded.first_token[0], task.labels)
    assert words == ["PER-B"] + ["O"] * (len(examples[0]["words"]) - 1)


def test_byte_level_bpe_is_given_a_prefix_space_for_pre_split_words(encoders):
    """RoBERTa's tokenizer adds no space before a word given on its own, so a pre-split word
    would get other tokens than in running text; for NER it is loaded with add_prefix_space."""
    plain = load_tokenizer(encoders["roberta"], TASKS["nsmc"])
    ner = load_tokenizer(encoders["roberta"], TASKS["naver-ner"])
    assert plain.add_prefix_space is False and ner.add_prefix_space is True
    running = ner(["김철수가 서울에서 만났다"], add_special_tokens=False)["input_ids"][0]
    split = ner([["김철수가", "서울에서", "만났다"]], is_split_into_words=True, add_special_tokens=False)
    assert split["input_ids"][0][-len(running) + 2 :] == running[2:]  # all but the first word's tokens


# -- KorQuAD: answers mapped back to the context -------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_korquad_answer_tokens_map_back_to_the_answer_in_the_context(encoders, family):
    task = TASKS["korquad"]
    tokenizer = load_tokenizer(encoders[family], task)
    examples = fixture_split("korquad", "train", 60)
    windows = feats.encode_qa(tokenizer, examples, 64, 16, 16, with_labels=True)
    assert not windows.answers_not_found
    seen = whole_words = 0
    start_logits = np.full((len(windows.features), 64), -10.0)
    end_logits = np.full((len(windows.features), 64), -10.0)
    for window, feature in enumerate(windows.features):
        start, end = feature["start_positions"], feature["end_positions"]
        if start == 0:
            continue  # the answer is not in this window
        example = examples[windows.example_index[window]]
        context, answer = example["context"], example["answers"][0]
        begin, stop = windows.offsets[window][start][0], windows.offsets[window][end][1]
        text = context[begin:stop]
        # The tokens' span holds the answer and stays inside its whitespace words.
        first = context.rfind(" ", 0, answer["answer_start"]) + 1
        last = context.find(" ", answer["answer_start"] + len(answer["text"]))
        last = len(context) if last < 0 else last
        assert first <= begin <= answer["answer_start"], (family, text, answer)
        assert answer["answer_start"] + len(answer["text"]) <= stop <= last, (family, text, answer)
        assert text == text.strip() and answer["text"] in text
        seen += 1
        if (first, last) == (answer["answer_start"], answer["answer_start"] + len(answer["text"])):
            assert text == answer["text"]  # an answer that is a whole word is cut exactly
            whole_words += 1
        start_logits[window, start] = end_logits[window, end] = 10.0
    assert seen >= 40 and whole_words >= 5
    # The decoder cuts that same text out of the context.
    predicted = qa.decode(start_logits, end_logits, windows, examples, 20, 30)
    for window, feature in enumerate(windows.features):
        if feature["start_positions"]:
            example = examples[windows.example_index[window]]
            assert example["answers"][0]["text"] in predicted[example["id"]]


def test_korquad_offsets_of_decomposed_hangul_cover_whole_syllables(encoders):
    """Contexts typed as conjoining jamo (NFD): the answer is still cut whole from the text as given."""
    task = TASKS["korquad"]
    context = unicodedata.normalize("NFD", "최지우는 1944년 서울에서 태어났다.")
    example = {"id": "q", "question": "최지우가 태어난 곳은?", "context": context}
    answer = unicodedata.normalize("NFD", "서울")
    example["answers"] = [{"text": answer, "answer_start": context.index(answer)}]
    for family in FAMILIES:
        tokenizer = load_tokenizer(encoders[family], task)
        windows = feats.encode_qa(tokenizer, [example], 64, 16, 16, with_labels=True)
        feature, offsets = windows.features[0], windows.offsets[0]
        text = context[offsets[feature["start_positions"]][0] : offsets[feature["end_positions"]][1]]
        assert unicodedata.normalize("NFC", text).startswith("서울"), (family, text)


# -- sentence pairs ------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_sentence_pairs_follow_the_tokenizers_template(encoders, family):
    task = TASKS["paws"]
    tokenizer = load_tokenizer(encoders[family], task)
    example = fixture_split("paws", "test", 1)[0]
    (feature,) = feats.encode_sequences(tokenizer, [example], 128, {"0": 0, "1": 1}, with_labels=True)
    tokens = tokenizer.convert_ids_to_tokens(feature["input_ids"])
    sep = tokenizer.sep_token
    if family in WITHOUT_TOKEN_TYPES:
        # <s> A </s></s> B </s>, and no token type ids at all (the model has one type)
        assert "token_type_ids" not in feature
        assert tokens[0] == "<s>" and tokens[-1] == sep
        middle = tokens.index(sep)
        assert tokens[middle + 1] == sep and sep not in tokens[middle + 2 : -1]
    else:
        # [CLS] A [SEP] B [SEP] with token types 0 for A and 1 for B
        assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
        middle = tokens.index("[SEP]")
        assert feature["token_type_ids"] == [0] * (middle + 1) + [1] * (len(tokens) - middle - 1)


# -- what a family cannot do: one clear error ------------------------------------------------


def _bert_folder_with(tokenizer, folder, **config):
    from transformers import BertConfig, BertForPreTraining

    tokenizer.save_pretrained(folder)
    sizes = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 64}
    BertForPreTraining(BertConfig(**{"vocab_size": len(tokenizer), **sizes, **config})).save_pretrained(folder)
    return str(folder)


def test_a_slow_only_tokenizer_runs_sentence_tasks_and_is_refused_for_ner_and_korquad(tmp_path):
    from transformers import ByT5Tokenizer

    folder = _bert_folder_with(ByT5Tokenizer(), tmp_path / "slow")
    tokenizer = load_tokenizer(folder, TASKS["nsmc"])
    assert not tokenizer.is_fast
    # Texts are normalised (NFC) before a slow tokenizer: decomposed Hangul gives the same ids.
    nfc = [{"text": "정말 재미있다", "label": "1"}]
    nfd = [{"text": unicodedata.normalize("NFD", "정말 재미있다"), "label": "1"}]
    encode = lambda examples: feats.encode_sequences(tokenizer, examples, 32, {"0": 0, "1": 1}, True)
    assert encode(nfd) == encode(nfc)
    for name, needs in (("korquad", "character offsets"), ("naver-ner", "word ids")):
        with pytest.raises(KrelectraError, match=rf"model '{re.escape(folder)}': task {name} needs the {needs}.*"):
            load_tokenizer(folder, TASKS[name])


def test_a_lower_casing_tokenizer_that_decomposes_hangul_is_refused(tmp_path, encoders):
    from transformers import AutoTokenizer, BertTokenizer

    vocab = AutoTokenizer.from_pretrained(encoders["bert"]).get_vocab()
    folder = _bert_folder_with(BertTokenizer(vocab=vocab, do_lower_case=True), tmp_path / "uncased")
    with pytest.raises(KrelectraError, match="decomposes Hangul syllables into jamo"):
        load_tokenizer(folder, TASKS["nsmc"])


def test_a_classification_token_at_the_end_is_refused_for_sentence_tasks(tmp_path, encoders):
    """XLNet's template (A <sep> <cls>), which loading KoBERT's SentencePiece model as an
    XLNetTokenizer gives, would feed BERT's head the last word instead of [CLS]."""
    from tokenizers import Tokenizer, processors
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    backend = Tokenizer.from_str(
        AutoTokenizer.from_pretrained(encoders["bert-sentencepiece"]).backend_tokenizer.to_str()
    )
    ids = {token: backend.token_to_id(token) for token in ("[CLS]", "[SEP]")}
    backend.post_processor = processors.TemplateProcessing(
        single="$A [SEP] [CLS]", pair="$A [SEP] $B:1 [SEP]:1 [CLS]:2", special_tokens=list(ids.items())
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, cls_token="[CLS]", sep_token="[SEP]", pad_token="[PAD]", unk_token="[UNK]"
    )
    folder = _bert_folder_with(tokenizer, tmp_path / "xlnet-template", type_vocab_size=3)
    with pytest.raises(KrelectraError, match=r"puts the classification token \[CLS\] at position 4"):
        load_tokenizer(folder, TASKS["nsmc"])


def test_a_tokenizer_the_model_cannot_embed_is_refused(tmp_path, encoders):
    """A tokenizer with more tokens than the model has embeddings, or with token type ids
    the model has no embeddings for, would fail inside the first batch."""
    from transformers import AutoTokenizer

    from krelectra.finetune.models import check_compatible

    tokenizer = AutoTokenizer.from_pretrained(encoders["bert"])
    task = TASKS["paws"]
    small = _bert_folder_with(tokenizer, tmp_path / "small", vocab_size=100)
    model, _ = load_model(task, small)
    with pytest.raises(KrelectraError, match="1500 tokens but the model only 100 token embeddings"):
        check_compatible(tokenizer, model, small, task, 64)
    one_type = _bert_folder_with(tokenizer, tmp_path / "one-type", type_vocab_size=1)
    model, _ = load_model(task, one_type)
    with pytest.raises(KrelectraError, match="token type id 1, but the model has type_vocab_size 1"):
        check_compatible(tokenizer, model, one_type, task, 64)


def test_roberta_positions_hold_two_fewer_tokens(encoders):
    from krelectra.finetune.models import check_compatible

    task = TASKS["nsmc"]
    for family in ("roberta", "xlm-roberta"):
        tokenizer = load_tokenizer(encoders[family], task)
        model, _ = load_model(task, encoders[family])
        assert model.config.max_position_embeddings == 130
        check_compatible(tokenizer, model, encoders[family], task, 128)
        with pytest.raises(KrelectraError, match="takes at most 128 tokens"):
            check_compatible(tokenizer, model, encoders[family], task, 129)


# -- where a model comes from ----------------------------------------------------------------


def test_a_hub_id_not_in_the_cache_while_offline_names_it_and_how_to_fetch_it(tmp_path):
    with pytest.raises(KrelectraError) as error:
        resolve_source("snunlp/KR-ELECTRA-discriminator", offline=True, cache_dir=tmp_path)
    message = str(error.value)
    assert "'snunlp/KR-ELECTRA-discriminator'" in message and "HF_HUB_OFFLINE=1" in message
    assert "hf download snunlp/KR-ELECTRA-discriminator" in message
    assert "huggingface-cli download snunlp/KR-ELECTRA-discriminator" in message


def test_a_cached_hub_id_resolves_to_its_snapshot_revision(tmp_path, encoders):
    import shutil

    revision = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "models--tiny-org--tiny-electra"
    shutil.copytree(encoders["electra"], repo / "snapshots" / revision)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    source = resolve_source("tiny-org/tiny-electra", offline=True, cache_dir=tmp_path)
    assert (source.location, source.hub_id, source.revision) == (
        "tiny-org/tiny-electra",
        "tiny-org/tiny-electra",
        revision,
    )
    # only the config cached, no weights: not usable offline
    (repo / "snapshots" / revision / "model.safetensors").unlink()
    with pytest.raises(KrelectraError, match="not in the Hugging Face cache with its config and weights"):
        resolve_source("tiny-org/tiny-electra", offline=True, cache_dir=tmp_path)


def test_a_local_folder_is_used_as_it_is_and_a_missing_one_is_named(tmp_path, encoders):
    assert resolve_source(encoders["bert"], offline=True).location == encoders["bert"]
    with pytest.raises(KrelectraError, match=r"model '\./no/such/encoder': no such folder"):
        resolve_source("./no/such/encoder", offline=True)
