"""ELECTRA pretraining in TensorFlow 2: pretraining examples (TFRecords), the generator and
discriminator, the replaced-token-detection objective, AdamW, distribution strategies and
checkpoints in the original TF1 name-based format (ELECTRA recipe, google-research/electra)."""

# The folder of a run's work folder that holds the final TF1 checkpoint, model_config.json
# and pretrain_config.json (written by train.py; workflow/rules/pretrain.smk declares it).
FINAL_DIR = "final"
