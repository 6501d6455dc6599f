"""The pretraining model config (model_config.json) -> one `ElectraConfig` per model.

The JSON has the keys of `krelectra.pretrain.model.ModelConfig`; a user converting a
checkpoint written by google-research/electra writes it by hand (see docs/convert.md).
The discriminator config is the encoder's sizes; the generator config swaps in the
`generator_*` sizes and keeps the shared embedding size.
"""

from __future__ import annotations

import json
from pathlib import Path

from krelectra.errors import KrelectraError

REQUIRED_KEYS = (
    "vocab_size",
    "embedding_size",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "generator_hidden_size",
    "generator_num_hidden_layers",
    "generator_num_attention_heads",
    "generator_intermediate_size",
)
# Same defaults as krelectra.pretrain.model.ModelConfig (the recipe's values).
DEFAULTS = {
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
    "layer_norm_eps": 1e-12,
    "hidden_act": "gelu",
}
INTEGER_KEYS = (*REQUIRED_KEYS, "max_position_embeddings", "type_vocab_size")
FLOAT_KEYS = ("hidden_dropout_prob", "attention_probs_dropout_prob", "layer_norm_eps")
# "gelu" is GELU in its exact (erf) form, "gelu_new" the tanh approximation that the
# google-research code computes. Hugging Face's ElectraForMaskedLM applies the exact form
# in its generator head whatever the config says, so only "gelu" converts the generator
# exactly; see docs/convert.md.
HIDDEN_ACTS = ("gelu", "gelu_new")


def read_model_config(path: str | Path) -> dict:
    """Read and check model_config.json; every problem names the file and the key."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KrelectraError(f"{path}: model config not found") from None
    except json.JSONDecodeError as error:
        raise KrelectraError(f"{path}:{error.lineno}: not valid JSON: {error.msg}") from None
    if not isinstance(data, dict):
        raise KrelectraError(f"{path}: expected a JSON object of model sizes")
    known = set(REQUIRED_KEYS) | set(DEFAULTS)
    unknown = sorted(set(data) - known)
    if unknown:
        raise KrelectraError(f"{path}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(known))}")
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise KrelectraError(f"{path}: missing key(s) {', '.join(missing)}")
    config = {**DEFAULTS, **data}
    for key in INTEGER_KEYS:
        if isinstance(config[key], bool) or not isinstance(config[key], int) or config[key] <= 0:
            raise KrelectraError(f"{path}: {key} must be a positive integer, got {config[key]!r}")
    for key in FLOAT_KEYS:
        if isinstance(config[key], bool) or not isinstance(config[key], (int, float)) or config[key] < 0:
            raise KrelectraError(f"{path}: {key} must be a non-negative number, got {config[key]!r}")
    if config["hidden_act"] not in HIDDEN_ACTS:
        raise KrelectraError(
            f"{path}: hidden_act must be one of {', '.join(HIDDEN_ACTS)}, got {config['hidden_act']!r}"
        )
    for hidden, heads in (
        ("hidden_size", "num_attention_heads"),
        ("generator_hidden_size", "generator_num_attention_heads"),
    ):
        if config[hidden] % config[heads]:
            raise KrelectraError(f"{path}: {hidden} ({config[hidden]}) is not a multiple of {heads} ({config[heads]})")
    return config


def electra_configs(model_config: dict, pad_token_id: int):
    """`ElectraConfig`s for `ElectraForPreTraining` (discriminator) and `ElectraForMaskedLM` (generator)."""
    from transformers import ElectraConfig

    shared = {
        "vocab_size": model_config["vocab_size"],
        "embedding_size": model_config["embedding_size"],
        "max_position_embeddings": model_config["max_position_embeddings"],
        "type_vocab_size": model_config["type_vocab_size"],
        "hidden_act": model_config["hidden_act"],
        "hidden_dropout_prob": model_config["hidden_dropout_prob"],
        "attention_probs_dropout_prob": model_config["attention_probs_dropout_prob"],
        "layer_norm_eps": model_config["layer_norm_eps"],
        "pad_token_id": pad_token_id,
    }
    discriminator = ElectraConfig(
        **shared,
        hidden_size=model_config["hidden_size"],
        num_hidden_layers=model_config["num_hidden_layers"],
        num_attention_heads=model_config["num_attention_heads"],
        intermediate_size=model_config["intermediate_size"],
        architectures=["ElectraForPreTraining"],
    )
    generator = ElectraConfig(
        **shared,
        hidden_size=model_config["generator_hidden_size"],
        num_hidden_layers=model_config["generator_num_hidden_layers"],
        num_attention_heads=model_config["generator_num_attention_heads"],
        intermediate_size=model_config["generator_intermediate_size"],
        architectures=["ElectraForMaskedLM"],
        tie_word_embeddings=True,
    )
    return discriminator, generator
