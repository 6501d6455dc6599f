"""Pretraining examples: one corpus shard -> TFRecords of `[CLS] A [SEP] B [SEP]` examples.

The packing rules are the ELECTRA recipe's (google-research/electra): the sentences of
one document are accumulated until the target length is met; the target is
max_seq_length except for 5% of examples, which draw one in [5, max_seq_length]; 10% of
examples have a single segment; otherwise the first segment aims at (target - 3) // 2
tokens, and a sentence that would overflow it goes to it with probability 0.5 (while the
second segment is still empty). An example is emitted as soon as its sentences reach the
target, so the last one may overshoot it; segment A is then trimmed to max_seq_length - 2
tokens and B to max_seq_length - len(A) - 3 (the maximum, not the example's possibly
shorter random target: `ExampleBuilder._create_example` in google-research/electra's
build_pretraining_dataset.py). Segment ids are 0 for `[CLS] A [SEP]`, 1 for `B [SEP]`.

Lines are tokenised in batches with the Rust (fast) WordPiece tokenizer that the
finetuning stage loads from the same vocabulary folder. For one seed and shard the
output files are byte-identical from run to run. Every `1/eval_fraction`-th example is
held out for evaluation.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import random
from collections.abc import Iterable, Iterator
from pathlib import Path

from krelectra.corpus.reading import read_shard_documents
from krelectra.errors import KrelectraError
from krelectra.fingerprint import file_sha256
from krelectra.hashing import stable_hash64
from krelectra.io import removed_on_error, write_json

log = logging.getLogger(__name__)

TOKENIZE_BATCH_LINES = 4096
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


@dataclasses.dataclass(frozen=True)
class ExampleConfig:
    max_seq_length: int = 128
    single_segment_prob: float = 0.1
    short_seq_prob: float = 0.05
    eval_fraction: float = 0.01

    def __post_init__(self):
        if not 8 <= self.max_seq_length <= 512:
            raise KrelectraError(f"pretrain.examples.max_seq_length={self.max_seq_length}: must be in [8, 512]")
        if not 0.0 <= self.eval_fraction < 1.0:
            raise KrelectraError(f"pretrain.examples.eval_fraction={self.eval_fraction}: must be in [0, 1)")


def load_tokenizer(vocab_dir: str | Path):
    """The fast WordPiece tokenizer (a `tokenizers.Tokenizer`) of the vocabulary folder:
    the pipeline that finetuning and users load with AutoTokenizer, checked
    (krelectra/vocab/tokenizer.py, `load_backend`: the folder's vocabulary, every special
    token, NFC first, no lower-casing or accent stripping, which would decompose Hangul
    into jamo)."""
    from krelectra.vocab.tokenizer import load_backend

    return load_backend(vocab_dir)


def special_ids(tokenizer) -> dict[str, int]:
    return {token: tokenizer.token_to_id(token) for token in SPECIAL_TOKENS}


def tokenized_documents(path: Path, tokenizer, batch_lines: int = TOKENIZE_BATCH_LINES) -> Iterator[list[list[int]]]:
    """Documents as lists of sentence token-id lists, tokenising many lines per call."""
    pending: list[list[str]] = []
    pending_lines = 0

    def flush():
        lines = [line for document in pending for line in document]
        ids = [encoding.ids for encoding in tokenizer.encode_batch(lines, add_special_tokens=False)]
        start = 0
        for document in pending:
            yield [sentence for sentence in ids[start : start + len(document)] if sentence]
            start += len(document)

    for document in read_shard_documents(path):
        pending.append(document)
        pending_lines += len(document)
        if pending_lines >= batch_lines:
            yield from flush()
            pending, pending_lines = [], 0
    if pending:
        yield from flush()


class ExampleBuilder:
    """Packs the tokenised sentences of documents into examples (the recipe's rules)."""

    def __init__(self, config: ExampleConfig, cls_id: int, sep_id: int, rng: random.Random):
        self.config = config
        self.cls_id, self.sep_id = cls_id, sep_id
        self.rng = rng
        self.sentences: list[list[int]] = []
        self.length = 0
        self.target = config.max_seq_length

    def add_document(self, sentences: list[list[int]]) -> Iterator[tuple[list[int], list[int]]]:
        """Yield (segment A, segment B) pairs; B may be empty (a single-segment example)."""
        for sentence in sentences:
            self.sentences.append(sentence)
            self.length += len(sentence)
            if self.length >= self.target:
                yield self._make_example()
        if self.length:  # a document never continues into the next example
            yield self._make_example()

    def _make_example(self) -> tuple[list[int], list[int]]:
        if self.rng.random() < self.config.single_segment_prob:
            first_target = math.inf
        else:
            first_target = (self.target - 3) // 2  # room for [CLS] and two [SEP]
        first: list[int] = []
        second: list[int] = []
        for sentence in self.sentences:
            if (
                not first
                or len(first) + len(sentence) < first_target
                or (not second and len(first) < first_target and self.rng.random() < 0.5)
            ):
                first += sentence
            else:
                second += sentence
        # Trimmed to the maximum length, as the reference does, not to this example's
        # target: a short-target example keeps its overshooting last sentence.
        max_length = self.config.max_seq_length
        first = first[: max_length - 2]
        second = second[: max(0, max_length - len(first) - 3)]
        self.sentences, self.length = [], 0
        # The next example's target length: usually the maximum, sometimes random.
        if self.rng.random() < self.config.short_seq_prob:
            self.target = self.rng.randint(5, self.config.max_seq_length)
        else:
            self.target = self.config.max_seq_length
        return first, second


def layout(first: list[int], second: list[int], cls_id: int, sep_id: int, max_seq_length: int):
    """(input_ids, input_mask, segment_ids) of `[CLS] A [SEP] B [SEP]`, zero-padded."""
    ids = [cls_id] + first + [sep_id]
    segments = [0] * len(ids)
    if second:
        ids += second + [sep_id]
        segments += [1] * (len(second) + 1)
    padding = max_seq_length - len(ids)
    return ids + [0] * padding, [1] * len(segments) + [0] * padding, segments + [0] * padding


def is_eval_example(index: int, fraction: float) -> bool:
    """Every 1/fraction-th example (evenly spaced, exactly the fraction, deterministic)."""
    return math.floor((index + 1) * fraction) > math.floor(index * fraction)


def _serialize(input_ids, input_mask, segment_ids) -> bytes:
    import tensorflow as tf

    def feature(values):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=values))

    example = tf.train.Example(
        features=tf.train.Features(
            feature={
                "input_ids": feature(input_ids),
                "input_mask": feature(input_mask),
                "segment_ids": feature(segment_ids),
            }
        )
    )
    return example.SerializeToString(deterministic=True)  # map keys sorted: stable bytes


def build_examples(
    shard: Path, vocab_dir: Path, train_out: Path, eval_out: Path, stats_out: Path, config: ExampleConfig, seed: int
) -> dict:
    """Write one shard's training and held-out TFRecords and its stats JSON."""
    import tensorflow as tf
    from tqdm import tqdm

    tokenizer = load_tokenizer(vocab_dir)
    ids = special_ids(tokenizer)
    rng = random.Random(stable_hash64(f"pretrain-examples/{seed}/{shard.stem}"))
    builder = ExampleBuilder(config, ids["[CLS]"], ids["[SEP]"], rng)
    counts = {
        "documents": 0,
        "sentences": 0,
        "text_tokens": 0,
        "unk_tokens": 0,
        "train_examples": 0,
        "eval_examples": 0,
        "tokens": 0,
        "single_segment": 0,
        "truncated_tokens": 0,
    }
    index = 0
    for path in (train_out, eval_out):
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp_train, tmp_eval = (p.with_name(f".{p.name}.tmp") for p in (train_out, eval_out))
    with (
        removed_on_error(tmp_train, tmp_eval),
        tf.io.TFRecordWriter(str(tmp_train)) as train_writer,
        tf.io.TFRecordWriter(str(tmp_eval)) as eval_writer,
    ):
        for document in tqdm(
            tokenized_documents(shard, tokenizer), desc=f"examples {shard.name}", unit="doc", mininterval=5
        ):
            counts["documents"] += 1
            counts["sentences"] += len(document)
            text_tokens = sum(len(s) for s in document)
            counts["text_tokens"] += text_tokens
            counts["unk_tokens"] += sum(s.count(ids["[UNK]"]) for s in document)
            packed = 0
            for first, second in builder.add_document(document):
                features = layout(first, second, ids["[CLS]"], ids["[SEP]"], config.max_seq_length)
                packed += len(first) + len(second)
                counts["tokens"] += sum(features[1])
                counts["single_segment"] += not second
                held_out = is_eval_example(index, config.eval_fraction)
                (eval_writer if held_out else train_writer).write(_serialize(*features))
                counts["eval_examples" if held_out else "train_examples"] += 1
                index += 1
            counts["truncated_tokens"] += text_tokens - packed
    tmp_train.replace(train_out)
    tmp_eval.replace(eval_out)
    # The files these counts belong to: pretraining takes its example counts from here
    # when the files it reads have these hashes (train.count_examples).
    hashes = {"train_sha256": file_sha256(train_out), "eval_sha256": file_sha256(eval_out)}
    examples = counts["train_examples"] + counts["eval_examples"]
    stats = {
        "shard": shard.stem,
        "seed": seed,
        "max_seq_length": config.max_seq_length,
        "examples": examples,
        **counts,
        "padding_fraction": 1.0 - counts["tokens"] / (examples * config.max_seq_length) if examples else 0.0,
        "single_segment_fraction": counts["single_segment"] / examples if examples else 0.0,
        "unk_fraction": counts["unk_tokens"] / counts["text_tokens"] if counts["text_tokens"] else 0.0,
        "vocab_size": tokenizer.get_vocab_size(),
        **hashes,
    }
    write_json(stats_out, stats)
    log.info("%s: %d training + %d held-out examples", shard, counts["train_examples"], counts["eval_examples"])
    return stats


def count_records(paths: Iterable[Path]) -> int:
    """Records in the TFRecord files `paths`, counted by reading every one."""
    import tensorflow as tf

    return sum(1 for path in paths for _ in tf.data.TFRecordDataset(str(path)))
