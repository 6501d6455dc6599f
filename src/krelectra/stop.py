"""A user's stop request (Ctrl-C, `kill -INT`, `kill -TERM`) during a long job: stop within
seconds at a point that can be resumed, with one line saying so.

Job side (`krelectra pretrain train`, `krelectra finetune train`): `handle_stop_signals()`
installs handlers for SIGINT and SIGTERM. Before training starts a signal stops the
command at once (there is nothing to save yet); inside `deferred()` (the training loop) it
only records the request, and the loop calls `check()` where it can stop cleanly:
pretraining after each compiled loop of at most `iterations_per_loop` steps, with a
checkpoint at that step; finetuning after a training step or a prediction batch, from the
last save point's checkpoint. `check()` raises `StopRequested`, which
`krelectra.cli.main` turns into one line and the exit status 128 + the signal's number
(the shell's convention), so Snakemake sees the job fail and never takes its outputs.
A second signal while a stop is under way is the same request and is ignored.

Snakemake 9 itself sends nothing to running jobs when it is signalled (only Ctrl-C in a
terminal reaches them, through the process group): krelectra.snakemake_stop passes its
signals on to them.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequested(BaseException):
    """A stop signal reached the job. `message` says where it stopped and what a rerun
    resumes from; `signum` is the signal's number. A BaseException, as KeyboardInterrupt
    is, so that no library's `except Exception` takes it for an error of its own."""

    def __init__(self, signum: int, message: str = ""):
        super().__init__(message or f"stopped by {signal.Signals(signum).name}")
        self.signum = signum

    @property
    def exit_status(self) -> int:
        """128 + the signal's number, as a shell reports a command ended by that signal."""
        return 128 + self.signum


_requested: int | None = None
_deferring = False


def _on_signal(signum: int, frame) -> None:
    global _requested
    if _requested is not None:  # the same stop (Ctrl-C reaches a job twice: terminal and Snakemake)
        return
    _requested = signum
    if not _deferring:
        raise StopRequested(signum, f"stopped by {signal.Signals(signum).name} before training started")


def handle_stop_signals() -> None:
    """Handle SIGINT and SIGTERM as a stop request (see the module's docstring) in this
    process. Must be called from the main thread."""
    global _requested
    _requested = None
    for signum in HANDLED_SIGNALS:
        signal.signal(signum, _on_signal)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Inside this block a stop signal is only recorded; `check()` acts on it."""
    global _deferring
    previous, _deferring = _deferring, True
    try:
        yield
    finally:
        _deferring = previous


def record(signum: int) -> None:
    """Record a stop request without raising (the Snakemake process, krelectra.snakemake_stop)."""
    global _requested
    if _requested is None:
        _requested = signum


def requested() -> int | None:
    """The number of the stop signal received, or None."""
    return _requested


def check(message: str = "") -> None:
    """Raise StopRequested(message) when a stop signal was received."""
    if _requested is not None:
        raise StopRequested(_requested, message)
