"""The choices of a finetuning run's numerics (finetune.precision, finetune.train_sampling;
`krelectra finetune train --precision --train-sampling`). train.speed_settings resolves
"auto"; the reference ran fp32 with random batches (PyTorch RandomSampler, no autocast:
KR-ELECTRA's KoELECTRA scripts; issue 25)."""

PRECISIONS = ("auto", "fp32", "bf16")
TRAIN_SAMPLINGS = ("auto", "random", "group_by_length")
