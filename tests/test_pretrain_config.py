"""Building the pretraining config classes: one way, unknown keys named (krelectra.pretrain.fields)."""

from __future__ import annotations

import pytest

from krelectra.errors import KrelectraError
from krelectra.pretrain.config import PretrainConfig, TrainConfig
from krelectra.pretrain.model import ModelConfig
from krelectra.pretrain.objective import Objective
from krelectra.pretrain.optimization import OptimizerConfig
from krelectra.pretrain.train import build_model_config, build_objective, optimizer_config

IDS = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4}


@pytest.mark.parametrize(
    ("section", "pattern"),
    [
        ({"trian": {}}, r"config pretrain: unknown key\(s\) trian"),
        ({"train": {"learning_rat": 1e-3}}, r"config pretrain\.train: unknown key\(s\) learning_rat"),
        ({"model": {"hidden": 64, "layers": 2}}, r"config pretrain\.model: unknown key\(s\) hidden, layers"),
        ({"train": {"num_train_steps": "10"}}, r"config pretrain\.train: num_train_steps='10' is not of type int"),
        ({"train": {"num_train_steps": True}}, r"num_train_steps=True is not of type int"),
        ({"train": []}, r"config pretrain\.train: expected a mapping, got list"),
    ],
)
def test_pretrain_section_errors_name_the_key(section, pattern):
    with pytest.raises(KrelectraError, match=pattern):
        PretrainConfig.from_dict(section)


def test_model_config_rejects_unknown_and_missing_keys_naming_them():
    good = build_model_config(PretrainConfig.from_dict({"model": {"hidden_size": 64}}), vocab_size=100).to_dict()
    assert ModelConfig.from_dict(good) == ModelConfig(**good)
    with pytest.raises(KrelectraError, match=r"model_config\.json: unknown key\(s\) hidden_sise"):
        ModelConfig.from_dict({**good, "hidden_sise": 64}, source="model_config.json")
    del good["vocab_size"]
    with pytest.raises(KrelectraError, match=r"missing key\(s\) vocab_size"):
        ModelConfig.from_dict(good)
    with pytest.raises(KrelectraError, match=r"unknown key\(s\) dropout"):
        ModelConfig.from_recipe(100, 32, 64, 2, 0.5, dropout=0.0)


def test_smaller_configs_take_their_fields_from_the_train_section():
    config = PretrainConfig.from_dict(
        {"examples": {"max_seq_length": 128}, "train": {"learning_rate": 5e-4, "adam_epsilon": 1e-8, "disc_weight": 40}}
    )
    optimizer = optimizer_config(config)
    assert optimizer == OptimizerConfig(
        learning_rate=5e-4,
        num_train_steps=TrainConfig.num_train_steps,
        num_warmup_steps=TrainConfig.num_warmup_steps,
        adam_epsilon=1e-8,
    )
    objective = build_objective(config, IDS)
    # 19 at max_seq_length 128: the ELECTRA recipe's int((0.15 + 0.005) * 128)
    assert objective == Objective(
        mask_prob=0.15,
        max_predictions_per_seq=19,
        gen_weight=1.0,
        disc_weight=40.0,
        temperature=1.0,
        mask_token_id=4,
        never_masked_ids=(2, 3, 4, 0),
    )
    assert isinstance(objective.disc_weight, float)
