"""The finetuning Trainer's callbacks for a long job: its progress on the terminal
(krelectra.progress) and a stop request acted on within a step (krelectra.stop)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TextIO

from krelectra import stop
from krelectra.progress import ProgressLine


def progress_callback(label: str, stream: TextIO | None = None):
    """A transformers TrainerCallback that prints a `ProgressLine` (krelectra.progress) of
    the training steps, with the epoch and the last logged training loss (logged at every
    save point in finetuning), every PROGRESS_SECONDS."""
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            self.progress = ProgressLine(label, state.max_steps, start=state.global_step, stream=stream)
            self.loss: float | None = None

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                self.loss = logs["loss"]

        def on_step_end(self, args, state, control, **kwargs):
            values = {"epoch": f"{max(1, math.ceil(state.epoch or 0))}/{int(args.num_train_epochs)}"}
            if self.loss is not None:
                values["loss"] = f"{self.loss:.4f}"
            self.progress.update(state.global_step, **values)

    return Progress()


def stop_callback(message: Callable[[], str]):
    """A transformers TrainerCallback that acts on a stop request (krelectra.stop) after every
    training step and every prediction batch, with `message()` (called then) as the
    StopRequested message. Use it inside `stop.deferred()`."""
    from transformers import TrainerCallback

    class StopOnRequest(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if stop.requested() is not None:
                stop.check(message())

        def on_prediction_step(self, args, state, control, **kwargs):
            if stop.requested() is not None:
                stop.check(message())

    return StopOnRequest()
