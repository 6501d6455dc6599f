"""The replaced-token-detection objective and the optimiser (ELECTRA recipe)."""

import numpy as np
import pytest
import tensorflow as tf

from krelectra.pretrain.model import ElectraPretrainingModel, ModelConfig
from krelectra.pretrain.objective import (Objective, default_max_predictions, electra_loss, local_counts,
                                          mask_batch, sample_from_softmax)
from krelectra.pretrain.optimization import AdamWeightDecay, OptimizerConfig, learning_rate, uses_weight_decay

PAD, CLS, SEP, MASK = 0, 2, 3, 4
OBJECTIVE = Objective(mask_prob=0.15, max_predictions_per_seq=default_max_predictions(0.15, 64), gen_weight=1.0,
                      disc_weight=50.0, temperature=1.0, mask_token_id=MASK, never_masked_ids=(CLS, SEP, MASK, PAD))


def features(size=256, length=64, vocab=100, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, vocab, size=(size, length))
    lengths = rng.integers(10, length + 1, size=size)
    mask = (np.arange(length)[None] < lengths[:, None]).astype(np.int64)
    ids = ids * mask
    ids[:, 0] = CLS
    ids[np.arange(size), lengths - 1] = SEP
    ids[:, 5] = np.where(lengths > 6, MASK, ids[:, 5])  # a literal [MASK] in the text
    segments = np.zeros_like(ids)
    return {"input_ids": tf.constant(ids), "input_mask": tf.constant(mask), "segment_ids": tf.constant(segments)}


def test_max_predictions_default_is_the_recipes():
    assert default_max_predictions(0.15, 128) == 19


def test_masking_chooses_15_percent_of_real_tokens_and_masks_85_percent_of_them():
    f = features()
    out = {k: v.numpy() for k, v in mask_batch(f, tf.constant([1, 2], tf.int64), OBJECTIVE).items()}
    ids, mask = f["input_ids"].numpy(), f["input_mask"].numpy()
    weights = out["masked_lm_weights"].astype(bool)
    positions = out["masked_lm_positions"]
    rows = np.repeat(np.arange(len(ids))[:, None], positions.shape[1], 1)
    chosen_ids = ids[rows[weights], positions[weights]]
    assert not np.isin(chosen_ids, [CLS, SEP, MASK, PAD]).any(), "specials and padding are never chosen"
    assert (mask[rows[weights], positions[weights]] == 1).all()
    np.testing.assert_array_equal(out["masked_lm_ids"][weights], chosen_ids)
    expected = np.clip(np.round(mask.sum(1) * 0.15), 1, OBJECTIVE.max_predictions_per_seq)
    np.testing.assert_array_equal(weights.sum(1), expected)
    for row in range(len(ids)):  # distinct positions
        assert len(set(positions[row][weights[row]])) == weights[row].sum()
    masked = out["masked_input_ids"][rows[weights], positions[weights]] == MASK
    assert 0.80 < masked.mean() < 0.90, "85% become [MASK], the rest keep their token"
    changed = out["masked_input_ids"] != ids
    assert changed.sum() == masked.sum(), "nothing else changes (no random-token replacement)"
    # Deterministic for a seed, different for another.
    again = mask_batch(f, tf.constant([1, 2], tf.int64), OBJECTIVE)
    np.testing.assert_array_equal(again["masked_lm_positions"], positions)
    other = mask_batch(f, tf.constant([1, 3], tf.int64), OBJECTIVE)
    assert not np.array_equal(other["masked_lm_positions"], positions)


def test_sampling_follows_the_softmax():
    probs = np.array([0.1, 0.6, 0.0, 0.3], np.float32)
    logits = tf.math.log(tf.constant(np.tile(probs, (1, 20000, 1))))
    uniform = tf.random.stateless_uniform([1, 20000], seed=[3, 4])
    sampled = sample_from_softmax(logits, uniform, temperature=1.0).numpy().ravel()
    frequencies = np.bincount(sampled, minlength=4) / sampled.size
    np.testing.assert_allclose(frequencies, probs, atol=0.015)
    assert (sampled != 2).all(), "a zero-probability token is never sampled"


def test_loss_labels_and_replica_split():
    config = ModelConfig.from_recipe(100, 32, 64, 1, 0.5)
    model = ElectraPretrainingModel(config, seed=0)
    batch = mask_batch(features(size=8), tf.constant([5, 6], tf.int64), OBJECTIVE)
    counts = local_counts(batch)
    loss, sums = electra_loss(model, batch, counts, OBJECTIVE, training=True)
    mask = batch["input_mask"].numpy()
    assert sums["tokens"] == mask.sum() and sums["masked"] == batch["masked_lm_weights"].numpy().sum()
    assert 0 < sums["replaced"] <= sums["masked"], "only chosen positions can be replaced"
    expected = sums["generator_loss_sum"] / sums["masked"] + 50.0 * sums["discriminator_loss_sum"] / sums["tokens"]
    assert float(loss) == pytest.approx(float(expected), rel=1e-5)
    # Two halves with the global counts add up to the whole: what each replica computes.
    halves = [electra_loss(model, {k: v[i:i + 4] for k, v in batch.items()}, counts, OBJECTIVE, training=True)
              for i in (0, 4)]
    assert float(halves[0][0] + halves[1][0]) == pytest.approx(float(loss), rel=1e-5)


def test_learning_rate_warms_up_then_decays_linearly_to_zero():
    c = OptimizerConfig(learning_rate=1e-3, num_train_steps=100, num_warmup_steps=10)
    assert float(learning_rate(0, c)) == 0.0
    assert float(learning_rate(5, c)) == pytest.approx(5e-4)
    assert float(learning_rate(10, c)) == pytest.approx(1e-3 * 0.9)  # decay counted from step 0
    assert float(learning_rate(50, c)) == pytest.approx(5e-4)
    assert float(learning_rate(100, c)) == 0.0


def test_adamw_update_decay_exclusions_and_clipping():
    assert uses_weight_decay("electra/encoder/layer_0/output/dense/kernel")
    assert uses_weight_decay("electra/embeddings/word_embeddings")
    assert not uses_weight_decay("electra/encoder/layer_0/output/LayerNorm/gamma")
    assert not uses_weight_decay("generator_predictions/output_bias")
    config = OptimizerConfig(learning_rate=0.1, num_train_steps=10, num_warmup_steps=0, weight_decay_rate=0.01)
    named = {"a/kernel": tf.Variable([1.0, -2.0]), "a/LayerNorm/gamma": tf.Variable([3.0])}
    optimizer = AdamWeightDecay(named, config)
    grads = [tf.constant([3.0, 0.0]), tf.constant([4.0])]  # global norm 5 -> scaled to 1
    norm = optimizer.apply(grads)
    assert float(norm) == pytest.approx(5.0)
    lr = 0.1  # step 0, no warmup
    for value, grad, start, decay in ((named["a/kernel"].numpy(), np.array([0.6, 0.0]), np.array([1.0, -2.0]), 0.01),
                                      (named["a/LayerNorm/gamma"].numpy(), np.array([0.8]), np.array([3.0]), 0.0)):
        m, v = 0.1 * grad, 0.001 * grad ** 2  # no bias correction, as in the recipe
        expected = start - lr * (m / (np.sqrt(v) + 1e-6) + decay * start)
        np.testing.assert_allclose(value, expected, rtol=1e-5)
    assert int(optimizer.global_step.numpy()) == 1
    assert set(optimizer.named_slots) == {"a/kernel/adam_m", "a/kernel/adam_v", "a/LayerNorm/gamma/adam_m",
                                          "a/LayerNorm/gamma/adam_v"}
