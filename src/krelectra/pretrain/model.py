"""The ELECTRA generator and discriminator (BERT-style post-LayerNorm transformers).

Every variable is created under its TF1 checkpoint name (`electra/encoder/layer_0/...`,
see `ElectraPretrainingModel.named_variables`), so a weight's name tells where it lives
here and checkpoints need no name mapping. Facts of the architecture follow the ELECTRA
recipe (google-research/electra): the two models share (tie) the token, position and
token-type embeddings under `electra/embeddings/`; a model whose hidden size differs
from the embedding size projects the embeddings with its own `embeddings_project`; the
generator's output layer is the word-embedding matrix plus `output_bias`.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import tensorflow as tf

from krelectra.errors import KrelectraError
from krelectra.hashing import stable_hash64
from krelectra.pretrain.dropout import dropout, salt_of
from krelectra.pretrain.fields import from_mapping

INITIALIZER_RANGE = 0.02  # BERT/ELECTRA truncated-normal initialiser stddev
ACTIVATIONS = ("gelu", "gelu_new")  # exact (erf) GELU, or the tanh approximation


@dataclasses.dataclass
class ModelConfig:
    """Sizes of the discriminator and the generator (names as in Hugging Face configs)."""

    vocab_size: int
    embedding_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    generator_hidden_size: int
    generator_num_hidden_layers: int
    generator_num_attention_heads: int
    generator_intermediate_size: int
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    layer_norm_eps: float = 1e-12
    # "gelu" is the exact GELU that Hugging Face's ELECTRA uses (so converted models give
    # the same numbers); the TF1 reference code used the tanh approximation, "gelu_new".
    hidden_act: str = "gelu"

    @classmethod
    def from_recipe(
        cls,
        vocab_size: int,
        embedding_size: int,
        hidden_size: int,
        num_hidden_layers: int,
        generator_hidden_size: float,
        generator_num_hidden_layers: int | None = None,
        **overrides,
    ) -> ModelConfig:
        """Derive heads (hidden / 64) and FFN (4 x hidden) for both models, and the generator's
        hidden size as a fraction of the discriminator's, as the ELECTRA recipe does."""
        gen_hidden = round(hidden_size * generator_hidden_size)
        if gen_hidden < 1:
            raise KrelectraError(
                f"pretrain.model.generator_hidden_size={generator_hidden_size} "
                f"gives a generator of hidden size {gen_hidden}"
            )
        values = {
            "vocab_size": vocab_size,
            "embedding_size": embedding_size,
            "hidden_size": hidden_size,
            "num_hidden_layers": num_hidden_layers,
            "num_attention_heads": max(1, hidden_size // 64),
            "intermediate_size": 4 * hidden_size,
            "generator_hidden_size": gen_hidden,
            "generator_num_hidden_layers": generator_num_hidden_layers or num_hidden_layers,
            "generator_num_attention_heads": max(1, gen_hidden // 64),
            "generator_intermediate_size": 4 * gen_hidden,
        }
        return from_mapping(cls, {**values, **overrides}, "model config")

    def __post_init__(self):
        for hidden, heads, who in (
            (self.hidden_size, self.num_attention_heads, ""),
            (self.generator_hidden_size, self.generator_num_attention_heads, "generator_"),
        ):
            if heads < 1 or hidden % heads:
                raise KrelectraError(
                    f"model config: {who}hidden_size={hidden} is not a multiple of {who}num_attention_heads={heads}"
                )
        if self.hidden_act not in ACTIVATIONS:
            raise KrelectraError(f"model config: hidden_act={self.hidden_act!r} is not one of {ACTIVATIONS}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict, source: str = "model config") -> ModelConfig:
        """KrelectraError names `source` and an unknown or missing key, or a value of the wrong type."""
        return from_mapping(cls, data, source)

    @classmethod
    def from_json_file(cls, path: str | Path) -> ModelConfig:
        with open(path, encoding="utf-8") as handle:
            return cls.from_dict(json.load(handle), source=str(path))


def gelu(x: tf.Tensor, approximate: bool) -> tf.Tensor:
    """GELU of x (any shape, same dtype out): exact (erf), or the tanh approximation when
    `approximate`. A bfloat16 x is computed in float32 and rounded once at the end:
    TensorFlow's bfloat16 erf/exp kernels (forward and gradient) cost about 2.3 times its
    float32 ones plus the two casts, on an AVX512-BF16 CPU (docs/pretrain.md, "Speed")."""
    if x.dtype == tf.bfloat16:
        return tf.cast(tf.nn.gelu(tf.cast(x, tf.float32), approximate=approximate), x.dtype)
    return tf.nn.gelu(x, approximate=approximate)


class _Builder:
    """Creates variables under their checkpoint names with a deterministic initial value:
    the same seed gives the same weights whatever the creation order or device count."""

    def __init__(self, seed: int):
        self.seed = seed
        self.variables: dict[str, tf.Variable] = {}

    def variable(self, name: str, shape: list[int], init: str) -> tf.Variable:
        """A float32 variable of `shape` named `name` (its TF1 checkpoint name): `init` "normal"
        (truncated normal, stddev INITIALIZER_RANGE, seeded by (seed, name)), "zeros" or "ones".
        Raises ValueError for a name already created."""
        if name in self.variables:
            raise ValueError(f"duplicate variable {name}")
        if init == "normal":
            op_seed = tf.constant([self.seed % 2**31, stable_hash64(name) % 2**31], tf.int64)
            value = tf.random.stateless_truncated_normal(shape, seed=op_seed, stddev=INITIALIZER_RANGE)
        elif init == "zeros":
            value = tf.zeros(shape)
        else:
            value = tf.ones(shape)
        var = tf.Variable(value, name=name.replace("/", "."), trainable=True)
        self.variables[name] = var
        return var


class Dense:
    """A fully connected layer: `<name>/kernel` [units_in, units_out] and `<name>/bias` [units_out]."""

    def __init__(self, builder: _Builder, name: str, units_in: int, units_out: int):
        self.kernel = builder.variable(f"{name}/kernel", [units_in, units_out], "normal")  # [in, out]
        self.bias = builder.variable(f"{name}/bias", [units_out], "zeros")

    def __call__(self, x: tf.Tensor) -> tf.Tensor:
        """x [..., units_in] -> x @ kernel + bias [..., units_out], computed in x's dtype."""
        kernel = tf.cast(self.kernel, x.dtype)
        # bias_add: its gradient is one BiasAddGrad kernel, not a generic reduction over [B, T].
        return tf.nn.bias_add(tf.tensordot(x, kernel, axes=1), tf.cast(self.bias, x.dtype))


class LayerNorm:
    """Normalises over the last axis in float32 (also under bfloat16 mixed precision):
    `<name>/gamma` and `<name>/beta` [size], `eps` added to the variance."""

    def __init__(self, builder: _Builder, name: str, size: int, eps: float):
        self.gamma = builder.variable(f"{name}/gamma", [size], "ones")
        self.beta = builder.variable(f"{name}/beta", [size], "zeros")
        self.eps = eps

    def __call__(self, x: tf.Tensor) -> tf.Tensor:
        """x [..., size] -> the same shape and dtype."""
        x32 = tf.cast(x, tf.float32)
        mean, variance = tf.nn.moments(x32, axes=[-1], keepdims=True)
        normed = (x32 - mean) * tf.math.rsqrt(variance + self.eps)
        return tf.cast(normed * self.gamma + self.beta, x.dtype)


class TransformerLayer:
    """One post-LayerNorm block: self-attention, add & norm, GELU FFN, add & norm.

    Variables under `name` (e.g. `electra/encoder/layer_0`): `attention/self/{query,key,value}`
    and `attention/output/dense` [hidden, hidden], `intermediate/dense` [hidden, intermediate],
    `output/dense` [intermediate, hidden], and two LayerNorms [hidden]. `hidden` must be a
    multiple of `heads`; dropout rates, LayerNorm eps and the activation come from `config`."""

    def __init__(self, builder: _Builder, name: str, hidden: int, heads: int, intermediate: int, config: ModelConfig):
        self.heads, self.head_size = heads, hidden // heads
        self.query = Dense(builder, f"{name}/attention/self/query", hidden, hidden)
        self.key = Dense(builder, f"{name}/attention/self/key", hidden, hidden)
        self.value = Dense(builder, f"{name}/attention/self/value", hidden, hidden)
        self.attention_output = Dense(builder, f"{name}/attention/output/dense", hidden, hidden)
        self.attention_norm = LayerNorm(builder, f"{name}/attention/output/LayerNorm", hidden, config.layer_norm_eps)
        self.intermediate = Dense(builder, f"{name}/intermediate/dense", hidden, intermediate)
        self.output = Dense(builder, f"{name}/output/dense", intermediate, hidden)
        self.output_norm = LayerNorm(builder, f"{name}/output/LayerNorm", hidden, config.layer_norm_eps)
        self.hidden_dropout = config.hidden_dropout_prob
        self.attention_dropout = config.attention_probs_dropout_prob
        self.approximate_gelu = config.hidden_act == "gelu_new"
        # One dropout stream per call site, salted by its scope name.
        self.dropout_scopes = {
            site: f"{name}/{site}/dropout" for site in ("attention/self", "attention/output", "output")
        }
        self.salts = {site: salt_of(scope) for site, scope in self.dropout_scopes.items()}

    def _split_heads(self, x: tf.Tensor) -> tf.Tensor:
        batch, length = tf.shape(x)[0], x.shape[1]
        x = tf.reshape(x, [batch, length, self.heads, self.head_size])
        return tf.transpose(x, [0, 2, 1, 3])  # [B, heads, T, head_size]

    def _queries_keys_values(self, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """x [B, T, hidden] -> queries, keys, values, each [B, heads, T, head_size].

        In float32, three products (the float32 bytes of published runs depend on it). In
        bfloat16, one product with the three kernels side by side, [hidden, 3 x hidden]:
        oneDNN's bfloat16 matmul ran a [B T, 256] x [256, 256] product at about 110 GFLOP per
        CPU second and [B T, 256] x [256, 768] at about 160 (docs/pretrain.md, "Speed"). The
        variables stay separate (their checkpoint names), concatenated once per call."""
        if x.dtype == tf.float32:
            return tuple(self._split_heads(layer(x)) for layer in (self.query, self.key, self.value))
        layers = (self.query, self.key, self.value)
        kernel = tf.cast(tf.concat([layer.kernel for layer in layers], axis=1), x.dtype)  # [hidden, 3 hidden]
        bias = tf.cast(tf.concat([layer.bias for layer in layers], axis=0), x.dtype)
        batch, length = tf.shape(x)[0], x.shape[1]
        flat = tf.reshape(x, [-1, x.shape[-1]])
        fused = tf.nn.bias_add(tf.matmul(flat, kernel), bias)  # [B T, 3 hidden]
        fused = tf.reshape(fused, [batch, length, 3, self.heads, self.head_size])
        q, k, v = tf.unstack(tf.transpose(fused, [2, 0, 3, 1, 4]))  # 3 x [B, heads, T, head_size]
        return q, k, v

    def __call__(self, x: tf.Tensor, attention_bias: tf.Tensor, seeds: tf.Tensor | None) -> tf.Tensor:
        """x [B, T, hidden] (compute dtype) -> [B, T, hidden].

        attention_bias [B, 1, 1, T] float32 is added to the attention scores (0 for a real
        token, -10000 for padding); seeds [B] uint32 turn dropout on (None: off)."""
        batch, length, hidden = tf.shape(x)[0], x.shape[1], x.shape[2]
        q, k, v = self._queries_keys_values(x)
        scores = tf.matmul(q, k, transpose_b=True) * tf.cast(1.0 / math.sqrt(self.head_size), x.dtype)
        scores = tf.cast(scores, tf.float32) + attention_bias  # softmax in float32
        probs = tf.cast(tf.nn.softmax(scores, axis=-1), x.dtype)
        probs = dropout(probs, self.attention_dropout, seeds, self.salts["attention/self"])
        context = tf.transpose(tf.matmul(probs, v), [0, 2, 1, 3])
        context = tf.reshape(context, [batch, length, hidden])
        attended = dropout(self.attention_output(context), self.hidden_dropout, seeds, self.salts["attention/output"])
        x = self.attention_norm(attended + x)
        inner = gelu(self.intermediate(x), self.approximate_gelu)
        out = dropout(self.output(inner), self.hidden_dropout, seeds, self.salts["output"])
        return self.output_norm(out + x)


class Encoder:
    """A stack of `layers` TransformerLayers `<scope>/encoder/layer_<N>` of width `hidden`,
    after `<scope>/embeddings_project` [embedding_size, hidden] when the two sizes differ."""

    def __init__(
        self,
        builder: _Builder,
        scope: str,
        embedding_size: int,
        hidden: int,
        layers: int,
        heads: int,
        intermediate: int,
        config: ModelConfig,
    ):
        self.project = (
            Dense(builder, f"{scope}/embeddings_project", embedding_size, hidden) if embedding_size != hidden else None
        )
        self.layers = [
            TransformerLayer(builder, f"{scope}/encoder/layer_{i}", hidden, heads, intermediate, config)
            for i in range(layers)
        ]

    def __call__(self, embedded: tf.Tensor, input_mask: tf.Tensor, seeds: tf.Tensor | None) -> tf.Tensor:
        """embedded [B, T, embedding_size] -> hidden states [B, T, hidden].

        input_mask [B, T] is 1 for a real token and 0 for padding; seeds [B] uint32 turn
        dropout on (None: off)."""
        x = self.project(embedded) if self.project is not None else embedded
        # Padding positions get -10000 before the softmax, as in BERT.
        bias = (1.0 - tf.cast(input_mask[:, None, None, :], tf.float32)) * -10000.0
        for layer in self.layers:
            x = layer(x, bias, seeds)
        return x


class ElectraPretrainingModel(tf.Module):
    """Generator + discriminator with tied embeddings.

    `compute_dtype` "bfloat16" runs matmuls in bfloat16 while the variables, LayerNorms,
    GELUs, softmaxes and all outputs stay float32 (mixed precision). Dropout needs a per-example
    uint32 `seeds` vector (see dropout.py); without it (or with training=False) the
    models are deterministic. `seed` fixes the initial weights (each seeded by its name).

    Inputs, as in ELECTRA's modeling.py: input_ids [B, T] int32 token ids, input_mask [B, T]
    int32 (1 for a real token, 0 for padding), segment_ids [B, T] int32 token types; T is at
    most max_position_embeddings."""

    def __init__(self, config: ModelConfig, seed: int = 0, compute_dtype: str = "float32", name: str | None = None):
        super().__init__(name=name)
        self.config = config
        self.compute_dtype = tf.dtypes.as_dtype(compute_dtype)
        builder = _Builder(seed)
        emb, eps = config.embedding_size, config.layer_norm_eps
        self.word_embeddings = builder.variable(
            "electra/embeddings/word_embeddings", [config.vocab_size, emb], "normal"
        )
        self.position_embeddings = builder.variable(
            "electra/embeddings/position_embeddings", [config.max_position_embeddings, emb], "normal"
        )
        self.token_type_embeddings = builder.variable(
            "electra/embeddings/token_type_embeddings", [config.type_vocab_size, emb], "normal"
        )
        self.embedding_norm = LayerNorm(builder, "electra/embeddings/LayerNorm", emb, eps)
        self.discriminator = Encoder(
            builder,
            "electra",
            emb,
            config.hidden_size,
            config.num_hidden_layers,
            config.num_attention_heads,
            config.intermediate_size,
            config,
        )
        self.generator = Encoder(
            builder,
            "generator",
            emb,
            config.generator_hidden_size,
            config.generator_num_hidden_layers,
            config.generator_num_attention_heads,
            config.generator_intermediate_size,
            config,
        )
        self.generator_dense = Dense(builder, "generator_predictions/dense", config.generator_hidden_size, emb)
        self.generator_norm = LayerNorm(builder, "generator_predictions/LayerNorm", emb, eps)
        self.generator_output_bias = builder.variable("generator_predictions/output_bias", [config.vocab_size], "zeros")
        self.discriminator_dense = Dense(
            builder, "discriminator_predictions/dense", config.hidden_size, config.hidden_size
        )
        self.discriminator_output = Dense(builder, "discriminator_predictions/dense_1", config.hidden_size, 1)
        self._named = builder.variables
        self._approximate_gelu = config.hidden_act == "gelu_new"
        # The embeddings are shared, but each model drops its own copy of them out.
        self._embedding_salts = {scope: salt_of(f"{scope}/embeddings/dropout") for scope in ("electra", "generator")}

    @property
    def dropout_salts(self) -> dict[str, int]:
        """{scope name of every dropout call site of both models: the salt of its stream}."""
        salts = {f"{scope}/embeddings/dropout": salt for scope, salt in self._embedding_salts.items()}
        for encoder in (self.discriminator, self.generator):
            for layer in encoder.layers:
                salts.update({layer.dropout_scopes[site]: salt for site, salt in layer.salts.items()})
        return salts

    @property
    def named_variables(self) -> dict[str, tf.Variable]:
        """{TF1 checkpoint name: variable}, in creation order."""
        return dict(self._named)

    # -- shared embeddings -------------------------------------------------------------
    def _embed(self, input_ids: tf.Tensor, segment_ids: tf.Tensor, seeds: tf.Tensor | None, salt: int) -> tf.Tensor:
        """Token + segment + position embeddings, LayerNorm, dropout: [B, T] -> [B, T, embedding_size]."""
        length = input_ids.shape[1]
        x = (
            tf.gather(self.word_embeddings, input_ids)
            + tf.gather(self.token_type_embeddings, segment_ids)
            + self.position_embeddings[None, :length, :]
        )
        x = self.embedding_norm(x)
        return dropout(tf.cast(x, self.compute_dtype), self.config.hidden_dropout_prob, seeds, salt)

    # -- discriminator -----------------------------------------------------------------
    def discriminator_hidden(
        self, input_ids: tf.Tensor, input_mask: tf.Tensor, segment_ids: tf.Tensor, seeds: tf.Tensor | None = None
    ) -> tf.Tensor:
        """input_ids, input_mask, segment_ids [B, T] int -> hidden states [B, T, hidden_size]
        (compute dtype); seeds [B] uint32 turn dropout on."""
        embedded = self._embed(input_ids, segment_ids, seeds, salt=self._embedding_salts["electra"])
        return self.discriminator(embedded, input_mask, seeds)

    def discriminator_head(self, hidden: tf.Tensor) -> tf.Tensor:
        """Hidden states [..., hidden_size] -> replaced-token logits [...] (float32)."""
        hidden = gelu(self.discriminator_dense(hidden), self._approximate_gelu)
        return tf.cast(tf.squeeze(self.discriminator_output(hidden), -1), tf.float32)

    def discriminator_logits(
        self,
        input_ids: tf.Tensor,
        input_mask: tf.Tensor,
        segment_ids: tf.Tensor,
        training: bool = False,
        seeds: tf.Tensor | None = None,
    ) -> tf.Tensor:
        """input_ids, input_mask, segment_ids [B, T] int -> replaced-token logits [B, T]
        (float32). Dropout only with training=True and seeds [B] uint32."""
        seeds = seeds if training else None
        return self.discriminator_head(self.discriminator_hidden(input_ids, input_mask, segment_ids, seeds))

    # -- generator ---------------------------------------------------------------------
    def generator_hidden(
        self, input_ids: tf.Tensor, input_mask: tf.Tensor, segment_ids: tf.Tensor, seeds: tf.Tensor | None = None
    ) -> tf.Tensor:
        """input_ids, input_mask, segment_ids [B, T] int -> hidden states
        [B, T, generator_hidden_size] (compute dtype); seeds [B] uint32 turn dropout on."""
        embedded = self._embed(input_ids, segment_ids, seeds, salt=self._embedding_salts["generator"])
        return self.generator(embedded, input_mask, seeds)

    def generator_head(self, hidden: tf.Tensor) -> tf.Tensor:
        """MLM logits over the vocabulary for hidden states [..., generator_hidden] (float32)."""
        x = self.generator_norm(gelu(self.generator_dense(hidden), self._approximate_gelu))
        # A 2-D matmul: tf.einsum("...e,ve->...v") has a gradient that materialises [V, E, ...].
        flat = tf.reshape(x, [-1, x.shape[-1]])
        logits = tf.matmul(flat, tf.cast(self.word_embeddings, x.dtype), transpose_b=True)
        logits = tf.nn.bias_add(tf.cast(logits, tf.float32), self.generator_output_bias)
        return tf.reshape(logits, tf.concat([tf.shape(x)[:-1], [self.config.vocab_size]], 0))

    def generator_logits(
        self,
        input_ids: tf.Tensor,
        input_mask: tf.Tensor,
        segment_ids: tf.Tensor,
        training: bool = False,
        seeds: tf.Tensor | None = None,
    ) -> tf.Tensor:
        """input_ids, input_mask, segment_ids [B, T] int -> MLM logits [B, T, vocab_size] at
        every position (float32). Dropout only with training=True and seeds [B] uint32."""
        seeds = seeds if training else None
        return self.generator_head(self.generator_hidden(input_ids, input_mask, segment_ids, seeds))
