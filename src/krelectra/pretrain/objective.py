"""Replaced-token detection, the ELECTRA objective (ELECTRA recipe, google-research/electra).

1. `mask_batch` (in the input pipeline, on the global batch): choose about mask_prob of
   each example's tokens, never [CLS]/[SEP]/[MASK]/padding; 85% of the chosen positions
   become [MASK], 15% keep their token. It also draws the example's random numbers for
   the step: the uniforms that pick the generator's samples and the dropout seed.
2. `electra_loss` (on each replica): the generator predicts the chosen tokens (MLM
   cross-entropy); replacements are *sampled* from its softmax, gradients stopped; the
   discriminator labels every non-padding token 1 if it now differs from the original.
   loss = gen_weight * MLM + disc_weight * discriminator loss.

Because all randomness is drawn per example before the batch is split, and losses are
divided by global (all-replica) counts, a step gives the same loss and gradients on one
device or on several replicas.
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf

MASK_TOKEN_FRACTION = 0.85  # of the chosen positions; the rest keep their token

# The sums every step returns; metrics are ratios of them (see `metrics_from_sums`).
SUM_KEYS = (
    "generator_loss_sum",
    "masked",
    "generator_correct",
    "discriminator_loss_sum",
    "tokens",
    "discriminator_correct",
    "replaced",
    "predicted_replaced",
    "true_positive",
)


@dataclasses.dataclass(frozen=True)
class Objective:
    mask_prob: float
    max_predictions_per_seq: int
    gen_weight: float
    disc_weight: float
    temperature: float
    mask_token_id: int
    never_masked_ids: tuple[int, ...]  # [CLS], [SEP], [MASK], [PAD]


def default_max_predictions(mask_prob: float, max_seq_length: int) -> int:
    """The recipe's default: int((mask_prob + 0.005) * max_seq_length), 19 at 128."""
    return int((mask_prob + 0.005) * max_seq_length)


def replace_at(ids: tf.Tensor, positions: tf.Tensor, values: tf.Tensor, where: tf.Tensor) -> tf.Tensor:
    """ids [B, T] with ids[b, positions[b, p]] = values[b, p] where where[b, p].

    A one-hot sum rather than a scatter: the chosen positions are distinct, and it
    compiles to plain dense ops under XLA."""
    onehot = tf.one_hot(positions, ids.shape[1], dtype=ids.dtype) * tf.cast(where, ids.dtype)[..., None]
    hit = tf.reduce_max(onehot, axis=1) > 0
    return tf.where(hit, tf.reduce_sum(onehot * values[..., None], axis=1), ids)


def mask_batch(features: dict, seed: tf.Tensor, objective: Objective) -> dict:
    """Choose and mask positions of a batch; draw the step's per-example randomness.

    `seed` is a stateless seed [2] (for example (run seed, step)), so the same step always
    masks the same positions."""
    ids = tf.cast(features["input_ids"], tf.int32)
    input_mask = tf.cast(features["input_mask"], tf.int32)
    batch, length = tf.shape(ids)[0], ids.shape[1]
    draws = [tf.random.experimental.stateless_fold_in(seed, k) for k in range(4)]
    predictions = objective.max_predictions_per_seq

    candidate = tf.cast(input_mask, tf.bool)
    for token_id in objective.never_masked_ids:
        candidate &= ids != token_id
    num_tokens = tf.cast(tf.reduce_sum(input_mask, -1), tf.float32)
    num_candidates = tf.reduce_sum(tf.cast(candidate, tf.int32), -1)
    count = tf.cast(tf.round(num_tokens * objective.mask_prob), tf.int32)
    count = tf.minimum(tf.clip_by_value(count, 1, predictions), num_candidates)

    # A uniformly random subset of `count` candidates, without replacement: the
    # candidates with the highest random scores.
    scores = tf.random.stateless_uniform([batch, length], seed=draws[0])
    scores = tf.where(candidate, scores, -1.0)
    top_scores, positions = tf.math.top_k(scores, k=predictions)
    weights = (tf.range(predictions)[None, :] < count[:, None]) & (top_scores >= 0.0)
    positions = tf.where(weights, positions, 0)
    masked_lm_ids = tf.where(weights, tf.gather(ids, positions, batch_dims=1), 0)
    use_mask_token = weights & (tf.random.stateless_uniform([batch, predictions], seed=draws[1]) < MASK_TOKEN_FRACTION)
    masked_input_ids = replace_at(ids, positions, tf.fill(tf.shape(positions), objective.mask_token_id), use_mask_token)
    return {
        "input_ids": ids,
        "input_mask": input_mask,
        "segment_ids": tf.cast(features["segment_ids"], tf.int32),
        "masked_input_ids": masked_input_ids,
        "masked_lm_positions": positions,
        "masked_lm_ids": masked_lm_ids,
        "masked_lm_weights": tf.cast(weights, tf.float32),
        "sample_uniform": tf.random.stateless_uniform([batch, predictions], seed=draws[2]),
        "dropout_seeds": tf.random.stateless_uniform([batch], seed=draws[3], minval=None, maxval=None, dtype=tf.uint32),
    }


SAMPLE_BLOCK = 128  # vocabulary entries per block of the two-level inverse CDF


def sample_from_softmax(logits: tf.Tensor, uniform: tf.Tensor, temperature: float) -> tf.Tensor:
    """Token ids [...] sampled from softmax(logits / temperature) [..., V] by inverting the
    CDF at `uniform` [...] (one pre-drawn uniform in [0, 1) per position, so sampling does
    not depend on how the batch is split across devices).

    Returns the id j with C(j - 1) <= u x C(V) < C(j), C the cumulative sum of
    exp(logit / temperature - max), so a token of probability 0 is never chosen. The CDF is
    inverted in two levels: the sums of blocks of SAMPLE_BLOCK ids pick a block, then a
    cumulative sum inside that block picks the id. That costs one pass over the logits
    instead of a cumulative sum over all V ids (a flat `tf.cumsum` over [608, 30000] was
    ~8% of a training step), and its float32 rounding error is that of sums of ~sqrt(V)
    terms rather than of V terms."""
    vocab = logits.shape[-1]
    blocks = -(-vocab // SAMPLE_BLOCK)
    scaled = tf.stop_gradient(tf.cast(logits, tf.float32)) / temperature
    weights = tf.exp(scaled - tf.reduce_max(scaled, axis=-1, keepdims=True))  # [..., V], unnormalised
    flat = tf.reshape(weights, [-1, vocab])
    flat = tf.pad(flat, [[0, 0], [0, blocks * SAMPLE_BLOCK - vocab]])
    per_block = tf.reshape(flat, [-1, blocks, SAMPLE_BLOCK])  # [N, blocks, SAMPLE_BLOCK]
    block_cdf = tf.cumsum(tf.reduce_sum(per_block, axis=-1), axis=-1)  # [N, blocks]
    target = tf.reshape(tf.cast(uniform, tf.float32), [-1]) * block_cdf[:, -1]
    block = _first_above(block_cdf, target, tf.reduce_sum(per_block, axis=-1) > 0)
    before = tf.where(block > 0, tf.gather(block_cdf, tf.maximum(block - 1, 0), batch_dims=1), 0.0)
    chosen = tf.gather(per_block, block, batch_dims=1)  # [N, SAMPLE_BLOCK]
    inner = _first_above(tf.cumsum(chosen, axis=-1), target - before, chosen > 0)
    return tf.reshape(block * SAMPLE_BLOCK + inner, tf.shape(uniform))


def _first_above(cdf: tf.Tensor, target: tf.Tensor, positive: tf.Tensor) -> tf.Tensor:
    """Per row of cdf [N, K]: the first k with cdf[k] > target, or (when rounding leaves none)
    the last k whose entry is positive."""
    index = tf.reduce_sum(tf.cast(cdf <= target[:, None], tf.int32), axis=-1)
    last_positive = tf.reduce_max(tf.where(positive, tf.range(cdf.shape[-1])[None, :], 0), axis=-1)
    return tf.minimum(index, last_positive)


def local_counts(batch: dict) -> tf.Tensor:
    """[masked positions, non-padding tokens] of this replica's batch (the loss denominators
    once summed over replicas)."""
    return tf.stack(
        [tf.reduce_sum(batch["masked_lm_weights"]), tf.reduce_sum(tf.cast(batch["input_mask"], tf.float32))]
    )


def electra_loss(model, batch: dict, global_counts: tf.Tensor, objective: Objective, training: bool):
    """(loss of this replica's share of the global mean loss, {SUM_KEYS: float32 sums})."""
    seeds = batch["dropout_seeds"] if training else None
    input_mask = batch["input_mask"]
    mask_f = tf.cast(input_mask, tf.float32)
    weights = batch["masked_lm_weights"]
    positions = batch["masked_lm_positions"]

    # Generator: MLM on the chosen positions only (its head runs on B x P, not B x T).
    hidden = model.generator_hidden(batch["masked_input_ids"], input_mask, batch["segment_ids"], seeds)
    gen_logits = model.generator_head(tf.gather(hidden, positions, batch_dims=1))  # [B, P, V]
    mlm_losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=batch["masked_lm_ids"], logits=gen_logits)
    mlm_loss_sum = tf.reduce_sum(mlm_losses * weights)
    mlm_correct = tf.cast(tf.equal(tf.argmax(gen_logits, -1, output_type=tf.int32), batch["masked_lm_ids"]), tf.float32)

    # Replace the chosen tokens with generator samples; label what changed.
    sampled = sample_from_softmax(gen_logits, batch["sample_uniform"], objective.temperature)
    fake_ids = replace_at(batch["input_ids"], positions, sampled, weights > 0)
    labels = tf.cast(tf.not_equal(fake_ids, batch["input_ids"]), tf.float32) * mask_f

    disc_logits = model.discriminator_head(
        model.discriminator_hidden(fake_ids, input_mask, batch["segment_ids"], seeds)
    )
    disc_losses = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=disc_logits) * mask_f
    disc_loss_sum = tf.reduce_sum(disc_losses)
    predicted = tf.cast(disc_logits > 0.0, tf.float32) * mask_f

    masked_total = tf.maximum(global_counts[0], 1.0)
    tokens_total = tf.maximum(global_counts[1], 1.0)
    loss = objective.gen_weight * mlm_loss_sum / masked_total + objective.disc_weight * disc_loss_sum / tokens_total
    sums = {
        "generator_loss_sum": mlm_loss_sum,
        "masked": tf.reduce_sum(weights),
        "generator_correct": tf.reduce_sum(mlm_correct * weights),
        "discriminator_loss_sum": disc_loss_sum,
        "tokens": tf.reduce_sum(mask_f),
        "discriminator_correct": tf.reduce_sum(tf.cast(tf.equal(predicted, labels), tf.float32) * mask_f),
        "replaced": tf.reduce_sum(labels),
        "predicted_replaced": tf.reduce_sum(predicted),
        "true_positive": tf.reduce_sum(predicted * labels),
    }
    return loss, sums


def metrics_from_sums(sums: dict, objective: Objective) -> dict:
    """Losses and accuracies pooled over every token of the steps summed."""

    def ratio(num, den):
        return float(sums[num]) / float(sums[den]) if float(sums[den]) > 0 else 0.0

    gen = ratio("generator_loss_sum", "masked")
    disc = ratio("discriminator_loss_sum", "tokens")
    return {
        "loss": objective.gen_weight * gen + objective.disc_weight * disc,
        "generator_loss": gen,
        "discriminator_loss": disc,
        "generator_accuracy": ratio("generator_correct", "masked"),
        "discriminator_accuracy": ratio("discriminator_correct", "tokens"),
        "discriminator_precision": ratio("true_positive", "predicted_replaced"),
        "discriminator_recall": ratio("true_positive", "replaced"),
        "replaced_fraction": ratio("replaced", "tokens"),
    }
