"""ELECTRA pretraining in TensorFlow 2: pretraining examples (TFRecords), the generator and
discriminator, the replaced-token-detection objective, AdamW, distribution strategies and
checkpoints in the original TF1 name-based format (ELECTRA recipe, google-research/electra)."""
