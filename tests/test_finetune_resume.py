"""A finetuning job killed with SIGKILL after a save point resumes from its last save
point when rerun, mid-epoch, and ends with the metrics and predictions of an uninterrupted
run; its state is refused (naming what changed) or, with --restart, moved aside when the
run's settings changed."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from builders import FAST, make_tiny_model, write_synthetic_data
from workflow_helpers import REPO

from krelectra import fingerprint as fp

# The synthetic NSMC: 288 training examples after the dev carve-out, 18 steps an epoch, 72
# in 4 epochs. Save points every 7 steps (7, 14, ..., 70): every one of them inside an
# epoch, so a resume skips part of an epoch's batches; the last step, 72, is not one.
EPOCHS = 4
SAVE_STEPS = 7
POINTS = list(range(7, 71, 7))
HYPER = dict(FAST, num_train_epochs=EPOCHS, save_steps=SAVE_STEPS)


def command(model: Path, data: Path, out: Path, work: Path, hyper: dict, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "krelectra",
        "finetune",
        "train",
        "--task",
        "nsmc",
        "--seed",
        "3",
        "--model",
        str(model),
        "--data",
        str(data),
        "--hyperparameters",
        json.dumps(hyper),
        "--threads",
        "1",
        "--output-dir",
        str(out),
        "--work-dir",
        str(work),
        *extra,
    ]


def env() -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO / "src"), "HF_HUB_OFFLINE": "1", "OMP_WAIT_POLICY": "PASSIVE"}


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command(*args, **kwargs), env=env(), capture_output=True, text=True, timeout=600)


def results(out: Path) -> tuple[list[dict], bytes]:
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    points = [{k: v for k, v in p.items() if not k.endswith("seconds")} for p in metrics["points"]]
    return points, (out / "predictions.jsonl").read_bytes()


def kill_after_first_save_point(args: list[str], work: Path) -> None:
    """Start the job, and SIGKILL it as soon as a save point's checkpoint is complete."""
    process = subprocess.Popen(args, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not list(work.glob("checkpoint-*/trainer_state.json")):
        assert process.poll() is None, "the job ended before its first checkpoint"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> tuple[Path, Path]:
    """(a tiny model folder, synthetic task data)."""
    return make_tiny_model(tmp_path_factory.mktemp("model")), write_synthetic_data(tmp_path_factory.mktemp("data"))


@pytest.mark.slow
def test_a_killed_finetuning_job_resumes_and_ends_as_an_uninterrupted_one(inputs, tmp_path):
    model, data = inputs

    whole = run(model, data, tmp_path / "whole", tmp_path / "whole.work", HYPER)
    assert whole.returncode == 0, whole.stderr[-3000:]
    assert "resumed" not in whole.stderr
    assert [p["step"] for p in results(tmp_path / "whole")[0]] == POINTS
    assert not (tmp_path / "whole.work").exists(), "the state is removed when the job completes"

    out, work = tmp_path / "out", tmp_path / "work"
    kill_after_first_save_point(command(model, data, out, work, HYPER), work)
    assert not (out / "metrics.json").exists()
    [checkpoint] = work.glob("checkpoint-*")
    killed_at = json.loads((checkpoint / "trainer_state.json").read_text())["global_step"]
    assert killed_at in POINTS[:-1] and killed_at % 18 != 0, "killed inside an epoch, before the last point"

    # Another learning rate: refused, naming it, and the state is kept.
    changed = run(model, data, out, work, dict(HYPER, learning_rate=1e-3))
    assert changed.returncode == 1
    assert "hyperparameters.learning_rate: 0.002 -> 0.001" in changed.stderr
    assert "finetune.restart: true" in changed.stderr
    assert list(work.glob("checkpoint-*")) == [checkpoint]

    # The same run again: resumed from the epoch it reached, and the same results.
    resumed = run(model, data, out, work, HYPER)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"nsmc: resumed from step {killed_at} of {POINTS[-1]}" in resumed.stderr
    assert json.loads((out / "metrics.json").read_text())["resumed_from_step"] == killed_at
    assert results(out) == results(tmp_path / "whole"), "metrics and predictions equal an uninterrupted run's"
    assert not work.exists()


@pytest.mark.slow
def test_restart_moves_another_runs_state_aside_and_trains_from_the_start(inputs, tmp_path):
    model, data = inputs
    out, work = tmp_path / "out", tmp_path / "work"
    kill_after_first_save_point(command(model, data, out, work, HYPER), work)
    saved = json.loads((work / fp.FINGERPRINT_FILE).read_text())

    restarted = run(model, data, out, work, dict(HYPER, learning_rate=1e-3, num_train_epochs=1), "--restart")
    assert restarted.returncode == 0, restarted.stderr[-3000:]
    assert "resumed" not in restarted.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    # one epoch of 18 steps: save points 7 and 14
    assert metrics["resumed_from_step"] == 0 and [p["step"] for p in metrics["points"]] == [7, 14]
    [aside] = tmp_path.glob("work.*")
    assert json.loads((aside / fp.FINGERPRINT_FILE).read_text()) == saved, "the old state is kept, moved"
    assert list(aside.glob("checkpoint-*/trainer_state.json"))


def test_the_rule_keeps_the_state_beside_the_outputs_and_passes_restart_only_to_a_job_with_state(tmp_path):
    import yaml
    from workflow_helpers import copy_workflow, snakemake

    work = copy_workflow(tmp_path)
    config = yaml.safe_load((work / "config/config.yaml").read_text())
    config["finetune"]["restart"] = True
    (work / "restart.yaml").write_text(yaml.safe_dump(config))
    (work / "results/finetune/.work/krelectra-ours/nsmc/seed41").mkdir(parents=True)  # a killed job's state
    targets = [f"results/finetune/krelectra-ours/{task}/seed41/metrics.json" for task in ("nsmc", "paws")]
    out = snakemake(work, *targets, "-n", "-p", "--cores", "2", "--configfile", "restart.yaml").stdout
    commands = {task: line for line in out.splitlines() for task in ("nsmc", "paws") if f"--task {task} " in line}
    assert "--work-dir results/finetune/.work/krelectra-ours/nsmc/seed41 --restart" in commands["nsmc"]
    assert "--work-dir results/finetune/.work/krelectra-ours/paws/seed41 " in commands["paws"]
    assert "--restart" not in commands["paws"], "no state, no flag: switching restart reruns no completed job"
