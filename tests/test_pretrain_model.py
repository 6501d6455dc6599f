"""The generator/discriminator model and its TF1 name-based checkpoints."""

import math

import numpy as np
import pytest
import tensorflow as tf

from krelectra.errors import KrelectraError
from krelectra.pretrain.checkpoint import CheckpointRotation, read_checkpoint_state, restore_tf1, save_tf1
from krelectra.pretrain.dropout import dropout
from krelectra.pretrain.model import ElectraPretrainingModel, Encoder, ModelConfig, gelu
from krelectra.pretrain.optimization import AdamWeightDecay, OptimizerConfig

LAYER_PARTS = [  # (name, shape as a function of hidden H and FFN F)
    ("attention/self/query/kernel", lambda H, F: [H, H]),
    ("attention/self/query/bias", lambda H, F: [H]),
    ("attention/self/key/kernel", lambda H, F: [H, H]),
    ("attention/self/key/bias", lambda H, F: [H]),
    ("attention/self/value/kernel", lambda H, F: [H, H]),
    ("attention/self/value/bias", lambda H, F: [H]),
    ("attention/output/dense/kernel", lambda H, F: [H, H]),
    ("attention/output/dense/bias", lambda H, F: [H]),
    ("attention/output/LayerNorm/gamma", lambda H, F: [H]),
    ("attention/output/LayerNorm/beta", lambda H, F: [H]),
    ("intermediate/dense/kernel", lambda H, F: [H, F]),
    ("intermediate/dense/bias", lambda H, F: [F]),
    ("output/dense/kernel", lambda H, F: [F, H]),
    ("output/dense/bias", lambda H, F: [H]),
    ("output/LayerNorm/gamma", lambda H, F: [H]),
    ("output/LayerNorm/beta", lambda H, F: [H]),
]


def spec_variables(c: ModelConfig, with_optimizer: bool) -> dict[str, list[int]]:
    """Every checkpoint name and shape, written out from the spec's list (not from the code)."""
    V, E = c.vocab_size, c.embedding_size
    names = {
        "electra/embeddings/word_embeddings": [V, E],
        "electra/embeddings/position_embeddings": [512, E],
        "electra/embeddings/token_type_embeddings": [2, E],
        "electra/embeddings/LayerNorm/gamma": [E],
        "electra/embeddings/LayerNorm/beta": [E],
        "generator_predictions/dense/kernel": [c.generator_hidden_size, E],
        "generator_predictions/dense/bias": [E],
        "generator_predictions/LayerNorm/gamma": [E],
        "generator_predictions/LayerNorm/beta": [E],
        "generator_predictions/output_bias": [V],
        "discriminator_predictions/dense/kernel": [c.hidden_size, c.hidden_size],
        "discriminator_predictions/dense/bias": [c.hidden_size],
        "discriminator_predictions/dense_1/kernel": [c.hidden_size, 1],
        "discriminator_predictions/dense_1/bias": [1],
    }
    for scope, H, L, F in (
        ("electra", c.hidden_size, c.num_hidden_layers, c.intermediate_size),
        ("generator", c.generator_hidden_size, c.generator_num_hidden_layers, c.generator_intermediate_size),
    ):
        if E != H:
            names[f"{scope}/embeddings_project/kernel"] = [E, H]
            names[f"{scope}/embeddings_project/bias"] = [H]
        for n in range(L):
            for part, shape in LAYER_PARTS:
                names[f"{scope}/encoder/layer_{n}/{part}"] = shape(H, F)
    if with_optimizer:
        for name, shape in list(names.items()):
            names[f"{name}/adam_m"] = shape
            names[f"{name}/adam_v"] = shape
        names["global_step"] = []
    return names


def small_config(**overrides) -> ModelConfig:
    sizes = {
        "vocab_size": 50,
        "embedding_size": 32,
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "generator_hidden_size": 0.25,
    }
    sizes.update(overrides)
    return ModelConfig.from_recipe(**sizes)


def batch(vocab=50, size=3, length=12, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, vocab, size=(size, length)).astype(np.int32)
    mask = np.ones_like(ids)
    mask[1, 8:] = 0
    ids[1, 8:] = 0
    segments = np.zeros_like(ids)
    segments[:, 6:] = 1
    return tf.constant(ids), tf.constant(mask), tf.constant(segments)


def test_recipe_sizes_of_the_base_model():
    c = ModelConfig.from_recipe(30000, 768, 768, 12, 0.33333)
    assert (c.num_attention_heads, c.intermediate_size) == (12, 3072)
    assert (
        c.generator_hidden_size,
        c.generator_num_attention_heads,
        c.generator_intermediate_size,
        c.generator_num_hidden_layers,
    ) == (256, 4, 1024, 12)
    assert (c.max_position_embeddings, c.type_vocab_size, c.hidden_dropout_prob, c.layer_norm_eps) == (
        512,
        2,
        0.1,
        1e-12,
    )


def test_model_config_round_trips_through_json(tmp_path):
    config = small_config()
    path = tmp_path / "model_config.json"
    import json

    path.write_text(json.dumps(config.to_dict()))
    assert ModelConfig.from_json_file(path) == config
    with pytest.raises(KrelectraError, match="hidden_sise"):
        ModelConfig.from_dict({**config.to_dict(), "hidden_sise": 3})


@pytest.mark.parametrize("embedding_size", [32, 64])  # with and without the discriminator's projection
def test_checkpoint_names_and_shapes_are_the_reference_ones(tmp_path, embedding_size):
    config = small_config(embedding_size=embedding_size)
    model = ElectraPretrainingModel(config)
    optimizer = AdamWeightDecay(model.named_variables, OptimizerConfig(1e-3, 10, 1))
    prefix = save_tf1(model, optimizer, tmp_path / "model.ckpt", global_step=7)
    listed = dict(tf.train.list_variables(prefix))
    assert listed == spec_variables(config, with_optimizer=True)
    reader = tf.train.load_checkpoint(prefix)
    assert reader.get_tensor("global_step") == 7
    assert reader.get_variable_to_dtype_map()["global_step"] == tf.int64
    # Model-only checkpoints (no optimizer) hold the weights and global_step.
    listed = dict(tf.train.list_variables(save_tf1(model, None, tmp_path / "weights.ckpt", global_step=0)))
    assert listed == {**spec_variables(config, with_optimizer=False), "global_step": []}


def test_logits_shapes_and_padding_is_ignored():
    config = small_config()
    model = ElectraPretrainingModel(config)
    ids, mask, segments = batch()
    disc = model.discriminator_logits(ids, mask, segments)
    gen = model.generator_logits(ids, mask, segments)
    assert disc.shape == (3, 12) and disc.dtype == tf.float32
    assert gen.shape == (3, 12, config.vocab_size) and gen.dtype == tf.float32
    # What sits in padded positions cannot change the logits of the real tokens.
    other = ids.numpy()
    other[1, 8:] = 17
    disc2 = model.discriminator_logits(tf.constant(other), mask, segments)
    np.testing.assert_allclose(disc2[1, :8], disc[1, :8], atol=1e-5)
    # Eval mode is deterministic; training mode with seeds applies dropout.
    np.testing.assert_array_equal(model.discriminator_logits(ids, mask, segments), disc)
    seeds = tf.constant([1, 2, 3], tf.uint32)
    assert not np.allclose(model.discriminator_logits(ids, mask, segments, training=True, seeds=seeds), disc)


def test_dropout_of_an_example_does_not_depend_on_its_batch():
    """The property that makes a step's result independent of the replica split."""
    model = ElectraPretrainingModel(small_config())
    ids, mask, segments = batch()
    seeds = tf.constant([11, 22, 33], tf.uint32)
    whole = model.discriminator_logits(ids, mask, segments, training=True, seeds=seeds)
    alone = model.discriminator_logits(ids[2:], mask[2:], segments[2:], training=True, seeds=seeds[2:])
    np.testing.assert_allclose(alone[0], whole[2], atol=1e-5)


class _NoWeights:
    """A builder that creates no variables: the layers' naming without their cost."""

    def variable(self, name, shape, init):
        return None


def test_dropout_streams_are_distinct_however_deep_the_model():
    # Hand-numbered salts (base + 10 * (layer + 1) + site) collided past 100 layers: the
    # discriminator's layer 100 drew the masks of the generator's layer 0.
    config = small_config(num_hidden_layers=200, hidden_size=8, embedding_size=8)
    salts = {}
    for scope in ("electra", "generator"):
        encoder = Encoder(_NoWeights(), scope, 8, 8, 200, 1, 32, config)
        for layer in encoder.layers:
            salts.update({layer.dropout_scopes[site]: salt for site, salt in layer.salts.items()})
    salts.update(ElectraPretrainingModel(small_config()).dropout_salts)  # the embeddings' two streams
    assert len(salts) == 2 * 200 * 3 + 2
    assert len(set(salts.values())) == len(salts), "two dropout call sites share a random stream"
    assert all(0 <= salt < 2**32 for salt in salts.values())


def test_dropout_masks_are_reproducible_and_differ_across_seeds_and_sites():
    ids, mask, segments = batch()
    seeds = tf.constant([11, 22, 33], tf.uint32)
    first, second = ElectraPretrainingModel(small_config(), seed=5), ElectraPretrainingModel(small_config(), seed=5)
    for logits in ("discriminator_logits", "generator_logits"):
        a = getattr(first, logits)(ids, mask, segments, training=True, seeds=seeds)
        np.testing.assert_array_equal(getattr(first, logits)(ids, mask, segments, training=True, seeds=seeds), a)
        np.testing.assert_array_equal(getattr(second, logits)(ids, mask, segments, training=True, seeds=seeds), a)
        other = getattr(first, logits)(ids, mask, segments, training=True, seeds=seeds + 1)
        assert not np.allclose(other, a), logits
    ones = tf.ones([3, 64])
    masks = [dropout(ones, 0.5, seeds, salt).numpy() != 0 for salt in sorted(first.dropout_salts.values())[:2]]
    assert not np.array_equal(masks[0], masks[1]), "two call sites draw the same mask"


def test_bfloat16_mixed_precision_stays_close_to_float32():
    config = small_config()
    full, mixed = (
        ElectraPretrainingModel(config, seed=3),
        ElectraPretrainingModel(config, seed=3, compute_dtype="bfloat16"),
    )
    ids, mask, segments = batch()
    a, b = full.generator_logits(ids, mask, segments), mixed.generator_logits(ids, mask, segments)
    assert b.dtype == tf.float32
    assert np.abs(a.numpy() - b.numpy()).max() < 0.05 * max(1.0, np.abs(a.numpy()).max())


def test_bfloat16_queries_keys_values_are_the_three_projections_split_into_heads():
    # Under bfloat16 one fused [hidden, 3 hidden] product replaces the three; each of q, k, v
    # must still be x @ kernel + bias of its own variables, head h holding columns
    # [h * 64, (h + 1) * 64), as in BERT's transpose_for_scores.
    model = ElectraPretrainingModel(small_config(hidden_size=128), seed=5, compute_dtype="bfloat16")
    layer = model.discriminator.layers[0]
    x = np.random.default_rng(0).normal(size=(2, 6, 128)).astype(np.float32)
    heads = layer._queries_keys_values(tf.cast(x, tf.bfloat16))
    for got, dense in zip(heads, (layer.query, layer.key, layer.value)):
        assert got.dtype == tf.bfloat16 and got.shape == (2, 2, 6, 64)
        want = x.astype(np.float64) @ dense.kernel.numpy() + dense.bias.numpy()  # [2, 6, 128]
        want = want.reshape(2, 6, 2, 64).transpose(0, 2, 1, 3)
        # bfloat16 keeps 8 significant bits: inputs, weights and the result each rounded once.
        np.testing.assert_allclose(tf.cast(got, tf.float32).numpy(), want, atol=0.03 * np.abs(want).max())
    exact = layer._queries_keys_values(tf.constant(x))  # float32: the three products as before
    for got, dense in zip(exact, (layer.query, layer.key, layer.value)):
        np.testing.assert_array_equal(got.numpy(), layer._split_heads(dense(tf.constant(x))).numpy())


@pytest.mark.parametrize("approximate", [False, True])
def test_bfloat16_gelu_is_the_float32_gelu_rounded_once(approximate):
    x = np.linspace(-6.0, 6.0, 241).astype(np.float32)
    xb = tf.cast(x, tf.bfloat16)
    x_rounded = tf.cast(xb, tf.float64).numpy()
    if approximate:  # 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))), Hendrycks & Gimpel (2016)
        want = 0.5 * x_rounded * (1 + np.tanh(np.sqrt(2 / np.pi) * (x_rounded + 0.044715 * x_rounded**3)))
    else:  # x Phi(x) = 0.5 x (1 + erf(x / sqrt(2)))
        want = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x_rounded])
    got = gelu(xb, approximate)
    assert got.dtype == tf.bfloat16
    # One rounding to bfloat16 (relative error at most 2^-9), not one per elementwise op.
    np.testing.assert_allclose(tf.cast(got, tf.float64).numpy(), want, rtol=2.0**-8, atol=1e-6)


def test_restore_tf1_loads_every_weight_and_refuses_a_mismatch(tmp_path):
    config = small_config()
    source = ElectraPretrainingModel(config, seed=1)
    prefix = save_tf1(source, None, tmp_path / "model.ckpt", global_step=3)
    target = ElectraPretrainingModel(config, seed=2)
    ids, mask, segments = batch()
    assert not np.allclose(
        target.discriminator_logits(ids, mask, segments), source.discriminator_logits(ids, mask, segments)
    )
    restore_tf1(target, prefix)
    for name, var in source.named_variables.items():
        np.testing.assert_array_equal(target.named_variables[name].numpy(), var.numpy(), err_msg=name)
    np.testing.assert_array_equal(
        target.generator_logits(ids, mask, segments), source.generator_logits(ids, mask, segments)
    )

    with pytest.raises(KrelectraError, match="shape"):
        restore_tf1(ElectraPretrainingModel(small_config(hidden_size=128)), prefix)
    deeper = ElectraPretrainingModel(small_config(num_hidden_layers=3))
    with pytest.raises(KrelectraError, match="electra/encoder/layer_2"):
        restore_tf1(deeper, prefix)
    with pytest.raises(KrelectraError, match="no TF1 checkpoint"):
        restore_tf1(target, tmp_path / "missing.ckpt")


def test_rotation_keeps_the_newest_checkpoints(tmp_path):
    model = ElectraPretrainingModel(small_config(num_hidden_layers=1))
    rotation = CheckpointRotation(tmp_path, keep_max=2)
    for step in (10, 20, 30):
        rotation.save(model, None, step)
    latest, kept = read_checkpoint_state(tmp_path)
    assert latest == "model.ckpt-30" and kept == ["model.ckpt-20", "model.ckpt-30"]
    assert sorted(p.name for p in tmp_path.glob("*.index")) == ["model.ckpt-20.index", "model.ckpt-30.index"]
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("model.ckpt-30")  # TF reads our state file
    assert rotation.latest() == tmp_path / "model.ckpt-30"
