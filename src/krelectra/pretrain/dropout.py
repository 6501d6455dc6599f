"""Dropout whose random mask is a function of (example seed, call site, element index).

Every example of a batch carries its own 32-bit seed (drawn by the input pipeline), so an
example gets the same dropout mask whether it is processed on one device inside the
global batch or on one of several replicas holding a slice of it. That makes a run's
losses independent of the number of replicas (the MirroredStrategy test checks it) and
works the same under XLA, on GPUs and on TPUs, where stateful random ops differ."""

from __future__ import annotations

import tensorflow as tf

from krelectra.hashing import stable_hash64

_GOLDEN = 0x9E3779B9


def salt_of(scope: str) -> int:
    """The salt of the dropout stream at variable scope `scope` (e.g.
    `electra/encoder/layer_3/output/dropout`): 32 bits of the name's stable hash, as the
    initialiser seeds each weight from its name. Distinct call sites get distinct streams
    however deep the model (tests/test_pretrain_model.py checks 200 layers)."""
    return stable_hash64(scope) & 0xFFFFFFFF


def _fmix32(x: tf.Tensor) -> tf.Tensor:
    """The MurmurHash3 finaliser: a bijection on uint32 with full avalanche."""
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(16, tf.uint32)))
    x = x * tf.constant(0x85EBCA6B, tf.uint32)
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(13, tf.uint32)))
    x = x * tf.constant(0xC2B2AE35, tf.uint32)
    return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(16, tf.uint32)))


def random_bits(seeds: tf.Tensor, shape: list[int], salt: int) -> tf.Tensor:
    """uint32 random bits of shape [B, *shape]; row b depends only on seeds[b] and salt.

    Element i of row b is fmix32(i * m_b + a_b), where the odd multiplier m_b and the
    offset a_b are hashed from (seed, salt): distinct rows are not shifted copies of
    each other, which a plain counter + key would give."""
    size = 1
    for dim in shape:
        size *= dim
    salted = tf.bitwise.bitwise_xor(tf.cast(seeds, tf.uint32), tf.constant((salt * _GOLDEN) & 0xFFFFFFFF, tf.uint32))
    multiplier = tf.bitwise.bitwise_or(_fmix32(salted), tf.constant(1, tf.uint32))
    offset = _fmix32(salted + tf.constant(_GOLDEN, tf.uint32))
    counters = tf.reshape(tf.cast(tf.range(size), tf.uint32), shape)
    broadcast = [-1] + [1] * len(shape)
    return _fmix32(counters * tf.reshape(multiplier, broadcast) + tf.reshape(offset, broadcast))


def dropout(x: tf.Tensor, rate: float, seeds: tf.Tensor | None, salt: int) -> tf.Tensor:
    """Inverted dropout of x [B, ...] (no-op when rate is 0 or seeds is None)."""
    if rate <= 0.0 or seeds is None:
        return x
    threshold = tf.constant(min(int(rate * 2.0**32), 2**32 - 1), tf.uint32)
    keep = random_bits(seeds, x.shape[1:].as_list(), salt) >= threshold
    return tf.where(keep, x * tf.cast(1.0 / (1.0 - rate), x.dtype), tf.zeros_like(x))
