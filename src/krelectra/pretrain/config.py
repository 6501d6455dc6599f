"""The `pretrain:` config section as typed dataclasses.

Defaults are the base recipe that KR-ELECTRA used (ELECTRA recipe, google-research/
electra; KR-ELECTRA release notes) and equal the defaults in
workflow/schemas/pretrain.schema.yaml (a test keeps the two in step), so the CLI run by
hand without Snakemake resolves a partial section the same way the workflow does.
"""

from __future__ import annotations

import dataclasses

from krelectra.errors import KrelectraError
from krelectra.pretrain.examples import ExampleConfig
from krelectra.pretrain.fields import from_mapping

STRATEGIES = ("default", "mirrored", "tpu", "multiworker")


@dataclasses.dataclass(frozen=True)
class ModelSize:
    """Sizes from which `ModelConfig.from_recipe` derives heads, FFN and the generator."""

    embedding_size: int = 768
    hidden_size: int = 768
    num_hidden_layers: int = 12
    generator_hidden_size: float = 0.33333  # fraction of hidden_size
    generator_num_hidden_layers: int | None = None  # None: as many as the discriminator
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    hidden_act: str = "gelu"


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    train_batch_size: int = 256
    num_train_steps: int = 700000
    learning_rate: float = 2e-4
    num_warmup_steps: int = 10000
    lr_decay_power: float = 1.0
    weight_decay_rate: float = 0.01
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-6
    clip_norm: float = 1.0
    mask_prob: float = 0.15
    max_predictions_per_seq: int | None = None  # None: int((mask_prob + 0.005) * max_seq_length)
    gen_weight: float = 1.0
    disc_weight: float = 50.0
    temperature: float = 1.0
    shuffle_buffer: int = 10000
    iterations_per_loop: int = 100
    log_every_steps: int = 100
    save_checkpoints_steps: int = 1000
    keep_checkpoint_max: int = 5
    eval_every_steps: int = 10000
    eval_batch_size: int = 128
    max_eval_batches: int = 100


@dataclasses.dataclass(frozen=True)
class TpuConfig:
    name: str = "local"  # "local" on a TPU VM; else the TPU's name or grpc:// address
    zone: str = ""
    project: str = ""


@dataclasses.dataclass(frozen=True)
class PretrainConfig:
    seed: int = 12345
    strategy: str = "default"
    tpu: TpuConfig = dataclasses.field(default_factory=TpuConfig)
    init_checkpoint: str = ""
    xla: bool | str = "auto"  # true, false or "auto" (runtime.resolve_settings)
    mixed_precision: bool | str = "auto"  # bfloat16 compute, float32 weights; true, false or "auto"
    examples: ExampleConfig = dataclasses.field(default_factory=ExampleConfig)
    model: ModelSize = dataclasses.field(default_factory=ModelSize)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    # Start afresh when the working checkpoints belong to another run (krelectra.fingerprint):
    # move them aside instead of refusing. Checkpoints of this same run are resumed regardless.
    restart: bool = False

    def __post_init__(self):
        if self.strategy not in STRATEGIES:
            raise KrelectraError(f"pretrain.strategy={self.strategy!r}: must be one of {', '.join(STRATEGIES)}")
        for key in ("xla", "mixed_precision"):
            value = getattr(self, key)
            if isinstance(value, str) and value != "auto":
                raise KrelectraError(f"pretrain.{key}={value!r}: must be true, false or auto")
        t = self.train
        for key in (
            "train_batch_size",
            "num_train_steps",
            "iterations_per_loop",
            "log_every_steps",
            "save_checkpoints_steps",
            "keep_checkpoint_max",
            "eval_batch_size",
        ):
            if getattr(t, key) < 1:
                raise KrelectraError(f"pretrain.train.{key}={getattr(t, key)}: must be at least 1")
        if not 0.0 < t.mask_prob < 1.0:
            raise KrelectraError(f"pretrain.train.mask_prob={t.mask_prob}: must be in (0, 1)")
        if self.max_predictions_per_seq > self.examples.max_seq_length or self.max_predictions_per_seq < 1:
            raise KrelectraError(
                f"pretrain.train.max_predictions_per_seq={self.max_predictions_per_seq}: "
                f"must be in [1, max_seq_length={self.examples.max_seq_length}]"
            )

    @property
    def max_predictions_per_seq(self) -> int:
        from krelectra.pretrain.objective import default_max_predictions

        if self.train.max_predictions_per_seq is not None:
            return self.train.max_predictions_per_seq
        return default_max_predictions(self.train.mask_prob, self.examples.max_seq_length)

    @classmethod
    def from_dict(cls, data: dict | None) -> PretrainConfig:
        """The `pretrain:` section (a partial one takes the defaults above); KrelectraError names
        an unknown key, or a value of the wrong type, as `config pretrain.<section>`."""
        return from_mapping(cls, data or {}, "config pretrain")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
