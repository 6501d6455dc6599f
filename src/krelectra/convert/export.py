"""Write the Hugging Face discriminator and generator directories from a TF1 checkpoint.

Order of work, so that a failure leaves nothing behind: check the config, the vocabulary
and the checkpoint's variable names and shapes (nothing read yet); fill both models
strictly; save them into a temporary folder beside the output; verify the saved folders
against the TF model; write the model cards; only then move both folders into place and
write verification.json.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from krelectra.convert.hf_config import electra_configs, read_model_config
from krelectra.convert.mapping import DISCRIMINATOR, GENERATOR, MODELS, plan_conversion
from krelectra.errors import KrelectraError
from krelectra.io import atomic_open, write_json
from krelectra.vocab.tokenizer import SPECIAL_TOKENS, SPECIAL_TOKENS_MAP, TOKENIZER_CONFIG, tokenizer_json_for

log = logging.getLogger(__name__)

HF_CLASSES = {DISCRIMINATOR: "ElectraForPreTraining", GENERATOR: "ElectraForMaskedLM"}


@dataclass
class ConversionInputs:
    """What the model cards say about the run beyond the checkpoint itself (all optional)."""

    model_name: str = "KR-ELECTRA reproduction"
    pretrain_config: Path | None = None
    metrics: Path | None = None
    corpus_stats: Path | None = None


def resolve_checkpoint(checkpoint: str | Path) -> str:
    """A checkpoint prefix (`.../model.ckpt`), or a folder whose `checkpoint` file names the latest."""
    import tensorflow as tf

    path = Path(checkpoint)
    if path.is_dir():
        latest = tf.train.latest_checkpoint(str(path))
        if latest is None:
            raise KrelectraError(f"{path}: folder has no TF checkpoint (no 'checkpoint' file naming one)")
        return latest
    if not Path(f"{path}.index").exists():
        raise KrelectraError(f"{path}: no TF1 checkpoint with this prefix ({path}.index not found)")
    return str(path)


def read_vocab(vocab_dir: Path) -> list[str]:
    path = Path(vocab_dir) / "vocab.txt"
    try:
        tokens = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise KrelectraError(f"{path}: vocabulary not found") from None
    for token in SPECIAL_TOKENS:
        if token not in tokens:
            raise KrelectraError(f"{path}: special token {token} is not in the vocabulary")
    return tokens


def convert(
    checkpoint: str | Path,
    model_config_path: Path,
    vocab_dir: Path,
    output_dir: Path,
    *,
    inputs: ConversionInputs | None = None,
    tolerance: float = 1e-5,
    batch_size: int = 4,
    seq_length: int = 64,
    seed: int = 0,
    verify: bool = True,
) -> dict:
    """Convert, verify, and write `{output_dir}/discriminator`, `/generator`, `/verification.json`.

    Returns the verification report. `verify=False` (Python API only, for tests of the
    mapping before a TF model exists) skips the comparison with the TF model.
    """
    inputs = inputs or ConversionInputs()
    output_dir = Path(output_dir)
    prefix = resolve_checkpoint(checkpoint)
    model_config = read_model_config(model_config_path)
    vocab = read_vocab(vocab_dir)
    if len(vocab) != model_config["vocab_size"]:
        raise KrelectraError(
            f"{Path(vocab_dir) / 'vocab.txt'}: {len(vocab)} tokens, but {model_config_path} "
            f"gives vocab_size {model_config['vocab_size']}"
        )
    configs = dict(zip(MODELS, electra_configs(model_config, pad_token_id=vocab.index("[PAD]"))))
    card_context = {  # read first, so that a bad file fails before the slow work
        "model_name": inputs.model_name,
        "model_config": model_config,
        "vocab_size": len(vocab),
        "pretrain_config": _read_optional_json(inputs.pretrain_config),
        "metrics": _read_metrics(inputs.metrics),
        "corpus_stats": _read_optional_json(inputs.corpus_stats),
    }

    models, global_step, counts = _filled_models(prefix, configs)
    output_dir.mkdir(parents=True, exist_ok=True)
    for leftover in output_dir.glob(".convert-*"):  # from a killed run
        shutil.rmtree(leftover, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=".convert-", dir=output_dir))
    try:
        for name, model in models.items():
            model.save_pretrained(staging / name)  # safetensors, the default of transformers 5
            _write_tokenizer_files(Path(vocab_dir), staging / name, model_config)
        report = {"checkpoint": prefix, "global_step": global_step, "variables": counts}
        if verify:
            from krelectra.convert.verify import verify_saved_models

            report.update(
                verify_saved_models(
                    prefix,
                    model_config_path,
                    staging / DISCRIMINATOR,
                    staging / GENERATOR,
                    vocab,
                    tolerance=tolerance,
                    batch_size=batch_size,
                    seq_length=seq_length,
                    seed=seed,
                )
            )
        _write_cards(staging, {**card_context, "report": report})
        (output_dir / "verification.json").unlink(missing_ok=True)  # never beside other models
        for name in MODELS:
            _make_readable(staging / name)
            target = output_dir / name
            if target.exists():
                shutil.rmtree(target)
            os.replace(staging / name, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    write_json(output_dir / "verification.json", report)
    _make_readable(output_dir / "verification.json")
    return report


def _make_readable(path: Path) -> None:
    """Give files the usual permissions: temporary files (atomic writes, and transformers'
    own safetensors writer) are created owner-only, but model folders are meant to be shared."""
    umask = os.umask(0)
    os.umask(umask)
    for file in [path] if path.is_file() else path.iterdir():
        os.chmod(file, 0o666 & ~umask)


def _filled_models(prefix: str, configs: dict):
    """Both models with every weight from the checkpoint, after the coverage check."""
    import torch
    from transformers import ElectraForMaskedLM, ElectraForPreTraining

    from krelectra.pretrain.checkpoint import open_checkpoint

    classes = {DISCRIMINATOR: ElectraForPreTraining, GENERATOR: ElectraForMaskedLM}
    reader = open_checkpoint(prefix)
    shapes = {name: tuple(shape) for name, shape in reader.get_variable_to_shape_map().items()}
    with torch.device("meta"):  # shapes only: the plan is checked before anything is read
        expected = {
            name: {k: tuple(v.shape) for k, v in classes[name](configs[name]).state_dict().items()} for name in MODELS
        }
    plan = plan_conversion(prefix, shapes, expected)

    models = {}
    for name in MODELS:
        model = classes[name](configs[name])
        state = {}
        for place in plan[name]:
            value = np.asarray(reader.get_tensor(place.tf_name), dtype=np.float32)
            state[place.hf_key] = torch.from_numpy(np.ascontiguousarray(value.T if place.transpose else value))
        model.load_state_dict(state, strict=True)  # plan covers every key; strict re-checks it
        models[name] = model.eval()
        log.info("%s: %d weights from %s", HF_CLASSES[name], len(state), prefix)
    used = {place.tf_name for places in plan.values() for place in places}
    counts = {
        "checkpoint": len(shapes),
        "placed": len(used),
        "non_weights": len(shapes) - len(used),
        **{f"{name}_weights": len(plan[name]) for name in MODELS},
    }
    global_step = int(reader.get_tensor("global_step")) if "global_step" in shapes else None
    return models, global_step, counts


def _write_tokenizer_files(vocab_dir: Path, model_dir: Path, model_config: dict) -> None:
    """The vocabulary folder's tokenizer files, so that the model folder tokenizes as the
    pretraining did. A folder with only vocab.txt (as google-research checkpoints ship
    it) gets the project's tokenizer.json built over it and the default settings; its own
    tokenizer_config.json keys are kept, with the class that makes AutoTokenizer load
    tokenizer.json (krelectra/vocab/tokenizer.py)."""
    shutil.copyfile(vocab_dir / "vocab.txt", model_dir / "vocab.txt")
    with atomic_open(model_dir / "tokenizer.json") as handle:
        handle.write(tokenizer_json_for(vocab_dir))
    settings = {**TOKENIZER_CONFIG, "model_max_length": model_config["max_position_embeddings"]}
    if (vocab_dir / "tokenizer_config.json").exists():
        own = _read_optional_json(vocab_dir / "tokenizer_config.json")
        if not isinstance(own, dict):
            raise KrelectraError(f"{vocab_dir / 'tokenizer_config.json'}: expected a JSON object")
        # Its own settings as they are (a missing do_lower_case means BertTokenizer's
        # default, lower-casing, which the verification then refuses), read through
        # tokenizer.json by AutoTokenizer.
        settings = {
            **own,
            "tokenizer_class": TOKENIZER_CONFIG["tokenizer_class"],
            "model_input_names": TOKENIZER_CONFIG["model_input_names"],
        }
        settings.setdefault("model_max_length", model_config["max_position_embeddings"])
    write_json(model_dir / "tokenizer_config.json", settings)
    if (vocab_dir / "special_tokens_map.json").exists():
        shutil.copyfile(vocab_dir / "special_tokens_map.json", model_dir / "special_tokens_map.json")
    else:
        write_json(model_dir / "special_tokens_map.json", SPECIAL_TOKENS_MAP)


def _write_cards(staging: Path, context: dict) -> None:
    from krelectra.convert.model_card import render_model_card

    for name in MODELS:
        with atomic_open(staging / name / "README.md") as handle:
            handle.write(render_model_card(name, context))


def _read_optional_json(path: Path | None):
    if path is None:
        return None
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KrelectraError(f"{path}: not found") from None
    except json.JSONDecodeError as error:
        raise KrelectraError(f"{path}:{error.lineno}: not valid JSON: {error.msg}") from None


def _read_metrics(path: Path | None) -> list[dict] | None:
    """All records of metrics.jsonl (one JSON object a line)."""
    if path is None:
        return None
    records = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise KrelectraError(f"{path}: not found") from None
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise KrelectraError(f"{path}:{number}: not valid JSON: {error.msg}") from None
    return records
