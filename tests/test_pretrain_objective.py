"""The replaced-token-detection objective and the optimiser (ELECTRA recipe)."""

import numpy as np
import pytest
import tensorflow as tf

from krelectra.pretrain.model import ElectraPretrainingModel, ModelConfig
from krelectra.pretrain.objective import (
    Objective,
    default_max_predictions,
    electra_loss,
    local_counts,
    mask_batch,
    sample_from_softmax,
)
from krelectra.pretrain.optimization import AdamWeightDecay, OptimizerConfig, learning_rate, uses_weight_decay

PAD, CLS, SEP, MASK = 0, 2, 3, 4
OBJECTIVE = Objective(
    mask_prob=0.15,
    max_predictions_per_seq=default_max_predictions(0.15, 64),
    gen_weight=1.0,
    disc_weight=50.0,
    temperature=1.0,
    mask_token_id=MASK,
    never_masked_ids=(CLS, SEP, MASK, PAD),
)


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
    halves = [
        electra_loss(model, {k: v[i : i + 4] for k, v in batch.items()}, counts, OBJECTIVE, training=True)
        for i in (0, 4)
    ]
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
    for value, grad, start, decay in (
        (named["a/kernel"].numpy(), np.array([0.6, 0.0]), np.array([1.0, -2.0]), 0.01),
        (named["a/LayerNorm/gamma"].numpy(), np.array([0.8]), np.array([3.0]), 0.0),
    ):
        m, v = 0.1 * grad, 0.001 * grad**2  # no bias correction, as in the recipe
        expected = start - lr * (m / (np.sqrt(v) + 1e-6) + decay * start)
        np.testing.assert_allclose(value, expected, rtol=1e-5)
    assert int(optimizer.global_step.numpy()) == 1
    assert set(optimizer.named_slots) == {
        "a/kernel/adam_m",
        "a/kernel/adam_v",
        "a/LayerNorm/gamma/adam_m",
        "a/LayerNorm/gamma/adam_v",
    }


def test_one_step_gradients_equal_a_pytorch_electra_with_the_same_weights():
    """Loss and gradients of every variable (the tied embeddings get the generator's and the
    discriminator's share) equal those of transformers' ElectraForMaskedLM +
    ElectraForPreTraining holding the same weights, with the loss written out in PyTorch."""
    import torch
    from transformers import ElectraForMaskedLM, ElectraForPreTraining

    from krelectra.convert.hf_config import electra_configs
    from krelectra.convert.mapping import tf_name_for

    vocab, length, size = 120, 24, 4
    config = ModelConfig.from_recipe(vocab, 32, 64, 2, 0.5, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    model = ElectraPretrainingModel(config, seed=3)
    rng = np.random.default_rng(0)
    for name, variable in model.named_variables.items():  # non-trivial biases and LayerNorms
        if not name.endswith("kernel") and "embeddings/" not in name:
            variable.assign(variable + rng.normal(0, 0.05, variable.shape).astype(np.float32))
    objective = Objective(0.15, default_max_predictions(0.15, length), 1.0, 50.0, 1.0, MASK, (CLS, SEP, MASK, PAD))
    batch = mask_batch(
        features(size=size, length=length, vocab=vocab, seed=1), tf.constant([1, 2], tf.int64), objective
    )
    names, variables = list(model.named_variables), list(model.named_variables.values())
    with tf.GradientTape() as tape:
        loss, sums = electra_loss(model, batch, local_counts(batch), objective, training=True)
    grads = [tf.convert_to_tensor(g).numpy() for g in tape.gradient(loss, variables)]

    configs = electra_configs(config.to_dict(), pad_token_id=PAD)
    hf = {"discriminator": ElectraForPreTraining(configs[0]).eval(), "generator": ElectraForMaskedLM(configs[1]).eval()}
    sharing = {}  # TF variable -> the torch parameters it fills
    for kind, hf_model in hf.items():
        for key, param in hf_model.named_parameters(remove_duplicate=False):
            place = tf_name_for(key, kind)
            value = model.named_variables[place.tf_name].numpy()
            with torch.no_grad():
                param.copy_(torch.from_numpy(np.ascontiguousarray(value.T if place.transpose else value)))
            sharing.setdefault(place.tf_name, {})[id(param)] = (param, place.transpose)
    t = {k: torch.from_numpy(v.numpy()) for k, v in batch.items() if k != "dropout_seeds"}
    attention, segments = t["input_mask"].long(), t["segment_ids"].long()
    positions, weights = t["masked_lm_positions"].long(), t["masked_lm_weights"]
    logits = hf["generator"](
        input_ids=t["masked_input_ids"].long(), attention_mask=attention, token_type_ids=segments
    ).logits
    logits = torch.gather(logits, 1, positions[..., None].expand(-1, -1, vocab))
    mlm = torch.nn.functional.cross_entropy(logits.transpose(1, 2), t["masked_lm_ids"].long(), reduction="none")
    cdf = torch.softmax(logits.detach().double(), -1).cumsum(-1)
    sampled = (cdf < t["sample_uniform"].double()[..., None] * cdf[..., -1:]).sum(-1).clamp(max=vocab - 1)
    fake = t["input_ids"].long().clone()
    rows = torch.arange(size)[:, None].expand_as(positions)
    chosen = weights > 0
    fake[rows[chosen], positions[chosen]] = sampled[chosen]
    labels = (fake != t["input_ids"].long()).float() * attention
    disc_logits = hf["discriminator"](input_ids=fake, attention_mask=attention, token_type_ids=segments).logits
    bce = torch.nn.functional.binary_cross_entropy_with_logits(disc_logits, labels, reduction="none") * attention
    torch_loss = (mlm * weights).sum() / weights.sum() + 50.0 * bce.sum() / attention.sum()
    torch_loss.backward()

    assert float(sums["replaced"]) == float(labels.sum()) > 0
    assert float(loss) == pytest.approx(torch_loss.item(), rel=1e-5)
    largest = max(np.abs(g).max() for g in grads)
    for name, grad in zip(names, grads):
        expected = sum((p.grad.numpy().T if transpose else p.grad.numpy()) for p, transpose in sharing[name].values())
        # Key biases have a zero gradient (softmax ignores a per-row shift): compare in
        # absolute terms against the largest gradient, and relatively for the rest.
        np.testing.assert_allclose(grad, expected, rtol=1e-3, atol=1e-5 * largest, err_msg=name)
    assert len(sharing["electra/embeddings/word_embeddings"]) >= 2, "the word embeddings are shared"
