"""Prove the saved Hugging Face models compute what the TF model computes.

The saved folders are loaded back the way users load them (`from_pretrained`, the Auto
classes, the tokenizer), a fixed batch runs through both the TF pretraining model restored
from the checkpoint and the PyTorch models, and the largest absolute difference of the
discriminator logits [B, T] and generator logits [B, T, V] must stay within
tolerance x max(1, largest |logit|).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from krelectra.errors import KrelectraError

log = logging.getLogger(__name__)

# Hangul syllables and upper-case Latin: a tokenizer that lower-cases or strips accents
# changes this string (accent stripping decomposes Hangul into jamo).
NORMALIZER_PROBE = "한국어 형태소 ELECTRA"


def fixed_batch(
    vocab: list[str], type_vocab_size: int, batch_size: int, seq_length: int, seed: int
) -> dict[str, np.ndarray]:
    """`[CLS] A [SEP] B [SEP]` rows of decreasing length, padded, with a few [MASK]s.

    Row i has length seq_length * (1 - i / (2 * batch_size)), so most rows carry padding
    and the padded positions are compared too.
    """
    rng = np.random.default_rng(seed)
    ids = {token: vocab.index(token) for token in ("[PAD]", "[CLS]", "[SEP]", "[MASK]")}
    ordinary = np.array([i for i in range(len(vocab)) if i not in ids.values()])
    input_ids = np.full((batch_size, seq_length), ids["[PAD]"], dtype=np.int32)
    input_mask = np.zeros_like(input_ids)
    segment_ids = np.zeros_like(input_ids)
    for row in range(batch_size):
        length = max(5, int(seq_length * (1 - row / (2 * batch_size))))
        tokens = rng.choice(ordinary, size=length)
        tokens[rng.random(length) < 0.15] = ids["[MASK]"]
        split = int(rng.integers(2, length - 2))  # [CLS] A [SEP] | B [SEP]
        tokens[0], tokens[split], tokens[length - 1] = ids["[CLS]"], ids["[SEP]"], ids["[SEP]"]
        input_ids[row, :length] = tokens
        input_mask[row, :length] = 1
        if type_vocab_size > 1:
            segment_ids[row, split + 1 : length] = 1
    return {"input_ids": input_ids, "input_mask": input_mask, "segment_ids": segment_ids}


def tf_logits(prefix: str, model_config_path: Path, batch: dict) -> tuple[np.ndarray, np.ndarray]:
    """Discriminator [B, T] and generator [B, T, V] logits of the TF pretraining model."""
    import tensorflow as tf

    from krelectra.pretrain.checkpoint import restore_tf1
    from krelectra.pretrain.model import ElectraPretrainingModel, ModelConfig

    # Full float32 on the CPU, as the PyTorch side runs: a GPU would use TensorFloat-32
    # matmuls by default (about 3 significant digits), which no tight tolerance survives.
    tf.config.experimental.enable_tensor_float_32_execution(False)
    with tf.device("/CPU:0"):
        model = ElectraPretrainingModel(ModelConfig.from_json_file(str(model_config_path)))
        restore_tf1(model, prefix)
        args = (batch["input_ids"], batch["input_mask"], batch["segment_ids"])
        return (
            np.asarray(model.discriminator_logits(*args, training=False)),
            np.asarray(model.generator_logits(*args, training=False)),
        )


def hf_logits(discriminator_dir: Path, generator_dir: Path, batch: dict) -> tuple[np.ndarray, np.ndarray]:
    """The same logits from the saved folders, loaded strictly with `from_pretrained`."""
    import torch
    from transformers import ElectraForMaskedLM, ElectraForPreTraining

    inputs = {
        "input_ids": torch.from_numpy(batch["input_ids"]).long(),
        "attention_mask": torch.from_numpy(batch["input_mask"]).long(),
        "token_type_ids": torch.from_numpy(batch["segment_ids"]).long(),
    }
    logits = []
    for cls, folder in ((ElectraForPreTraining, discriminator_dir), (ElectraForMaskedLM, generator_dir)):
        model = _load_strictly(cls, folder)
        with torch.no_grad():
            logits.append(model(**inputs).logits.numpy())
    return logits[0], logits[1]


def check_user_loading(discriminator_dir: Path, vocab: list[str]) -> list[str]:
    """Load the discriminator folder the ways its users do; return what was checked.
    AutoTokenizer must load the shipped pipeline (krelectra/vocab/tokenizer.py: the
    folder's vocabulary, NFC first, no lower-casing); ElectraTokenizer, which rebuilds a
    BERT pipeline from vocab.txt in transformers 5, must be cased and give the same ids
    on NFC text."""
    import transformers
    from transformers import AutoModel, AutoTokenizer, ElectraModel

    # A run-time alias of BertTokenizer in transformers 5, absent from its type stubs.
    ElectraTokenizer = transformers.ElectraTokenizer  # type: ignore[attr-defined]

    from krelectra.vocab.tokenizer import check_tokenizer

    checked = []
    for label, model_class in (("ElectraModel", ElectraModel), ("AutoModel", AutoModel)):
        model = _load_strictly(model_class, discriminator_dir, allow_unexpected=True)  # drops the head
        if not isinstance(model, ElectraModel):
            raise KrelectraError(f"{discriminator_dir}: {label} loaded a {type(model).__name__}")
        checked.append(f"{label}.from_pretrained")
    tokenizers: dict[str, Any] = {}
    # (In transformers 5, ElectraTokenizer is BertTokenizer under another name.)
    for label, tokenizer_class in (("ElectraTokenizer", ElectraTokenizer), ("AutoTokenizer", AutoTokenizer)):
        tokenizer = tokenizer_class.from_pretrained(str(discriminator_dir))
        normalized = tokenizer.backend_tokenizer.normalizer.normalize_str(NORMALIZER_PROBE)
        if normalized != NORMALIZER_PROBE:
            raise KrelectraError(
                f"{discriminator_dir / 'tokenizer_config.json'}: {label} lower-cases or strips accents "
                f"({NORMALIZER_PROBE!r} -> {normalized!r}); Korean words would become [UNK]. "
                "Set do_lower_case and strip_accents to false in the vocabulary's tokenizer_config.json"
            )
        if tokenizer.vocab_size != len(vocab) or tokenizer.convert_tokens_to_ids("[MASK]") != vocab.index("[MASK]"):
            raise KrelectraError(f"{discriminator_dir}: {label} does not load the vocabulary that was copied")
        tokenizers[label] = tokenizer
        checked.append(f"{label}.from_pretrained")
    check_tokenizer(tokenizers["AutoTokenizer"], discriminator_dir)
    ids = {label: t(NORMALIZER_PROBE, "둘째 문장")["input_ids"] for label, t in tokenizers.items()}
    if ids["ElectraTokenizer"] != ids["AutoTokenizer"]:
        raise KrelectraError(
            f"{discriminator_dir}: ElectraTokenizer and AutoTokenizer give different ids for "
            f"{NORMALIZER_PROBE!r} ({ids['ElectraTokenizer']} against {ids['AutoTokenizer']})"
        )
    return checked


def _load_strictly(cls, folder: Path, allow_unexpected: bool = False):
    from transformers.utils import logging as hf_logging

    # The loading report is checked here; transformers' own table of the discriminator
    # head's "UNEXPECTED" keys (expected when loading ElectraModel) would only be noise.
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        model, info = cls.from_pretrained(str(folder), output_loading_info=True)
    finally:
        hf_logging.set_verbosity(verbosity)
    problems = {key: sorted(info[key]) for key in ("missing_keys", "mismatched_keys", "error_msgs") if info[key]}
    if info["unexpected_keys"] and not allow_unexpected:
        problems["unexpected_keys"] = sorted(info["unexpected_keys"])
    if problems:
        raise KrelectraError(f"{folder}: {cls.__name__}.from_pretrained did not load every weight: {problems}")
    return model.eval()


def allowed_difference(tolerance: float, max_abs_value: float) -> float:
    """Float32 rounding grows with the size of the numbers: the tolerance is relative to the
    largest logit, and absolute for logits within +-1."""
    return tolerance * max(1.0, max_abs_value)


def verify_saved_models(
    prefix: str,
    model_config_path: Path,
    discriminator_dir: Path,
    generator_dir: Path,
    vocab: list[str],
    *,
    tolerance: float,
    batch_size: int,
    seq_length: int,
    seed: int,
) -> dict:
    """Compare TF and Hugging Face logits on a fixed batch; raise unless within `tolerance`
    (see `allowed_difference`)."""
    from krelectra.convert.hf_config import read_model_config

    model_config = read_model_config(model_config_path)
    if seq_length > model_config["max_position_embeddings"]:
        raise KrelectraError(
            f"verification seq_length {seq_length} exceeds max_position_embeddings "
            f"{model_config['max_position_embeddings']} of {model_config_path}"
        )
    batch = fixed_batch(vocab, model_config["type_vocab_size"], batch_size, seq_length, seed)
    loaded_with = check_user_loading(discriminator_dir, vocab)
    tf_disc, tf_gen = tf_logits(prefix, model_config_path, batch)
    hf_disc, hf_gen = hf_logits(discriminator_dir, generator_dir, batch)
    comparisons: dict[str, dict[str, Any]] = {}
    for name, ours, theirs in (("discriminator_logits", hf_disc, tf_disc), ("generator_logits", hf_gen, tf_gen)):
        if ours.shape != theirs.shape:
            raise KrelectraError(f"{name}: Hugging Face shape {list(ours.shape)} != TF shape {list(theirs.shape)}")
        scale = float(np.max(np.abs(theirs)))
        comparisons[name] = {
            "max_abs_diff": float(np.max(np.abs(ours.astype(np.float64) - theirs))),
            "max_abs_value": scale,
            "allowed": allowed_difference(tolerance, scale),
            "shape": list(theirs.shape),
        }
        log.info(
            "%s: max |HF - TF| = %.3g (max |TF| = %.3g, allowed %.3g)",
            name,
            comparisons[name]["max_abs_diff"],
            scale,
            comparisons[name]["allowed"],
        )
    passed = all(c["max_abs_diff"] <= c["allowed"] for c in comparisons.values())
    report = {
        "passed": passed,
        "tolerance": tolerance,
        "comparisons": comparisons,
        "batch": {
            "batch_size": batch_size,
            "seq_length": seq_length,
            "seed": seed,
            "tokens": int(batch["input_mask"].sum()),
            "padding": int((batch["input_mask"] == 0).sum()),
        },
        "loaded_with": loaded_with,
        "versions": _versions(),
    }
    if not passed:
        worst = ", ".join(f"{k} {v['max_abs_diff']:.3g}" for k, v in comparisons.items())
        allowed = ", ".join(f"{k} {v['allowed']:.3g}" for k, v in comparisons.items())
        message = (
            f"{prefix}: converted models disagree with the TF model (max abs diff: {worst}; allowed "
            f"with tolerance {tolerance:g}: {allowed}); nothing was written"
        )
        disc = comparisons["discriminator_logits"]
        if model_config["hidden_act"] == "gelu_new" and disc["max_abs_diff"] <= disc["allowed"]:
            message += (
                "\nhidden_act is gelu_new (tanh GELU), but ElectraForMaskedLM's generator head always "
                "applies exact GELU, so the generator cannot match exactly. Accept the difference with "
                "a larger --tolerance, or convert with hidden_act gelu (see docs/convert.md)."
            )
        raise KrelectraError(message)
    return report


def _versions() -> dict:
    import tensorflow as tf
    import torch
    import transformers

    return {"tensorflow": tf.__version__, "torch": torch.__version__, "transformers": transformers.__version__}
