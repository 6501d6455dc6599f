"""`pretrain.strategy: multiworker` for real: two `krelectra pretrain train` processes on
127.0.0.1 (TF_CONFIG with local ports) under MultiWorkerMirroredStrategy train the tiny model
to the losses and weights of one process with the same global batch; only the chief writes;
a killed worker fails the run with one clear error within a minute, and starting both
workers again resumes from the chief's newest checkpoint and ends where an uninterrupted run
ends."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from krelectra.pretrain.checkpoint import read_checkpoint_state

REPO = Path(__file__).resolve().parents[1]
STEPS = 40  # few enough that float rounding (the split sums) has not yet flipped a sampled token
CONFIG = {
    "xla": False,  # no compile time: the test is about the strategy
    "mixed_precision": False,
    "examples": {"max_seq_length": 64},
    "model": {"embedding_size": 32, "hidden_size": 32, "num_hidden_layers": 1, "generator_hidden_size": 0.5},
    "train": {
        "train_batch_size": 8,
        "num_train_steps": STEPS,
        "num_warmup_steps": 5,
        "learning_rate": 1e-3,
        "log_every_steps": 10,
        "save_checkpoints_steps": 10,
        "eval_every_steps": 20,
        "iterations_per_loop": 5,
        "eval_batch_size": 8,
        "max_eval_batches": 2,
        "shuffle_buffer": 100,
    },
}
METRICS = ("loss", "generator_loss", "discriminator_loss", "generator_accuracy", "discriminator_accuracy")
LOST_WORKER_SECONDS = 90  # TensorFlow's coordination service notices a silent worker in ~20 s


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def train_command(examples: dict, work_dir: Path, config: dict) -> list[str]:
    return [
        sys.executable,
        "-m",
        "krelectra",
        "pretrain",
        "train",
        "--no-progress",
        "--threads",
        "1",
        "--vocab-dir",
        str(examples["vocab"]),
        "--work-dir",
        str(work_dir),
        "--train",
        *map(str, examples["train"]),
        "--eval",
        *map(str, examples["eval"]),
        "--config",
        json.dumps(config),
    ]


def environment(tf_config: dict | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env.update({"PYTHONPATH": str(REPO / "src"), "TF_CPP_MIN_LOG_LEVEL": "2", "HF_HUB_OFFLINE": "1"})
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    return env


def start_cluster(examples: dict, work_dir: Path, logs: Path) -> list[subprocess.Popen]:
    """Two workers of one cluster (worker 0 is the chief), each with its own log file."""
    ports = free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    config = {**CONFIG, "strategy": "multiworker"}
    logs.mkdir(parents=True, exist_ok=True)
    workers = []
    for index in range(2):
        tf_config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
        log = open(logs / f"worker-{index}.log", "w")  # noqa: SIM115 - closed with the process
        workers.append(
            subprocess.Popen(
                train_command(examples, work_dir, config),
                env=environment(tf_config),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        log.close()
    return workers


def wait_all(workers: list[subprocess.Popen], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    try:
        return [worker.wait(timeout=max(1.0, deadline - time.monotonic())) for worker in workers]
    finally:
        stop(workers)


def stop(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


def read_metrics(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def checkpoint_tensors(prefix: Path) -> dict:
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(prefix))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def assert_same_training(reference: Path, run: Path) -> None:
    """Same metrics records (but for timings) and final weights as the one-process run."""
    ours, theirs = read_metrics(run / "metrics.jsonl"), read_metrics(reference / "metrics.jsonl")
    assert [(r["split"], r["step"]) for r in ours] == [(r["split"], r["step"]) for r in theirs]
    for a, b in zip(theirs, ours):
        for key in METRICS:
            assert b[key] == pytest.approx(a[key], rel=1e-4, abs=1e-6), (a["split"], a["step"], key)
    weights, expected = checkpoint_tensors(run / "final/model.ckpt"), checkpoint_tensors(reference / "final/model.ckpt")
    assert weights.keys() == expected.keys()
    assert weights["global_step"] == STEPS
    for name, value in expected.items():
        np.testing.assert_allclose(weights[name], value, rtol=1e-4, atol=1e-6, err_msg=name)


@pytest.fixture(scope="module")
def one_process(pretrain_examples, tmp_path_factory) -> Path:
    """The same config trained by one process (default strategy), the reference."""
    work = tmp_path_factory.mktemp("one_process")
    result = subprocess.run(
        train_command(pretrain_examples, work, CONFIG), env=environment(None), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return work


@pytest.mark.slow
def test_two_workers_train_like_one_process_and_only_the_chief_writes(pretrain_examples, one_process, tmp_path):
    work, logs = tmp_path / "work", tmp_path / "logs"
    workers = start_cluster(pretrain_examples, work, logs)
    codes = wait_all(workers, timeout=300)
    assert codes == [0, 0], [(logs / f"worker-{i}.log").read_text()[-3000:] for i in range(2)]

    hyper = json.loads((work / "final/pretrain_config.json").read_text())
    assert (hyper["strategy"], hyper["num_replicas"], hyper["per_replica_batch_size"]) == ("multiworker", 2, 4)
    assert_same_training(one_process, work)

    # Only the chief (worker 0) wrote: the folder holds what one process writes, and every
    # TensorBoard event file carries the chief's process id in its name.
    def listing(root: Path) -> set[str]:
        return {str(p.relative_to(root)) for p in root.rglob("*") if "tfevents" not in p.name}

    assert listing(work) == listing(one_process)
    events = list((work / "tensorboard").rglob("events.out.tfevents.*"))
    writers = {re.search(r"\.(\d+)\.\d+\.v2$", e.name).group(1) for e in events}  # ...<host>.<pid>.<n>.v2
    assert len(events) == 2 and writers == {str(workers[0].pid)}


@pytest.mark.slow
def test_a_killed_worker_fails_the_run_clearly_and_a_rerun_resumes(pretrain_examples, one_process, tmp_path):
    work, checkpoints = tmp_path / "work", tmp_path / "work/checkpoints"
    workers = start_cluster(pretrain_examples, work, tmp_path / "first")
    try:
        deadline = time.monotonic() + 240
        killed_at = None
        while time.monotonic() < deadline and all(w.poll() is None for w in workers):
            latest, _ = read_checkpoint_state(checkpoints)
            if latest and int(latest.rsplit("-", 1)[1]) >= 10:
                os.killpg(workers[1].pid, signal.SIGKILL)
                killed_at = time.monotonic()
                break
            time.sleep(0.02)
        assert killed_at is not None, "the cluster ended or stalled before a worker could be killed"
        # The chief does not hang on the lost worker: it fails with one clear error.
        code = workers[0].wait(timeout=LOST_WORKER_SECONDS)
    finally:
        stop(workers)
    log = (tmp_path / "first/worker-0.log").read_text()
    assert code == 1, log[-3000:]
    assert "krelectra pretrain: error: pretrain.strategy=multiworker: lost contact with another worker" in log
    assert "start every worker again to resume (newest checkpoint" in log
    latest, _ = read_checkpoint_state(checkpoints)
    stopped_at = int(latest.rsplit("-", 1)[1])
    assert 10 <= stopped_at < STEPS and not (work / "final").exists()

    # Both workers started again: they resume from the chief's newest checkpoint and end
    # where the uninterrupted one-process run ends.
    workers = start_cluster(pretrain_examples, work, tmp_path / "second")
    codes = wait_all(workers, timeout=300)
    logs = [(tmp_path / f"second/worker-{i}.log").read_text() for i in range(2)]
    assert codes == [0, 0], [log[-3000:] for log in logs]
    for log in logs:
        assert f"resuming from {checkpoints / f'model.ckpt-{stopped_at}'} (step {stopped_at} of {STEPS})" in log
    assert_same_training(one_process, work)


# -- the cluster under SLURM, and the rule's launcher ------------------------------------------

SLURM_STEP = {  # what srun sets in each task of a 2-node, 2-task step (no GPUs)
    "SLURM_STEP_NUM_TASKS": "2",
    "SLURM_STEP_NODELIST": "node[07-08]",
    "SLURM_STEP_TASKS_PER_NODE": "1(x2)",
}


@pytest.mark.parametrize("procid", [0, 1])
def test_each_srun_task_finds_the_cluster_in_slurms_variables(monkeypatch, procid):
    from krelectra.pretrain.runtime import multiworker_cluster_resolver

    monkeypatch.delenv("TF_CONFIG", raising=False)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv("KRELECTRA_PORT_BASE", raising=False)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no nvidia-smi: CPU nodes
    for key, value in {**SLURM_STEP, "SLURM_PROCID": str(procid)}.items():
        monkeypatch.setenv(key, value)
    resolver = multiworker_cluster_resolver()
    assert resolver.cluster_spec().as_dict() == {"worker": ["node07:23456", "node08:23456"]}
    assert (resolver.task_type, resolver.task_id) == ("worker", procid)
    assert resolver.num_accelerators() == {"GPU": 0}


def test_a_multiworker_run_without_a_cluster_is_refused(monkeypatch):
    from krelectra.errors import KrelectraError
    from krelectra.pretrain.runtime import multiworker_cluster_resolver

    monkeypatch.delenv("TF_CONFIG", raising=False)
    monkeypatch.delenv("SLURM_STEP_NUM_TASKS", raising=False)
    with pytest.raises(KrelectraError, match="no cluster to join: set TF_CONFIG on every worker"):
        multiworker_cluster_resolver()
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["a:1", "b:2"]}, "task": {"index": 1}}))
    assert multiworker_cluster_resolver().cluster_spec().as_dict() == {"worker": ["a:1", "b:2"]}


def test_the_rule_starts_one_worker_per_task_under_an_mpi_resource(tmp_path):
    from workflow_helpers import copy_workflow, snakemake

    work = copy_workflow(tmp_path)
    for resources, launched in (([], False), (["--set-resources", "pretrain_model:mpi=srun"], True)):
        result = snakemake(work, "-n", "-p", "--cores", "2", "pretrain", *resources)
        command = next(line for line in result.stdout.splitlines() if "krelectra pretrain train" in line)
        assert ("srun krelectra pretrain train --vocab-dir" in command) is launched, command
        assert ("srun" in command) is launched, command
