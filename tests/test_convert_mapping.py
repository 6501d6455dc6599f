"""Checkpoint -> Hugging Face weights: every weight filled, every variable placed, every
problem named. The checkpoints here are written variable by variable with the names of
the ELECTRA recipe (listed in tests/builders.py independently of the converter), so these tests need no
TF model; test_convert_roundtrip.py covers the logits through the real TF model."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
torch = pytest.importorskip("torch")
from builders import CASED, TINY, VOCAB, recipe_variables, write_checkpoint, write_vocab_dir  # noqa: E402
from safetensors.numpy import load_file  # noqa: E402

from krelectra.convert.export import convert  # noqa: E402
from krelectra.convert.hf_config import read_model_config  # noqa: E402
from krelectra.errors import KrelectraError  # noqa: E402


@pytest.fixture
def setup(tmp_path):
    """A model config, a cased vocabulary folder and an output folder."""
    config_path = tmp_path / "model_config.json"
    config_path.write_text(json.dumps(TINY))
    return {
        "config": config_path,
        "vocab": write_vocab_dir(tmp_path / "vocab", CASED),
        "out": tmp_path / "models",
        "prefix": tmp_path / "ckpt" / "model.ckpt",
    }


def test_every_weight_comes_from_its_checkpoint_variable(setup):
    """Base-recipe shape: all weights equal the (transposed) variables; all variables placed."""
    shapes = recipe_variables(TINY)
    values = write_checkpoint(setup["prefix"], shapes)
    report = convert(setup["prefix"], setup["config"], setup["vocab"], setup["out"], verify=False)

    disc = load_file(setup["out"] / "discriminator" / "model.safetensors")
    gen = load_file(setup["out"] / "generator" / "model.safetensors")
    np.testing.assert_array_equal(
        disc["electra.encoder.layer.1.attention.self.query.weight"],
        values["electra/encoder/layer_1/attention/self/query/kernel"].T,
    )
    np.testing.assert_array_equal(
        disc["electra.embeddings.LayerNorm.weight"], values["electra/embeddings/LayerNorm/gamma"]
    )
    np.testing.assert_array_equal(
        disc["discriminator_predictions.dense_prediction.weight"], values["discriminator_predictions/dense_1/kernel"].T
    )
    np.testing.assert_array_equal(
        gen["electra.embeddings.word_embeddings.weight"], values["electra/embeddings/word_embeddings"]
    )
    np.testing.assert_array_equal(
        gen["electra.embeddings_project.weight"], values["generator/embeddings_project/kernel"].T
    )
    np.testing.assert_array_equal(
        gen["electra.encoder.layer.0.output.dense.weight"], values["generator/encoder/layer_0/output/dense/kernel"].T
    )
    np.testing.assert_array_equal(gen["generator_lm_head.bias"], values["generator_predictions/output_bias"])
    assert "electra.embeddings_project.weight" not in disc  # embedding == hidden in the discriminator

    # Every checkpoint weight value appears in a saved tensor (coverage, both ways).
    saved = [np.asarray(t) for t in (*disc.values(), *gen.values())]
    for name, value in values.items():
        assert any(
            s.shape in (value.shape, value.T.shape) and (np.array_equal(s, value) or np.array_equal(s, value.T))
            for s in saved
        ), name
    assert report["global_step"] == 1234
    assert report["variables"]["placed"] == len(values)
    assert report["variables"]["non_weights"] == 2 * len(values) + 1  # adam_m, adam_v, global_step


def test_generator_output_matrix_is_the_shared_word_embedding(setup):
    from transformers import ElectraForMaskedLM

    values = write_checkpoint(setup["prefix"], recipe_variables(TINY))
    convert(setup["prefix"], setup["config"], setup["vocab"], setup["out"], verify=False)
    model = ElectraForMaskedLM.from_pretrained(setup["out"] / "generator")
    np.testing.assert_array_equal(
        model.generator_lm_head.weight.detach().numpy(), values["electra/embeddings/word_embeddings"]
    )
    assert model.config.hidden_size == 8 and model.config.embedding_size == 16
    assert model.config.num_attention_heads == 2 and model.config.intermediate_size == 16


def test_untied_generator_embeddings_fill_the_generator(setup):
    values = write_checkpoint(setup["prefix"], recipe_variables(TINY, untied_generator_embeddings=True))
    convert(setup["prefix"], setup["config"], setup["vocab"], setup["out"], verify=False)
    gen = load_file(setup["out"] / "generator" / "model.safetensors")
    disc = load_file(setup["out"] / "discriminator" / "model.safetensors")
    np.testing.assert_array_equal(
        gen["electra.embeddings.word_embeddings.weight"], values["generator/embeddings/word_embeddings"]
    )
    np.testing.assert_array_equal(
        disc["electra.embeddings.word_embeddings.weight"], values["electra/embeddings/word_embeddings"]
    )


def test_discriminator_with_embedding_projection(setup, tmp_path):
    """ELECTRA-Small's shape: discriminator embedding smaller than its hidden size."""
    cfg = {**TINY, "embedding_size": 8}
    setup["config"].write_text(json.dumps(cfg))
    values = write_checkpoint(setup["prefix"], recipe_variables(cfg))
    convert(setup["prefix"], setup["config"], setup["vocab"], setup["out"], verify=False)
    disc = load_file(setup["out"] / "discriminator" / "model.safetensors")
    np.testing.assert_array_equal(
        disc["electra.embeddings_project.weight"], values["electra/embeddings_project/kernel"].T
    )


def _error(setup) -> str:
    with pytest.raises(KrelectraError) as caught:
        convert(setup["prefix"], setup["config"], setup["vocab"], setup["out"], verify=False)
    assert not (setup["out"] / "discriminator").exists() and not (setup["out"] / "generator").exists()
    return str(caught.value)


def test_missing_variable_is_named(setup):
    shapes = recipe_variables(TINY)
    del shapes["generator/encoder/layer_1/intermediate/dense/bias"]
    write_checkpoint(setup["prefix"], shapes)
    message = _error(setup)
    assert "missing generator/encoder/layer_1/intermediate/dense/bias" in message
    assert "electra.encoder.layer.1.intermediate.dense.bias" in message


def test_unknown_variable_is_named(setup):
    shapes = {**recipe_variables(TINY), "electra/pooler/dense/kernel": (16, 16)}
    write_checkpoint(setup["prefix"], shapes)
    message = _error(setup)
    assert "unknown electra/pooler/dense/kernel" in message
    # Its Adam slots belong to a variable of the checkpoint, so they are not reported.
    assert "kernel/adam" not in message


def test_extra_layer_is_named(setup):
    """A checkpoint deeper than the config: the extra layer's variables are all listed."""
    deeper = recipe_variables({**TINY, "num_hidden_layers": 3})
    write_checkpoint(setup["prefix"], deeper)
    message = _error(setup)
    assert "unknown electra/encoder/layer_2/output/dense/kernel" in message
    assert len(re.findall(r"unknown electra/encoder/layer_2/", message)) == 16
    assert "num_hidden_layers" in message


def test_optimizer_slot_of_no_variable_is_an_error(setup):
    write_checkpoint(setup["prefix"], recipe_variables(TINY))
    reader = tf.train.load_checkpoint(str(setup["prefix"]))
    tensors = {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}
    tensors["electra/encoder/layer_9/output/dense/kernel/adam_m"] = np.zeros((2, 2), np.float32)
    names = sorted(tensors)
    tf.raw_ops.SaveV2(
        prefix=str(setup["prefix"]),
        tensor_names=names,
        shape_and_slices=[""] * len(names),
        tensors=[tf.constant(tensors[n]) for n in names],
    )
    assert "unknown electra/encoder/layer_9/output/dense/kernel/adam_m" in _error(setup)


def test_shape_that_disagrees_with_the_config_is_named(setup):
    shapes = recipe_variables(TINY)
    shapes["electra/encoder/layer_0/intermediate/dense/kernel"] = (16, 48)
    write_checkpoint(setup["prefix"], shapes)
    message = _error(setup)
    assert (
        "electra/encoder/layer_0/intermediate/dense/kernel: checkpoint shape [16, 48], the model config gives [16, 32]"
    ) in message


def test_generator_size_that_disagrees_with_the_config_is_named(setup):
    """Every generator variable of a wider generator is reported, none silently converted."""
    write_checkpoint(
        setup["prefix"], recipe_variables({**TINY, "generator_hidden_size": 12, "generator_num_attention_heads": 3})
    )
    message = _error(setup)
    assert "generator/embeddings_project/kernel: checkpoint shape [16, 12], the model config gives [16, 8]" in message
    assert "generator_predictions/dense/kernel: checkpoint shape [12, 16]" in message


def test_model_config_problems_name_the_key(setup):
    bad = dict(TINY)
    del bad["generator_intermediate_size"]
    setup["config"].write_text(json.dumps({**bad, "generator_hiden_size": 8}))
    with pytest.raises(KrelectraError, match=r"unknown key.*generator_hiden_size"):
        read_model_config(setup["config"])
    setup["config"].write_text(json.dumps(bad))
    with pytest.raises(KrelectraError, match=r"missing key.*generator_intermediate_size"):
        read_model_config(setup["config"])
    setup["config"].write_text(json.dumps({**TINY, "num_attention_heads": 3}))
    with pytest.raises(KrelectraError, match="hidden_size \\(16\\) is not a multiple of num_attention_heads"):
        read_model_config(setup["config"])


def test_vocabulary_that_disagrees_with_vocab_size_is_an_error(setup):
    write_checkpoint(setup["prefix"], recipe_variables(TINY))
    write_vocab_dir(setup["vocab"], CASED, vocab=VOCAB[:-1])
    with pytest.raises(KrelectraError, match=f"{len(VOCAB) - 1} tokens, but .* gives vocab_size {len(VOCAB)}"):
        convert(setup["prefix"], setup["config"], setup["vocab"], setup["out"], verify=False)


def test_missing_checkpoint_is_named(setup):
    with pytest.raises(KrelectraError, match=r"model.ckpt.index not found"):
        convert(setup["prefix"], setup["config"], setup["vocab"], setup["out"], verify=False)


def test_bare_vocab_txt_gets_a_cased_tokenizer(setup, tmp_path):
    """A google-research vocabulary folder has only vocab.txt; Hangul must survive tokenization."""
    from transformers import AutoTokenizer, ElectraTokenizer

    bare = write_vocab_dir(tmp_path / "bare", tokenizer_config=None)
    write_checkpoint(setup["prefix"], recipe_variables(TINY))
    convert(setup["prefix"], setup["config"], bare, setup["out"], verify=False)
    for cls in (ElectraTokenizer, AutoTokenizer):
        tokenizer = cls.from_pretrained(setup["out"] / "discriminator")
        assert tokenizer.tokenize("한국어 나는 ELECTRA") == ["한국", "##어", "나", "##는", "ELECTRA"]


def test_lowercasing_tokenizer_config_is_refused(setup, tmp_path):
    from krelectra.convert.verify import check_user_loading

    write_checkpoint(setup["prefix"], recipe_variables(TINY))
    lowercasing = write_vocab_dir(tmp_path / "lower", {"tokenizer_class": "ElectraTokenizer"})  # do_lower_case default
    convert(setup["prefix"], setup["config"], lowercasing, setup["out"], verify=False)
    with pytest.raises(KrelectraError, match="lower-cases or strips accents"):
        check_user_loading(setup["out"] / "discriminator", VOCAB)


def test_saved_discriminator_loads_as_users_load_it(setup):
    from krelectra.convert.verify import check_user_loading

    write_checkpoint(setup["prefix"], recipe_variables(TINY))
    convert(setup["prefix"], setup["config"], setup["vocab"], setup["out"], verify=False)
    assert check_user_loading(setup["out"] / "discriminator", VOCAB) == [
        "ElectraModel.from_pretrained",
        "AutoModel.from_pretrained",
        "ElectraTokenizer.from_pretrained",
        "AutoTokenizer.from_pretrained",
    ]
    card = (setup["out"] / "discriminator" / "README.md").read_text(encoding="utf-8")
    assert "Trained for 1,234 steps." in card and f"{len(VOCAB)} tokens" in card


def test_conversion_writes_exactly_the_files_the_workflow_declares(setup):
    from krelectra.convert.layout import LOADED_FILES, MODEL_FILES, VERIFICATION

    write_checkpoint(setup["prefix"], recipe_variables(TINY))
    convert(setup["prefix"], setup["config"], setup["vocab"], setup["out"], verify=False)
    assert {p.name for p in setup["out"].iterdir()} == {"discriminator", "generator", VERIFICATION}
    for model in ("discriminator", "generator"):
        assert {p.name for p in (setup["out"] / model).iterdir()} == set(MODEL_FILES), model
    # what a user's from_pretrained reads, and finetuning depends on
    assert {"model.safetensors", "config.json", "vocab.txt", "tokenizer_config.json"} <= set(LOADED_FILES)
    assert "README.md" not in LOADED_FILES


def test_shared_embedding_shape_is_reported_once(setup):
    shapes = recipe_variables(TINY)
    shapes["electra/embeddings/word_embeddings"] = (len(VOCAB) + 1, 16)
    write_checkpoint(setup["prefix"], shapes)
    message = _error(setup)
    assert message.count("electra/embeddings/word_embeddings: checkpoint shape") == 1
    assert f"checkpoint shape [{len(VOCAB) + 1}, 16], the model config gives [{len(VOCAB)}, 16]" in message
