"""Where a finetuning run evaluates: the reference's checkpoint steps.

KR-ELECTRA's finetuning scripts (KoELECTRA's run_seq_cls.py, run_ner.py, run_squad.py;
spec tasks.md, "Which checkpoints") save a checkpoint after an optimizer step when
`global_step % save_steps == 0`, never at an epoch end or at the last step unless it is
such a multiple, and evaluate every saved checkpoint on the test file. So the candidates a
published number was selected over are the steps save_steps, 2 save_steps, ... up to
epochs x ceil(train examples / batch size). A run here scores dev and test at exactly
those steps (train.py).
"""

from __future__ import annotations

import math

from krelectra.errors import KrelectraError


def steps_per_epoch(train_features: int, batch_size: int) -> int:
    """Optimizer steps in one pass over `train_features` features in batches of
    `batch_size` (the last batch may be smaller; no gradient accumulation)."""
    if train_features < 1 or batch_size < 1:
        raise ValueError(f"expected at least one feature and a batch size >= 1, got {train_features}, {batch_size}")
    return math.ceil(train_features / batch_size)


def save_points(task: str, train_features: int, batch_size: int, epochs: int, save_steps: int) -> list[int]:
    """The global steps a run of `task` evaluates at: every multiple of `save_steps` up to
    the run's total steps, `epochs` x `steps_per_epoch(train_features, batch_size)`.

    Example (spec tasks.md): Question Pair, 6,136 examples, batch 32, 10 epochs,
    save_steps 100: 192 steps an epoch, 1,920 in all, points 100, 200, ..., 1900.

    Raises KrelectraError naming the task, save_steps and the total when there is no such
    step (the run would select nothing)."""
    if save_steps < 1:
        raise KrelectraError(f"task {task}: save_steps must be an integer >= 1, got {save_steps}")
    total = epochs * steps_per_epoch(train_features, batch_size)
    points = list(range(save_steps, total + 1, save_steps))
    if not points:
        raise KrelectraError(
            f"task {task}: save_steps {save_steps} is more than the run's {total} optimizer steps "
            f"({epochs} epochs x {steps_per_epoch(train_features, batch_size)} steps of {batch_size} "
            f"from {train_features} training features): no point to evaluate at; set a smaller "
            "save_steps (finetune.hyperparameters or finetune.task_hyperparameters)"
        )
    return points
