"""Stopping a running workflow with real signals (krelectra.stop, krelectra.snakemake_stop):
a pretraining job and a finetuning job run at once under `--cores 2`, each printing its
progress on Snakemake's terminal; `kill -TERM` on Snakemake, then `kill -INT` on Snakemake,
then SIGINT to the whole process group (Ctrl-C in a terminal) each stop both within
seconds, with one line per job, no traceback and no lock left; and each rerun resumes
where the run before stopped (pretraining from a checkpoint at the step it reached,
finetuning after its last save point). Neither job is meant to finish: their
uninterrupted resumes are tested in test_pretrain_train.py and test_finetune_resume.py."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from builders import make_tiny_model
from workflow_helpers import copy_workflow, snakemake

# Stopping takes at most one compiled pretraining loop (iterations_per_loop steps) or one
# finetuning step plus the exits: seconds. The bound leaves room for a busy shared machine.
STOP_SECONDS = 20
EXAMPLES = [f"results/pretrain/examples/{shard:05d}{suffix}" for shard in range(2) for suffix in (".tfrecord", ".json")]
FINETUNE_METRICS = "results/finetune/tiny/nsmc/seed41/metrics.json"
FINETUNE_WORK = "results/finetune/.work/tiny/nsmc/seed41"
CHECKPOINTS = "results/pretrain/checkpoints"
SAVE_STEPS = 5  # finetuning's save points (and resume points): every 5 optimizer steps


def config(model: Path, num_train_steps: int) -> dict:
    return {
        "pretrain": {
            "train": {
                "num_train_steps": num_train_steps,
                "iterations_per_loop": 10,
                "log_every_steps": 10,
                "save_checkpoints_steps": 1000,  # the only checkpoints before the end are the stops'
                "eval_every_steps": 1000,
            }
        },
        "finetune": {
            # finetune.tasks stays the default's: the corpus's contamination audit indexes the
            # evaluation text of every task, so another task list reruns the corpus stage.
            "models": {"tiny": str(model)},
            "task_hyperparameters": {
                "nsmc": {
                    "num_train_epochs": 1000,
                    "learning_rate": 2e-3,
                    "max_seq_length": 48,
                    "save_steps": SAVE_STEPS,
                }
            },
        },
    }


def start(work: Path, num_train_steps: int) -> tuple[subprocess.Popen, Path]:
    (work / "stop.yaml").write_text(yaml.safe_dump(config(work / "tiny-model", num_train_steps)))
    out = work / f"terminal-{time.monotonic_ns()}.txt"
    command = [sys.executable, "-m", "snakemake", "pretrain", FINETUNE_METRICS, "--cores", "2"]
    command += ["--set-threads", "pretrain_model=1", "--configfile", "config/config.yaml", "stop.yaml"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    with open(out, "w") as terminal:
        process = subprocess.Popen(
            command, cwd=work, env=env, stdout=terminal, stderr=subprocess.STDOUT, start_new_session=True
        )
    return process, out


def wait_for_both_progress_lines(process: subprocess.Popen, out: Path, since_step: int) -> None:
    """Until both jobs printed a progress line and finetuning is two save points past `since_step`."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        text = out.read_text()
        steps = [int(e) for e in re.findall(r"^finetune tiny/nsmc/seed41: step (\d+)/\d+ ", text, re.M)]
        if (
            re.search(r"^pretrain: step \d+/\d+ .* left$", text, re.M)
            and steps
            and steps[-1] > since_step + 2 * SAVE_STEPS
        ):
            return
        time.sleep(0.5)
    raise AssertionError(f"both jobs did not show progress:\n{out.read_text()[-3000:]}")


def stop(process: subprocess.Popen, how: str) -> float:
    """Send the stop; seconds until Snakemake exited."""
    sent = time.monotonic()
    if how == "group":
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    else:
        process.send_signal(signal.SIGTERM if how == "TERM" else signal.SIGINT)
    try:
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return time.monotonic() - sent


@pytest.fixture(scope="module")
def stop_pipeline(tmp_path_factory) -> Path:
    work = copy_workflow(tmp_path_factory.mktemp("stop"))
    snakemake(work, "--cores", "2", *EXAMPLES)
    (work / "tiny-model").mkdir()
    make_tiny_model(work / "tiny-model")
    return work


@pytest.mark.slow
def test_a_stop_request_stops_both_jobs_in_seconds_and_the_rerun_resumes(stop_pipeline, tmp_path):
    work = Path(shutil.copytree(stop_pipeline, tmp_path / "work", symlinks=True))
    resumed_step, finished_step = 0, 0
    for how in ("TERM", "INT", "group"):
        process, out = start(work, num_train_steps=100_000)
        try:
            wait_for_both_progress_lines(process, out, finished_step)
        except BaseException:  # leave no job training on: it would outlive the test
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            raise
        seconds = stop(process, how)
        text = out.read_text()
        assert seconds < STOP_SECONDS, f"kill -{how}: Snakemake took {seconds:.1f} s to exit\n{text[-3000:]}"
        assert process.returncode != 0
        assert "Traceback" not in text and "KeyboardInterrupt" not in text, text[-3000:]
        assert not (work / ".snakemake/locks").exists() or not any((work / ".snakemake/locks").iterdir())

        # Pretraining: one line, and a checkpoint at the step it names.
        lines = re.findall(r"^krelectra pretrain: pretraining stopped at step (\d+) of 100000 .*$", text, re.M)
        assert len(lines) == 1, text[-3000:]
        step = int(lines[0])
        assert step > resumed_step and step % 10 == 0
        assert (work / CHECKPOINTS / f"model.ckpt-{step}.index").is_file()
        # Finetuning: one line naming the save point a rerun resumes after, whose checkpoint is kept.
        lines = re.findall(r"^krelectra finetune: finetuning nsmc stopped; .* after step (\d+) \((.+)\)$", text, re.M)
        assert len(lines) == 1, text[-3000:]
        saved, checkpoint = int(lines[0][0]), Path(lines[0][1])
        assert saved > finished_step and saved % SAVE_STEPS == 0
        assert (work / checkpoint / "trainer_state.json").is_file()
        assert checkpoint.parent == Path(FINETUNE_WORK)
        # Snakemake's own error report of the stopped jobs (rule, files, command, whole log,
        # exit status) is left out.
        assert "Error in rule" not in text and "CalledProcessError" not in text

        if resumed_step:  # this run resumed where the one before stopped (the logs are rewritten each run)
            log = (work / "results/logs/pretrain/model.log").read_text()
            assert f"resuming from {CHECKPOINTS}/model.ckpt-{resumed_step} (step {resumed_step} of 100000)" in log
            log = (work / "results/logs/finetune/tiny/nsmc/seed41.log").read_text()
            assert f"nsmc: resumed from step {finished_step} of " in log
        resumed_step, finished_step = step, saved
