"""TF1 name-based ELECTRA checkpoint -> Hugging Face discriminator and generator, verified equal.

- `mapping`: checkpoint variable names -> Hugging Face state-dict keys, with the coverage
  check that refuses to lose or invent a weight;
- `hf_config`: the pretraining model config -> `ElectraConfig` for each model;
- `export`: write both model directories (safetensors, config, tokenizer files, card);
- `verify`: load the saved directories again and compare their logits with the TF model's;
- `model_card`: the README.md of each directory.
"""
