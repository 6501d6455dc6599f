"""What conversion writes into its output folder: one folder per model (`DISCRIMINATOR`,
`GENERATOR`, from `mapping`) holding `MODEL_FILES`, and `verification.json` beside them.
The workflow declares its outputs and the finetuning inputs from these names
(workflow/rules/convert.smk, finetune.smk); tests/test_convert_mapping.py checks that a
conversion writes exactly these files."""

from __future__ import annotations

from krelectra.vocab.tokenizer import TOKENIZER_FILES

# `save_pretrained` writes the weights and config (safetensors is transformers 5's default);
# export.py adds the tokenizer files and the model card.
MODEL_FILES = ("model.safetensors", "config.json", "README.md", *TOKENIZER_FILES)
# What loading a model folder reads (`from_pretrained` of the model and its tokenizer).
LOADED_FILES = tuple(name for name in MODEL_FILES if name != "README.md")
VERIFICATION = "verification.json"
