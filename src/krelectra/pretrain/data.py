"""tf.data input pipelines over the pretraining TFRecords.

Training batches are a deterministic function of (seed, step): the records are read in
file order, shuffled with a fixed seed, batched to the *global* batch, and masked with a
stateless seed derived from the step number (objective.mask_batch). Resuming at step k
therefore skips k batches and continues with exactly the batches an uninterrupted run
would have seen. The distribution strategy splits each global batch across replicas
after masking.
"""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

from krelectra.pretrain.objective import Objective, mask_batch

FEATURES = ("input_ids", "input_mask", "segment_ids")
TRAIN_STREAM, EVAL_STREAM = 0, 1  # separate random streams for training and evaluation


def _parse(max_seq_length: int):
    spec = {name: tf.io.FixedLenFeature([max_seq_length], tf.int64) for name in FEATURES}

    def parse(serialized):
        parsed = tf.io.parse_example(serialized, spec)
        return {name: tf.cast(value, tf.int32) for name, value in parsed.items()}

    return parse


def _options() -> tf.data.Options:
    options = tf.data.Options()
    options.deterministic = True
    # Every worker builds the same global batches and keeps its share: batches do not
    # depend on how many workers there are.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return options


def step_seed(seed: int, stream: int, index) -> tf.Tensor:
    base = tf.constant([seed % 2**31, stream], tf.int64)
    return tf.random.experimental.stateless_fold_in(base, tf.cast(index, tf.int64))


def train_dataset(
    files: list[Path],
    max_seq_length: int,
    global_batch: int,
    objective: Objective,
    seed: int,
    shuffle_buffer: int,
    start_step: int = 0,
) -> tf.data.Dataset:
    records = tf.data.TFRecordDataset([str(f) for f in files])
    records = records.repeat().shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    batches = records.batch(global_batch, drop_remainder=True).enumerate().skip(start_step)
    parse = _parse(max_seq_length)

    def prepare(step, serialized):
        return mask_batch(parse(serialized), step_seed(seed, TRAIN_STREAM, step), objective)

    return batches.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2).with_options(_options())


def eval_dataset(
    files: list[Path],
    max_seq_length: int,
    batch_size: int,
    objective: Objective,
    seed: int,
    num_examples: int,
    max_batches: int,
) -> tf.data.Dataset:
    """The held-out examples in file order, masked the same way at every evaluation. The
    last batch is completed with all-padding examples, which count for nothing."""
    parse = _parse(max_seq_length)
    records = tf.data.TFRecordDataset([str(f) for f in files]).batch(1).map(parse).unbatch()
    padding = (-num_examples) % batch_size
    if padding:
        blank = {name: tf.zeros([max_seq_length], tf.int32) for name in FEATURES}
        records = records.concatenate(tf.data.Dataset.from_tensors(blank).repeat(padding))
    batches = records.batch(batch_size, drop_remainder=True).take(max_batches).enumerate()

    def prepare(index, features):
        return mask_batch(features, step_seed(seed, EVAL_STREAM, index), objective)

    return batches.map(prepare).prefetch(2).with_options(_options())
