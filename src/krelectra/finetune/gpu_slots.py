"""GPU slots: which GPU a finetuning job runs on, when several jobs share a node's GPUs.

Snakemake counts resources but assigns no devices, so every job of a node would see every
GPU (and transformers' Trainer would spread one job over all of them with DataParallel,
multiplying its batch). Instead each job takes a *slot* before PyTorch starts: a node has
`jobs_per_gpu` slots per visible GPU, each one a lock file, and the job restricts itself
to its slot's GPU with CUDA_VISIBLE_DEVICES.

- Visible GPUs: the entries of CUDA_VISIBLE_DEVICES where it is set (indices, UUIDs or MIG
  ids, as CUDA reads them; an empty value hides every GPU), else the GPUs `nvidia-smi -L`
  lists; none (no GPU, no driver): the job takes no slot and runs as before.
- A slot is held with `fcntl.flock` on `<lock folder>/<device>.<slot>.lock` for as long as
  the job's process lives: the kernel releases it when the process ends in any way (exit,
  crash, SIGKILL), so a killed job never keeps its slot. flock locks are local to one
  machine, so the lock folder lives in the node's temporary folder, one per user.
- Balance: a job takes a slot on a GPU with the most free slots (the lowest device
  position among equals), so n jobs on g GPUs leave at most one more job on one GPU than
  on another. With every slot taken it waits, checking once a second.
- Under a scheduler that gives each job its own devices (SLURM: `--gpus` per job, and
  CUDA_VISIBLE_DEVICES set by it) the lock folder is scoped to the allocation
  (SLURM_JOB_ID), so jobs of different allocations on one node never wait for each other.
"""

from __future__ import annotations

import dataclasses
import fcntl
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from krelectra.errors import KrelectraError

log = logging.getLogger(__name__)
VISIBLE_DEVICES = "CUDA_VISIBLE_DEVICES"
POLL_SECONDS = 1.0


@dataclasses.dataclass
class GpuSlot:
    """A held slot: `device` (the CUDA_VISIBLE_DEVICES entry of its GPU), `index` (0 to
    jobs_per_gpu - 1) and the open lock file; the lock goes with the process, or `release`."""

    device: str
    index: int
    path: Path
    fd: int

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing the only descriptor releases the flock lock
            self.fd = -1


def visible_devices(environ: Mapping[str, str] | None = None) -> list[str]:
    """The GPUs this process may use, as CUDA_VISIBLE_DEVICES entries: that variable's
    comma-separated entries where it is set (up to the first that is not an index, GPU- or
    MIG- UUID, as CUDA reads it), else the indices of `nvidia-smi -L`'s lines
    ("GPU <i>: ..."), else [] (no nvidia-smi, or it fails: no usable driver)."""
    environ = os.environ if environ is None else environ
    if VISIBLE_DEVICES in environ:
        devices = []
        for entry in (e.strip() for e in environ[VISIBLE_DEVICES].split(",")):
            if not (entry.isdigit() or entry.startswith(("GPU-", "MIG-"))):
                break  # CUDA ignores an invalid entry and all after it ("-1": no GPU)
            devices.append(entry)
        return devices
    smi = shutil.which("nvidia-smi", path=environ.get("PATH"))
    if smi is None:
        return []
    try:
        listing = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return re.findall(r"^GPU (\d+):", listing, flags=re.MULTILINE)


def lock_folder(environ: Mapping[str, str] | None = None) -> Path:
    """The node-local folder of the slot lock files: `<tmp>/krelectra-gpu-slots-<uid>`, with
    `-slurm<SLURM_JOB_ID>` inside a SLURM allocation."""
    environ = os.environ if environ is None else environ
    name = f"krelectra-gpu-slots-{os.getuid()}"
    if environ.get("SLURM_JOB_ID"):
        name += f"-slurm{environ['SLURM_JOB_ID']}"
    return Path(tempfile.gettempdir()) / name


def _lock_path(folder: Path, device: str, index: int) -> Path:
    return folder / f"{re.sub(r'[^A-Za-z0-9_-]', '_', device)}.{index}.lock"


def _try_lock(path: Path) -> int | None:
    """An open descriptor of `path` holding its exclusive flock, or None when another holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def try_acquire(devices: Sequence[str], jobs_per_gpu: int, folder: Path) -> GpuSlot | None:
    """One free slot, on a device with the most free slots (the first such in `devices`),
    or None when all `len(devices) * jobs_per_gpu` slots are held."""
    free: dict[str, int] = {}
    for device in devices:  # count the free slots: take each lock and give it back
        for index in range(jobs_per_gpu):
            fd = _try_lock(_lock_path(folder, device, index))
            if fd is not None:
                os.close(fd)
                free[device] = free.get(device, 0) + 1
    for device in sorted(free, key=lambda d: (-free[d], devices.index(d))):
        for index in range(jobs_per_gpu):
            path = _lock_path(folder, device, index)
            fd = _try_lock(path)
            if fd is not None:
                os.ftruncate(fd, 0)
                os.write(fd, f"pid {os.getpid()}\n".encode())  # who holds it, for a look by hand
                return GpuSlot(device, index, path, fd)
    return None  # (taken since they were counted, or none free: the caller tries again)


def acquire(
    jobs_per_gpu: int,
    devices: Sequence[str] | None = None,
    folder: Path | None = None,
    poll_seconds: float = POLL_SECONDS,
) -> GpuSlot | None:
    """Wait for a free slot among `devices` (default: `visible_devices()`) and restrict this
    process to its GPU (CUDA_VISIBLE_DEVICES = the slot's device). Call it before anything
    initialises CUDA. Returns the slot, held until the process ends, or None when no GPU is
    visible (nothing is changed). Raises KrelectraError for jobs_per_gpu < 1 or a lock
    folder that cannot be made."""
    if jobs_per_gpu < 1:
        raise KrelectraError(f"finetune.jobs_per_gpu (--jobs-per-gpu): expected an integer >= 1, got {jobs_per_gpu}")
    devices = list(visible_devices() if devices is None else devices)
    if not devices:
        return None
    folder = lock_folder() if folder is None else Path(folder)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        raise KrelectraError(f"{folder}: cannot make the GPU slot lock folder ({error.strerror})") from None
    waiting_since = None
    while (slot := try_acquire(devices, jobs_per_gpu, folder)) is None:
        if waiting_since is None:
            waiting_since = time.monotonic()
            log.info("all %d GPU slots in %s are taken: waiting for one", len(devices) * jobs_per_gpu, folder)
        time.sleep(poll_seconds)
    if waiting_since is not None:
        log.info("waited %.0f s for a GPU slot", time.monotonic() - waiting_since)
    os.environ[VISIBLE_DEVICES] = slot.device
    log.info(
        "GPU slot %d of %d on device %s (CUDA_VISIBLE_DEVICES=%s; lock %s)",
        slot.index + 1,
        jobs_per_gpu,
        slot.device,
        slot.device,
        slot.path,
    )
    return slot
