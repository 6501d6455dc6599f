"""TF pretraining model -> TF1 checkpoint -> `krelectra convert` -> Hugging Face models that
compute the same logits. The TF models get random weights of realistic scale (logits of
order 1-10, not the near-zero outputs of a fresh init), so a misplaced or untransposed
weight cannot hide under the tolerance."""

from __future__ import annotations

import json

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
torch = pytest.importorskip("torch")

from builders import CASED, TINY, VOCAB, write_vocab_dir  # noqa: E402

from krelectra.cli import main  # noqa: E402
from krelectra.convert.hf_config import read_model_config  # noqa: E402
from krelectra.pretrain.checkpoint import save_tf1  # noqa: E402
from krelectra.pretrain.model import ElectraPretrainingModel, ModelConfig  # noqa: E402
from krelectra.pretrain.optimization import AdamWeightDecay, OptimizerConfig  # noqa: E402

TOLERANCE = 1e-4  # absolute, on logits of order 1-10


def pretrained_checkpoint(tmp_path, sizes: dict, seed: int = 0, step: int = 321):
    """A TF model with random weights of trained-model scale, saved with Adam slots."""
    config = ModelConfig(**sizes)
    model = ElectraPretrainingModel(config, seed=seed)
    rng = np.random.default_rng(seed)
    for name, variable in model.named_variables.items():
        shape = variable.shape.as_list()
        if name.endswith("/gamma"):
            value = 1.0 + rng.normal(0.0, 0.2, shape)
        elif name.endswith("/kernel"):
            value = rng.normal(0.0, 1.0 / np.sqrt(shape[0]), shape)
        else:  # embedding tables, biases, LayerNorm beta, output_bias
            value = rng.normal(0.0, 0.5, shape)
        variable.assign(value.astype(np.float32))
    optimizer = AdamWeightDecay(model.named_variables, OptimizerConfig(1e-3, 10, 1))
    for slot in optimizer.named_slots.values():
        slot.assign(rng.normal(0.0, 1e-3, slot.shape.as_list()).astype(np.float32))
    prefix = tmp_path / "pretrain" / "model.ckpt"
    save_tf1(model, optimizer, prefix, global_step=step)
    config_path = tmp_path / "pretrain" / "model_config.json"
    config_path.write_text(json.dumps(config.to_dict()))
    return prefix, config_path


def run_convert(tmp_path, prefix, config_path, *extra) -> int:
    return main(
        [
            "convert",
            "--checkpoint",
            str(prefix),
            "--model-config",
            str(config_path),
            "--vocab-dir",
            str(write_vocab_dir(tmp_path / "vocab", CASED)),
            "--output-dir",
            str(tmp_path / "models"),
            *extra,
        ]
    )  # default --tolerance 1e-5


@pytest.mark.parametrize(
    "sizes",
    [
        TINY,  # the base recipe's shape: generator hidden (8) < shared embedding (16) = discriminator hidden
        {
            **TINY,
            "embedding_size": 8,
            "generator_hidden_size": 12,
            "generator_num_attention_heads": 3,
            "generator_num_hidden_layers": 1,
        },  # ELECTRA-Small's shape: both models project the embeddings
    ],
    ids=["base-shape", "small-shape"],
)
def test_converted_models_compute_the_tf_logits(tmp_path, sizes):
    prefix, config_path = pretrained_checkpoint(tmp_path, sizes)
    assert run_convert(tmp_path, prefix, config_path) == 0

    report = json.loads((tmp_path / "models" / "verification.json").read_text())
    assert report["passed"] and report["global_step"] == 321
    for name in ("discriminator_logits", "generator_logits"):
        comparison = report["comparisons"][name]
        assert comparison["max_abs_diff"] < TOLERANCE
        assert comparison["max_abs_value"] > 0.5  # outputs of a realistic scale were compared
    assert report["comparisons"]["generator_logits"]["shape"] == [4, 64, len(VOCAB)]
    variables = report["variables"]
    assert variables["non_weights"] == 2 * variables["placed"] + 1  # adam_m, adam_v, global_step
    assert variables["checkpoint"] == variables["placed"] + variables["non_weights"]


def test_converted_logits_match_on_a_batch_of_our_own(tmp_path):
    """Independently of the converter's own check: TF and PyTorch on a new batch."""
    from transformers import AutoModel, AutoTokenizer, ElectraForMaskedLM, ElectraForPreTraining

    prefix, config_path = pretrained_checkpoint(tmp_path, TINY, seed=5)
    assert run_convert(tmp_path, prefix, config_path) == 0
    models = tmp_path / "models"
    tokenizer = AutoTokenizer.from_pretrained(models / "discriminator")
    batch = tokenizer(
        ["한국어 형태소 분석기 좋아요", "영화 재미있어요 !"],
        ["나는 학생", "ELECTRA"],
        padding="max_length",
        max_length=16,
        return_tensors="np",
    )
    ids, mask, segments = (batch[k].astype(np.int32) for k in ("input_ids", "attention_mask", "token_type_ids"))
    assert (ids == VOCAB.index("[UNK]")).sum() == 0  # Hangul survives the saved tokenizer

    tf_model = ElectraPretrainingModel(ModelConfig.from_json_file(config_path))
    from krelectra.pretrain.checkpoint import restore_tf1

    restore_tf1(tf_model, prefix)
    inputs = {
        "input_ids": torch.from_numpy(ids).long(),
        "attention_mask": torch.from_numpy(mask).long(),
        "token_type_ids": torch.from_numpy(segments).long(),
    }
    with torch.no_grad():
        disc = ElectraForPreTraining.from_pretrained(models / "discriminator").eval()(**inputs).logits.numpy()
        gen = ElectraForMaskedLM.from_pretrained(models / "generator").eval()(**inputs).logits.numpy()
        hidden = AutoModel.from_pretrained(models / "discriminator").eval()(**inputs).last_hidden_state.numpy()
    np.testing.assert_allclose(disc, tf_model.discriminator_logits(ids, mask, segments).numpy(), atol=TOLERANCE)
    np.testing.assert_allclose(gen, tf_model.generator_logits(ids, mask, segments).numpy(), atol=TOLERANCE)
    np.testing.assert_allclose(hidden, tf_model.discriminator_hidden(ids, mask, segments).numpy(), atol=TOLERANCE)


def test_model_card_records_the_run(tmp_path):
    prefix, config_path = pretrained_checkpoint(tmp_path, TINY)
    pretrain_config = tmp_path / "pretrain_config.json"
    pretrain_config.write_text(
        json.dumps({"train_batch_size": 8, "learning_rate": 0.0005, "examples": {"max_seq_length": 64}})
    )
    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text(
        json.dumps({"step": 100, "split": "eval", "disc_auc": 0.61})
        + "\n"
        + json.dumps({"step": 321, "split": "eval", "disc_auc": 0.75})
        + "\n"
        + json.dumps({"step": 321, "split": "train", "disc_auc": 0.99})
        + "\n"
    )
    corpus_stats = tmp_path / "stats.json"
    corpus_stats.write_text(
        json.dumps(
            {
                "documents": 12,
                "sentences": 340,
                "characters": 15678,
                "bytes": 40001,
                "spoken_ratio_achieved": 0.3,
                "registers": {
                    "spoken": {"documents": 9, "sentences": 40, "characters": 4700, "bytes": 12000},
                    "written": {"documents": 3, "sentences": 300, "characters": 10978, "bytes": 28001},
                },
                "sources": {
                    "kolaw": {
                        "register": "written",
                        "bytes": 50000,
                        "documents": 3,
                        "invalid_utf8_sequences_replaced": 0,
                    }
                },
            }
        )
    )
    assert (
        run_convert(
            tmp_path,
            prefix,
            config_path,
            "--pretrain-config",
            str(pretrain_config),
            "--metrics",
            str(metrics),
            "--corpus-stats",
            str(corpus_stats),
            "--model-name",
            "Tiny KR-ELECTRA",
        )
        == 0
    )
    for model in ("discriminator", "generator"):
        card = (tmp_path / "models" / model / "README.md").read_text(encoding="utf-8")
        assert card.startswith("---\nlanguage: ko") and f"# Tiny KR-ELECTRA: {model}" in card
        assert "Trained for 321 steps." in card and "| learning_rate | 0.0005 |" in card
        assert "| examples.max_seq_length | 64 |" in card
        assert "| disc_auc | 0.75 |" in card and "0.61" not in card and "0.99" not in card  # last eval
        assert "12 documents, 340 sentences, 15,678 characters" in card
        assert "| spoken | 9 | 40 | 4,700 |" in card and "| kolaw | written | 3 | 50,000 |" in card
        assert "@misc{kr-electra" in card


def test_model_config_of_the_pretraining_stage_is_read_unchanged(tmp_path):
    """Guards the converter's reading of model_config.json against drift from ModelConfig."""
    config = ModelConfig.from_recipe(
        vocab_size=30000, embedding_size=768, hidden_size=768, num_hidden_layers=12, generator_hidden_size=1 / 3
    )
    path = tmp_path / "model_config.json"
    path.write_text(json.dumps(config.to_dict()))
    assert read_model_config(path) == config.to_dict()
    assert read_model_config(path)["generator_hidden_size"] == 256


def test_cli_error_names_the_missing_variable(tmp_path, capsys):
    prefix, config_path = pretrained_checkpoint(tmp_path, TINY)
    deeper = {**json.loads(config_path.read_text()), "generator_num_hidden_layers": 3}
    config_path.write_text(json.dumps(deeper))
    assert run_convert(tmp_path, prefix, config_path) == 1
    error = capsys.readouterr().err
    assert "missing generator/encoder/layer_2/attention/self/query/kernel" in error
    assert not (tmp_path / "models" / "discriminator").exists()


def test_tanh_gelu_converts_the_discriminator_exactly_but_not_the_generator(tmp_path, capsys):
    """ElectraForMaskedLM's generator head applies exact GELU whatever hidden_act says."""
    prefix, config_path = pretrained_checkpoint(tmp_path, {**TINY, "hidden_act": "gelu_new"})
    assert run_convert(tmp_path, prefix, config_path) == 1
    error = capsys.readouterr().err
    assert "generator head always applies exact GELU" in error
    disc = float(error.split("discriminator_logits ")[1].split(",")[0])
    gen = float(error.split("generator_logits ")[1].split(";")[0])
    assert disc < TOLERANCE < gen
    assert not (tmp_path / "models" / "verification.json").exists()
