"""krelectra.stop in a job: a stop signal before training stops at once, one during training
is acted on where the loop checks, and the command exits with one line and 128 + the
signal's number. Real signals, sent by the process to itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_in_the_training_loop_waits_for_the_check(signum):
    result = run(
        f"""
        import os, signal
        from krelectra import stop
        stop.handle_stop_signals()
        with stop.deferred():
            os.kill(os.getpid(), {int(signum)})
            os.kill(os.getpid(), signal.SIGTERM)  # a second signal: the same stop
            print("still training", stop.requested())
            try:
                stop.check("stopped at step 7")
            except stop.StopRequested as stopped:
                print(stopped, stopped.exit_status)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"still training {int(signum)}", f"stopped at step 7 {128 + int(signum)}"]


def test_a_signal_before_training_stops_at_once():
    result = run(
        """
        import os, signal, time
        from krelectra import stop
        stop.handle_stop_signals()
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)
            print("not stopped")
        except stop.StopRequested as stopped:
            print(stopped)
        """
    )
    assert result.stdout.splitlines() == ["stopped by SIGTERM before training started"], result.stderr


def test_the_command_prints_one_line_and_exits_with_128_plus_the_signal():
    # krelectra.cli.main with a command that stops where a training loop would.
    result = run(
        """
        import argparse, os, signal, sys
        from krelectra import cli, stop

        def train(args):
            stop.handle_stop_signals()
            with stop.deferred():
                os.kill(os.getpid(), signal.SIGINT)
                stop.check("pretraining stopped at step 40 of 500 (checkpoint c/model.ckpt-40); run it again")

        def build_parser():
            parser = argparse.ArgumentParser()
            parser.add_argument("stage")
            parser.set_defaults(func=train)
            return parser

        cli.build_parser = build_parser
        sys.exit(cli.main(["pretrain"]))
        """
    )
    assert result.returncode == 130, result.stderr
    line = "krelectra pretrain: pretraining stopped at step 40 of 500 (checkpoint c/model.ckpt-40); run it again"
    # once in the log (stderr) and once on the terminal (stdout), no traceback
    assert result.stdout == line + "\n"
    assert result.stderr == line + "\n"
