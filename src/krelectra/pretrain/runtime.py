"""How TensorFlow runs on this machine: threads, CPU memory, and the `auto` settings.

`pretrain.xla` and `pretrain.mixed_precision` are true, false or "auto"; `resolve_settings`
turns "auto" into what suits the device the run is on:

- mixed_precision (bfloat16 matmuls, float32 weights): on where the hardware computes in
  bfloat16: a TPU, an NVIDIA GPU of compute capability 8.0 (Ampere) or newer, or a CPU with
  AMX-BF16 or AVX512-BF16 (the `amx_bf16` / `avx512_bf16` flags of /proc/cpuinfo). Elsewhere
  bfloat16 is converted in software and slower than float32.
- xla (XLA-compile each replica's forward and backward pass): on for TPUs and GPUs, off for
  CPUs. On this project's 2-core AMD EPYC, XLA cut the CPU time of a step by 13-25%, but its
  compilation took 30-60 s of a shared machine (more than it saved in the embedded default's
  500 steps), and its kernels on small tensors ran on fewer cores than TensorFlow's own ops,
  so wall-clock steps were not faster (docs/pretrain.md, "Speed"). `xla: true` still pays
  off for long CPU runs on an otherwise idle machine.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import sys

from krelectra import kernels
from krelectra.errors import KrelectraError

log = logging.getLogger(__name__)
AUTO = "auto"
MIN_BF16_GPU_CAPABILITY = (8, 0)  # Ampere: bfloat16 tensor cores
SLURM_PORT_BASE = 23456  # a task's gRPC port under srun: this + its index on the node


@dataclasses.dataclass(frozen=True)
class Settings:
    """The resolved `pretrain.xla` and `pretrain.mixed_precision` of a run, and the device
    kind ("TPU", "GPU" or "CPU") they were resolved for."""

    xla: bool
    mixed_precision: bool
    device: str


def configure(threads: int, inter_op_threads: int | None = None) -> None:
    """Set up TensorFlow for pretraining on this machine; call it before TensorFlow is imported.

    - Pools TensorFlow's CPU memory (TF_CPU_ALLOCATOR_USE_BFC=true, unless the environment
      says otherwise): without it every large tensor (the [positions, vocabulary] logits of
      the generator are 73 MB at the recipe's sizes) is fresh memory from the system, and
      its page faults doubled the time of the elementwise ops on them on this project's
      machine.
    - `threads` > 0: intra-op threads, and `inter_op_threads` (default min(threads, 2))
      inter-op threads; 0 leaves TensorFlow's defaults (all cores).
    """
    if "tensorflow" in sys.modules:
        log.debug("TensorFlow is already imported: its CPU allocator is left as it is")
    else:
        os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")
    if threads > 0:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(
            inter_op_threads if inter_op_threads is not None else min(threads, 2)
        )


def device_kind(strategy_name: str) -> str:
    """ "TPU" for the tpu strategy, "GPU" when TensorFlow sees a GPU, else "CPU"."""
    if strategy_name == "tpu":
        return "TPU"
    import tensorflow as tf

    return "GPU" if tf.config.list_physical_devices("GPU") else "CPU"


def gpus_have_bf16() -> bool:
    """Whether every visible GPU has bfloat16 tensor cores (compute capability >= 8.0)."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    capabilities = [tf.config.experimental.get_device_details(gpu).get("compute_capability") for gpu in gpus]
    return bool(gpus) and all(c is not None and tuple(c) >= MIN_BF16_GPU_CAPABILITY for c in capabilities)


def resolve_settings(config) -> Settings:
    """`config.xla` and `config.mixed_precision` (a PretrainConfig) with "auto" resolved for
    the device of `config.strategy` (rules in the module docstring)."""
    device = device_kind(config.strategy)
    if config.mixed_precision == AUTO:
        bf16 = {"TPU": True, "GPU": device == "GPU" and gpus_have_bf16(), "CPU": kernels.cpu_has_bf16()}[device]
    else:
        bf16 = bool(config.mixed_precision)
    xla = device != "CPU" if config.xla == AUTO else bool(config.xla)
    return Settings(xla=xla, mixed_precision=bf16, device=device)


def multiworker_cluster_resolver():
    """The cluster of a `multiworker` run, for tf.distribute.MultiWorkerMirroredStrategy.

    - TF_CONFIG set (one per worker, {"cluster": {"worker": [host:port, ...]}, "task": ...}):
      that cluster.
    - Else, inside a SLURM job step of several tasks (`srun`, one task per worker): one
      worker per task, from SLURM_PROCID, SLURM_STEP_NODELIST and SLURM_STEP_TASKS_PER_NODE
      (tf.distribute's SlurmClusterResolver), each listening on KRELECTRA_PORT_BASE (default
      23456) + its index on its node. On GPU nodes each task also gets its share of the GPUs.

    Raises KrelectraError when there is neither (MultiWorkerMirroredStrategy would silently
    train alone)."""
    import tensorflow as tf

    resolvers = tf.distribute.cluster_resolver

    if os.environ.get("TF_CONFIG"):
        return resolvers.TFConfigClusterResolver()
    tasks = int(os.environ.get("SLURM_STEP_NUM_TASKS", "1"))
    if tasks < 2:
        raise KrelectraError(
            "pretrain.strategy=multiworker: no cluster to join: set TF_CONFIG on every worker, or start "
            "one task per worker with srun (docs/pretrain.md, docs/slurm.md)"
        )
    port_base = int(os.environ.get("KRELECTRA_PORT_BASE", SLURM_PORT_BASE))
    if os.environ.get("CUDA_VISIBLE_DEVICES") is not None or shutil.which("nvidia-smi"):
        return resolvers.SlurmClusterResolver(port_base=port_base)
    # CPU nodes: SlurmClusterResolver lays tasks out along GPU slots; give it one slot per
    # task, leave CUDA_VISIBLE_DEVICES alone, and tell the strategy there is no GPU.
    slurm = resolvers.SlurmClusterResolver(
        port_base=port_base, gpus_per_node=tasks, gpus_per_task=1, auto_set_gpu=False
    )
    spec = slurm.cluster_spec()
    return resolvers.SimpleClusterResolver(
        spec, task_type=slurm.task_type, task_id=slurm.task_id, num_accelerators={"GPU": 0}, rpc_layer="grpc"
    )
