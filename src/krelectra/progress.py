"""Progress of a long job on the terminal: one line every few seconds on stdout.

The workflow's rules send a job's stderr to its log file and leave stdout to Snakemake's
terminal, so these lines show there, each starting with the job it belongs to (two jobs
running at once interleave whole lines), while the log keeps its own records (the
pretraining progress bar, the finetuning epoch scores). A line reads

    pretrain: step 150/500 (30%), loss 21.734, 31 s elapsed, about 1 min 12 s left

The time left is the remaining work at the rate kept since the first update (steps per
second of wall time, evaluation included), so it is left out of a line shown at the first
update: the work before it holds the start-up (TensorFlow traces and compiles its training
loop then), which would make the estimate far too long.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

# Seconds between two lines of one job.
PROGRESS_SECONDS = 5.0


def duration(seconds: float) -> str:
    """`seconds` for a reader: "45 s", "3 min 05 s", "2 h 07 min"."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class ProgressLine:
    """Prints `<label>: <unit> <done>/<total> (<percent>%), <values>, <elapsed> elapsed,
    about <left> left` to `stream` (default: stdout) at most every `interval` seconds.

    `start` is where this process began (a resumed run's step); the rate counts only the
    work done since. `clock` returns seconds (time.monotonic; tests pass their own)."""

    def __init__(
        self,
        label: str,
        total: int,
        start: int = 0,
        unit: str = "step",
        interval: float = PROGRESS_SECONDS,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.label, self.total, self.start, self.unit = label, total, start, unit
        self.interval, self.stream, self.clock = interval, stream, clock
        self.began = clock()
        self.last_shown: float | None = None
        self.first: tuple[int, float] | None = None  # (done, time) at the first update

    def line(self, done: int, values: dict[str, str]) -> str:
        """The progress line for `done` of `total` units with `values` (name -> text)."""
        now = self.clock()
        elapsed = now - self.began
        parts = [f"{self.unit} {done}/{self.total} ({100 * done // max(self.total, 1)}%)"]
        parts += [f"{name} {value}" for name, value in values.items()]
        parts.append(f"{duration(elapsed)} elapsed")
        if self.first is not None and done > self.first[0] and now > self.first[1]:
            rate = (done - self.first[0]) / (now - self.first[1])
            parts.append(f"about {duration((self.total - done) / rate)} left")
        return f"{self.label}: " + ", ".join(parts)

    def update(self, done: int, force: bool = False, **values: str) -> None:
        """Print the line for `done` when `interval` seconds have passed since the last one
        (or always, with `force`)."""
        now = self.clock()
        if self.first is None:
            self.first = (done, now)
        if not force and self.last_shown is not None and now - self.last_shown < self.interval:
            return
        if not force and self.last_shown is None and now - self.began < self.interval:
            return
        self.last_shown = now
        stream = self.stream or sys.stdout
        stream.write(self.line(done, values) + "\n")  # one write: lines of parallel jobs stay whole
        stream.flush()
