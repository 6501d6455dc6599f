"""AdamW with the BERT/ELECTRA update rule, the learning-rate schedule and clipping.

Facts of the recipe (google-research/electra, which uses BERT's optimiser): linear
warmup to the peak learning rate, then polynomial (power 1 = linear) decay to zero at
the last step, the decay counted from step 0; Adam moments without bias correction;
decoupled weight decay 0.01 on every weight except LayerNorm parameters and biases;
gradients clipped to global norm 1.0. The moment slots are checkpointed as
`<variable>/adam_m` and `<variable>/adam_v`.
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf

NO_DECAY_MARKERS = ("LayerNorm", "layer_norm", "bias")


@dataclasses.dataclass(frozen=True)
class OptimizerConfig:
    learning_rate: float
    num_train_steps: int
    num_warmup_steps: int
    lr_decay_power: float = 1.0
    weight_decay_rate: float = 0.01
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-6
    clip_norm: float = 1.0


def learning_rate(step, config: OptimizerConfig):
    """Learning rate at 0-based `step` (a Python number or a tensor)."""
    step = tf.cast(step, tf.float32)
    total = float(max(config.num_train_steps, 1))
    decayed = config.learning_rate * tf.pow(1.0 - tf.minimum(step, total) / total, config.lr_decay_power)
    if config.num_warmup_steps <= 0:
        return decayed
    warmup = config.learning_rate * step / float(config.num_warmup_steps)
    return tf.where(step < config.num_warmup_steps, warmup, decayed)


def uses_weight_decay(name: str) -> bool:
    return not any(marker in name for marker in NO_DECAY_MARKERS)


class AdamWeightDecay:
    """Holds `global_step` and the adam_m / adam_v slots of every named variable.

    Create it inside `strategy.scope()`. `apply(grads)` is called in replica context with
    gradients already summed over replicas: it clips them by global norm and updates every
    copy of every variable the same way (through `merge_call` + `extended.update`)."""

    def __init__(self, named_variables: dict[str, tf.Variable], config: OptimizerConfig):
        self.config = config
        self.names = list(named_variables)
        self.variables = list(named_variables.values())
        self.decay = [uses_weight_decay(name) for name in self.names]
        self.global_step = tf.Variable(
            0,
            dtype=tf.int64,
            trainable=False,
            name="global_step",
            aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
        )
        self.m = [
            tf.Variable(tf.zeros_like(v), trainable=False, name=f"{v.name.split(':')[0]}.adam_m")
            for v in self.variables
        ]
        self.v = [
            tf.Variable(tf.zeros_like(v), trainable=False, name=f"{v.name.split(':')[0]}.adam_v")
            for v in self.variables
        ]

    @property
    def named_slots(self) -> dict[str, tf.Variable]:
        """{`<name>/adam_m` and `<name>/adam_v`: slot variable} for the checkpoint."""
        slots = {}
        for name, m, v in zip(self.names, self.m, self.v):
            slots[f"{name}/adam_m"] = m
            slots[f"{name}/adam_v"] = v
        return slots

    def apply(self, grads: list[tf.Tensor]) -> tf.Tensor:
        """Clip, then update; returns the global gradient norm before clipping."""
        grads = [tf.convert_to_tensor(g) for g in grads]
        clipped, norm = tf.clip_by_global_norm(grads, self.config.clip_norm)
        tf.distribute.get_replica_context().merge_call(self._update_all, args=(clipped,))
        return norm

    def _update_all(self, strategy, grads):
        lr = learning_rate(self.global_step.read_value(), self.config)
        updates = []
        for var, grad, m, v, decay in zip(self.variables, grads, self.m, self.v, self.decay):
            updates.append(strategy.extended.update(var, self._update_one, args=(grad, m, v, lr, decay), group=False))
        with tf.control_dependencies(tf.nest.flatten(updates)):
            strategy.extended.update(self.global_step, lambda step: step.assign_add(1), group=False)

    def _update_one(self, var, grad, m, v, lr, decay):
        """var <- var - lr x (m / (sqrt(v) + epsilon) + weight_decay_rate x var), with the
        moments m, v updated first (no bias correction). Two fused kernels: the decay term
        (computed from the weight before the update), then TensorFlow's Adam kernel, which
        with beta powers 0 applies exactly lr x m / (sqrt(v) + epsilon)."""
        c = self.config
        decayed = []
        if decay and c.weight_decay_rate:
            decayed = [var.assign_sub(lr * c.weight_decay_rate * var.read_value(), read_value=False)]
        with tf.control_dependencies(decayed):
            return tf.raw_ops.ResourceApplyAdam(
                var=var.handle,
                m=m.handle,
                v=v.handle,
                beta1_power=tf.constant(0.0, var.dtype),
                beta2_power=tf.constant(0.0, var.dtype),
                lr=tf.cast(lr, var.dtype),
                beta1=tf.constant(c.adam_beta1, var.dtype),
                beta2=tf.constant(c.adam_beta2, var.dtype),
                epsilon=tf.constant(c.adam_epsilon, var.dtype),
                grad=grad,
            )
