"""A stop request to Snakemake (Ctrl-C, `kill -INT`, `kill -TERM`) reaches every running job.

Snakemake 9 sends nothing to running jobs when it is signalled. On SIGINT
it raises KeyboardInterrupt in its main thread and waits for the running jobs to end
(`JobScheduler.schedule`: "Terminating processes on user request"); on SIGTERM its handler
(`JobScheduler.exit_gracefully`) lets the running jobs finish and then exits. Only Ctrl-C
in a terminal reaches the jobs, because the terminal signals the whole foreground process
group. `forward_to_jobs()`, called from the Snakefile's `onstart` (after Snakemake
installed its SIGTERM handler), wraps both handlers so that the signal is first passed on
to every process Snakemake started as SIGINT, as if Ctrl-C had been pressed, then handled
by Snakemake as before; the jobs stop within seconds, and Snakemake exits when they have,
releasing its lock. SIGINT rather than SIGTERM because of the `bash -c` that runs each
job's command: on SIGINT bash waits for its command and exits with the command's status
(the jobs' one line and their exit status reach Snakemake), on SIGTERM it dies at once
and leaves the command running without it. The jobs' side is krelectra.stop.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal

from krelectra import stop


def forward_to_jobs() -> None:
    """In the Snakemake process: on SIGINT or SIGTERM, send SIGINT to every process it
    started (its descendants, psutil), then run the handler Snakemake had installed.
    Must be called from the main thread, after Snakemake installed its handlers (the
    Snakefile's `onstart`)."""
    import psutil

    def quiet_stopped_jobs(record: logging.LogRecord) -> bool:
        # Snakemake reports each stopped job as failed: its rule, files, command and (with
        # show-failed-logs) its whole log ("job_error"), and its shell command's exit status
        # (an "error" of a RuleException). The job said in one line where it stopped.
        if stop.requested() is None:
            return True
        event = str(getattr(record, "event", ""))
        return not (event == "job_error" or (event == "error" and getattr(record, "exception", "") == "RuleException"))

    logging.getLogger("snakemake.logging").addFilter(quiet_stopped_jobs)
    for signum in stop.HANDLED_SIGNALS:
        previous = signal.getsignal(signum)

        def forward(number: int, frame, previous=previous) -> None:
            stop.record(number)
            for child in psutil.Process(os.getpid()).children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    child.send_signal(signal.SIGINT)
            if callable(previous):
                previous(number, frame)
            else:  # the disposition Python found (SIG_DFL, SIG_IGN): restore it and let it act
                signal.signal(number, previous)
                os.kill(os.getpid(), number)

        signal.signal(signum, forward)
