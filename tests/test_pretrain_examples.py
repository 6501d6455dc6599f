"""Pretraining examples: the recipe's packing rules, layout, hold-out, determinism."""

import hashlib
import json
import random
import shutil

import pytest

from krelectra.cli import main
from krelectra.errors import KrelectraError
from krelectra.pretrain.examples import (
    ExampleBuilder,
    ExampleConfig,
    build_examples,
    count_records,
    is_eval_example,
    layout,
    load_tokenizer,
)
from krelectra.vocab.tokenizer import load_tokenizer as load_finetuning_tokenizer

CLS, SEP = 2, 3


def pack(documents, config, seed=0):
    builder = ExampleBuilder(config, CLS, SEP, random.Random(seed))
    return [example for document in documents for example in builder.add_document(document)]


def read_records(path):
    import tensorflow as tf

    records = []
    for raw in tf.data.TFRecordDataset(str(path)):
        example = tf.train.Example.FromString(raw.numpy())
        records.append(
            {
                key: list(example.features.feature[key].int64_list.value)
                for key in ("input_ids", "input_mask", "segment_ids")
            }
        )
    return records


def test_layout_is_cls_a_sep_b_sep_with_segment_ids_and_padding():
    ids, mask, segments = layout([10, 11, 12], [20, 21], CLS, SEP, 10)
    assert ids == [CLS, 10, 11, 12, SEP, 20, 21, SEP, 0, 0]
    assert mask == [1] * 8 + [0, 0]
    assert segments == [0, 0, 0, 0, 0, 1, 1, 1, 0, 0]
    ids, mask, segments = layout([10, 11], [], CLS, SEP, 6)
    assert (ids, mask, segments) == ([CLS, 10, 11, SEP, 0, 0], [1, 1, 1, 1, 0, 0], [0] * 6)


def test_examples_fit_the_target_and_never_span_documents():
    rng = random.Random(1)
    # Each document uses its own range of token ids, so an example's origin is visible.
    documents = [
        [[1000 * d + rng.randrange(1, 999) for _ in range(rng.randint(1, 20))] for _ in range(rng.randint(1, 40))]
        for d in range(1, 60)
    ]
    examples = pack(documents, ExampleConfig(max_seq_length=32))
    assert len(examples) > 100
    for first, second in examples:
        assert first, "segment A is never empty"
        assert len(first) + len(second) + (3 if second else 2) <= 32
        assert len({token // 1000 for token in first + second}) == 1


def test_a_long_sentence_is_trimmed_to_the_maximum_length():
    examples = pack([[list(range(100, 200))]], ExampleConfig(max_seq_length=32, single_segment_prob=0.0))
    assert examples == [(list(range(100, 130)), [])]  # max_seq_length - 2 tokens; the rest is dropped


def test_a_short_target_example_is_trimmed_to_the_maximum_length_not_its_target():
    # spec electra.md: target 20, max_seq_length 128, sentences of 15 and 30 tokens -> the
    # reference keeps both whole (A: 15 tokens, first aim (20 - 3) // 2 = 8; B: 30 tokens).
    builder = ExampleBuilder(ExampleConfig(max_seq_length=128, single_segment_prob=0.0), CLS, SEP, random.Random(0))
    builder.target = 20
    first, second = next(builder.add_document([list(range(100, 115)), list(range(200, 230))]))
    assert (first, second) == (list(range(100, 115)), list(range(200, 230)))
    # Segment B is still cut where the maximum length ends: 128 - 15 - 3 = 110 tokens.
    builder.target = 20
    first, second = next(builder.add_document([list(range(100, 115)), list(range(1000, 1200))]))
    assert len(first) == 15 and second == list(range(1000, 1110))


def test_single_segment_and_short_target_rates_follow_the_recipe():
    # One long document of 5-token sentences: every example holds several sentences, so
    # segment B is empty only when the 10% single-segment draw says so.
    document = [[7] * 5 for _ in range(30000)]
    examples = pack([document], ExampleConfig(max_seq_length=64))
    single = sum(1 for _, second in examples if not second) / len(examples)
    assert 0.08 < single < 0.12
    # 5% of targets are drawn from [5, 64]; full-target examples hold >= 64 - 3 tokens.
    short = sum(1 for first, second in examples if len(first) + len(second) + 3 < 55) / len(examples)
    assert 0.025 < short < 0.06
    # Two-segment examples split near (target - 3) // 2 = 30 tokens.
    firsts = [len(first) for first, second in examples if second and len(first) + len(second) > 55]
    assert all(25 <= n <= 35 for n in firsts)


def test_eval_examples_are_evenly_spaced_and_exactly_the_fraction():
    chosen = [i for i in range(1000) if is_eval_example(i, 0.05)]
    assert len(chosen) == 50 and chosen[:3] == [19, 39, 59]
    assert not any(is_eval_example(i, 0.0) for i in range(1000))


def test_shard_to_tfrecords_is_deterministic_and_matches_the_tokenizer(pretrain_corpus, tmp_path):
    shards, vocab = pretrain_corpus
    runs = []
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        out = tmp_path / name
        paths = (out / "00000.tfrecord", out / "00000.eval.tfrecord", out / "00000.json")
        stats = build_examples(shards[0], vocab, *paths, ExampleConfig(max_seq_length=64, eval_fraction=0.1), seed)
        runs.append((paths, stats, [p.read_bytes() for p in paths]))
    assert runs[0][2] == runs[1][2], "same seed and input: byte-identical files"
    assert runs[0][2][0] != runs[2][2][0], "another seed packs differently"

    (train, held_out, stats_path), stats, _ = runs[0]
    assert json.loads(stats_path.read_text()) == stats
    # The stats name the files they count (pretraining takes its counts from them then).
    assert stats["train_sha256"] == hashlib.sha256(train.read_bytes()).hexdigest()
    assert stats["eval_sha256"] == hashlib.sha256(held_out.read_bytes()).hexdigest()
    assert count_records([train]) == stats["train_examples"] and count_records([held_out]) == stats["eval_examples"]
    assert stats["eval_examples"] == stats["examples"] // 10
    records = read_records(train) + read_records(held_out)
    assert all(len(r[k]) == 64 for r in records for k in r)
    assert sum(sum(r["input_mask"]) for r in records) == stats["tokens"]
    padding = 1 - stats["tokens"] / (64 * stats["examples"])
    assert stats["padding_fraction"] == pytest.approx(padding)
    single = sum(1 for r in records if 1 not in r["segment_ids"]) / len(records)
    assert stats["single_segment_fraction"] == pytest.approx(single)

    # The first example starts with the shard's first sentence, tokenised as the
    # finetuning stage's tokenizer does it.
    tokenizer = load_finetuning_tokenizer(vocab)
    first_sentence = shards[0].read_text(encoding="utf-8").splitlines()[0]
    expected = tokenizer(first_sentence, add_special_tokens=False)["input_ids"]
    first = read_records(train)[0]["input_ids"]
    assert first[0] == tokenizer.cls_token_id and first[1 : 1 + len(expected)] == expected[:62]


def test_a_lowercasing_vocabulary_is_refused(pretrain_corpus, tmp_path):
    _, vocab = pretrain_corpus
    bad = tmp_path / "vocab"
    shutil.copytree(vocab, bad)
    # A class that rebuilds its pipeline from the settings, told to lower-case.
    (bad / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "ElectraTokenizer", "do_lower_case": True})
    )
    with pytest.raises(KrelectraError, match="lower-cases or strips accents"):
        load_tokenizer(bad)


def test_cli_names_an_unknown_config_key(pretrain_corpus, tmp_path, capsys):
    shards, vocab = pretrain_corpus
    code = main(
        [
            "pretrain",
            "examples",
            "--shard",
            str(shards[0]),
            "--vocab-dir",
            str(vocab),
            "--train-out",
            str(tmp_path / "t"),
            "--eval-out",
            str(tmp_path / "e"),
            "--stats",
            str(tmp_path / "s"),
            "--config",
            json.dumps({"examples": {"max_seq_len": 64}}),
        ]
    )
    assert code == 1
    assert "pretrain.examples" in capsys.readouterr().err and not (tmp_path / "t").exists()


def test_pretraining_loads_the_pipeline_finetuning_loads_without_pytorch(pretrain_corpus):
    # The pretraining jobs read tokenizer.json with `tokenizers` alone (no transformers,
    # so no PyTorch in the TensorFlow process); it must be the pipeline AutoTokenizer
    # gives finetuning and users, on text that exercises NFC, CJK and long words.
    import subprocess
    import sys

    _, vocab = pretrain_corpus
    text = ["한국어 문장을 나눈다.", "가\u0301 漢字와 ELECTRA!", "가" * 250, "다시 말해, 이건 시험이다"]
    backend = load_tokenizer(vocab)
    finetuning = load_finetuning_tokenizer(vocab)
    assert [e.ids for e in backend.encode_batch(text, add_special_tokens=False)] == [
        finetuning(t, add_special_tokens=False)["input_ids"] for t in text
    ]
    assert backend.get_vocab_size() == len(finetuning)
    probe = (
        "import sys; from krelectra.pretrain.examples import load_tokenizer; "
        f"load_tokenizer({str(vocab)!r}); print('torch' in sys.modules, 'transformers' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"], result.stderr
