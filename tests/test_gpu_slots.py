"""GPU slots of finetuning jobs (krelectra.finetune.gpu_slots), on CPU with simulated
device lists: CUDA_VISIBLE_DEVICES as a scheduler would set it, or a stand-in nvidia-smi."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from collections import Counter

import pytest

from krelectra.errors import KrelectraError
from krelectra.finetune import gpu_slots

# A job: take a slot (the process's CUDA_VISIBLE_DEVICES lists the node's GPUs), print the
# device the job is left with, and hold the slot until killed.
JOB = """
import os, sys, time
from krelectra.finetune import gpu_slots
slot = gpu_slots.acquire(int(sys.argv[1]), poll_seconds=0.05)
print(os.environ["CUDA_VISIBLE_DEVICES"], flush=True)
time.sleep(600)
"""


def start_job(tmp_path, devices: str, jobs_per_gpu: int) -> subprocess.Popen:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": devices, "TMPDIR": str(tmp_path)}
    env.pop("SLURM_JOB_ID", None)
    return subprocess.Popen([sys.executable, "-c", JOB, str(jobs_per_gpu)], env=env, stdout=subprocess.PIPE, text=True)


@pytest.fixture
def jobs():
    started: list[subprocess.Popen] = []
    yield started
    for job in started:
        if job.poll() is None:
            os.kill(job.pid, signal.SIGKILL)
        job.wait()
        job.stdout.close()


def test_visible_devices_from_cuda_visible_devices():
    assert gpu_slots.visible_devices({"CUDA_VISIBLE_DEVICES": "2, 3,GPU-5f1c"}) == ["2", "3", "GPU-5f1c"]
    assert gpu_slots.visible_devices({"CUDA_VISIBLE_DEVICES": ""}) == []  # CUDA: every GPU hidden
    assert gpu_slots.visible_devices({"CUDA_VISIBLE_DEVICES": "-1"}) == []  # the usual way to hide them
    assert gpu_slots.visible_devices({"CUDA_VISIBLE_DEVICES": "1,x,2"}) == ["1"]  # CUDA stops at "x"


def test_visible_devices_from_nvidia_smi(tmp_path):
    smi = tmp_path / "nvidia-smi"
    smi.write_text(
        '#!/bin/sh\n[ "$1" = -L ] || exit 9\n'
        "echo 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-aaaa)'\n"
        "echo '  MIG 1g.10gb     Device  0: (UUID: MIG-bbbb)'\n"
        "echo 'GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-cccc)'\n"
    )
    smi.chmod(0o755)
    assert gpu_slots.visible_devices({"PATH": str(tmp_path)}) == ["0", "1"]
    smi.write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed' >&2\nexit 9\n")  # no driver
    assert gpu_slots.visible_devices({"PATH": str(tmp_path)}) == []
    assert gpu_slots.visible_devices({"PATH": str(tmp_path / "nothing")}) == []


def test_slots_are_balanced_over_devices_and_bounded(tmp_path):
    devices = ["0", "1", "2"]
    held = [gpu_slots.try_acquire(devices, 2, tmp_path) for _ in range(6)]
    assert all(held)
    assert [slot.device for slot in held[:3]] == devices  # one job on each GPU before a second
    assert Counter(slot.device for slot in held) == {"0": 2, "1": 2, "2": 2}
    assert len({slot.path for slot in held}) == 6
    assert gpu_slots.try_acquire(devices, 2, tmp_path) is None  # all 3 x 2 slots taken
    held[4].release()
    again = gpu_slots.try_acquire(devices, 2, tmp_path)
    assert again is not None and again.device == held[4].device
    # The GPU with the most free slots is taken, not the first one with a free slot.
    held[0].release()
    held[2].release()
    held[5].release()
    assert gpu_slots.try_acquire(devices, 2, tmp_path).device == "2"


def test_no_gpu_no_slot(tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert gpu_slots.acquire(2, folder=tmp_path) is None
    assert os.environ["CUDA_VISIBLE_DEVICES"] == ""
    assert not list(tmp_path.iterdir())


def test_bad_jobs_per_gpu(tmp_path):
    with pytest.raises(KrelectraError, match=r"jobs_per_gpu.*>= 1, got 0"):
        gpu_slots.acquire(0, devices=["0"], folder=tmp_path)


def test_lock_folder_is_per_allocation():
    plain = gpu_slots.lock_folder({})
    assert plain.name == f"krelectra-gpu-slots-{os.getuid()}"
    assert gpu_slots.lock_folder({"SLURM_JOB_ID": "4711"}).name == f"{plain.name}-slurm4711"


def test_concurrent_jobs_get_their_own_gpu_and_a_killed_job_frees_its_slot(tmp_path, jobs):
    # Four jobs on a node with GPUs 4 and 7, two slots each: every slot is taken once.
    for _ in range(4):
        jobs.append(start_job(tmp_path, "4,7", 2))
    devices = [job.stdout.readline().strip() for job in jobs]
    assert Counter(devices) == {"4": 2, "7": 2}
    # A fifth job waits: no slot is free.
    waiting = start_job(tmp_path, "4,7", 2)
    jobs.append(waiting)
    readable, _, _ = select.select([waiting.stdout], [], [], 2.0)
    assert not readable and waiting.poll() is None  # alive, and no device printed
    # Kill one holder for real: the kernel drops its lock and the waiting job takes its GPU.
    os.kill(jobs[1].pid, signal.SIGKILL)
    assert jobs[1].wait() == -signal.SIGKILL
    assert waiting.stdout.readline().strip() == devices[1]
