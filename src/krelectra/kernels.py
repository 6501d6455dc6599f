"""One choice of CPU math kernels on every x86-64 machine: `cpu_kernels: portable`.

TensorFlow and PyTorch pick their CPU kernels by the instruction set of the machine they
run on, and kernels for other instruction sets add floating-point numbers in another
order. Training amplifies those last-bit differences: the embedded default gave PAWS test
accuracy 74 on an Intel Xeon with AVX-512 and AMX and 53 on an AMD EPYC with AVX2 (same
commit, same seed), while two runs on one machine are byte-identical.

What we measured on the AMD EPYC (AVX2 + FMA, no AVX-512), a 30-step pretraining run of a
tiny model and a 3-epoch PAWS finetuning run, comparing checkpoint bytes and losses:

- TensorFlow's matrix products run oneDNN's JIT sgemm (also with oneDNN's graph ops off):
  capping oneDNN at SSE4.1 (`ONEDNN_MAX_CPU_ISA=SSE41`) changed the checkpoint bytes,
  capping it at AVX2 (this CPU's own level) did not.
- `TF_ENABLE_ONEDNN_OPTS=0` changed nothing here: TensorFlow turns its oneDNN graph ops on
  by default only on CPUs with AVX512_VNNI, AVX512_BF16 or AMX (TensorFlow 2.9 release
  notes), i.e. on the Intel machine but not on this one.
- The pretraining thread count changes the checkpoint bytes (1 against 2 threads).
- PyTorch, one thread: `ATEN_CPU_CAPABILITY=default` and `MKL_CBWR` (COMPATIBLE, AVX2,
  AUTO) left the finetuning run unchanged on this AMD CPU, and a 40-step AdamW run of a
  256-512-10 MLP with GELU and LayerNorm gave the same weights with and without the pins.
- PyTorch, two threads: that MLP's weights differ from the one-thread run, and
  `MKL_CBWR=AVX2` changes them (MKL's multi-threaded products then take the reproducible
  branch), so there portable and native differ on this CPU too.

`portable` therefore pins each library to the AVX2 + FMA kernels every x86-64 CPU since
2015 has (the variables below, set before TensorFlow or PyTorch is imported); `native`
leaves the libraries' own choice (fastest: AVX-512, AMX and bfloat16 where the CPU has
them). On this AMD machine both give the same bytes for TensorFlow and for one-thread
PyTorch (the embedded default finetunes with one thread). That an AVX-512 machine with
`portable` gives the bytes of this one is what the pins are for, but it is not verified
here (no such machine was available): the README says which results are byte-identical
where.

What we measured later on an AMD EPYC with AVX-512 and AVX512-BF16 (no AMX), the
embedded default with `portable`, comparing the manifests of whole runs
(krelectra.manifest): every rule's outputs equal those of another such machine. Capping
every library there at AVX2 as well (oneDNN, XLA, ATen, MKL's `MKL_ENABLE_INSTRUCTIONS`,
numpy's OpenBLAS core type and dispatch, glibc's hwcaps) left every weight and prediction
equal and changed the bytes of two outputs only, which `portable` did not reach: the
conversion check (TensorFlow's and PyTorch's logits on a fixed batch, whose largest |logit|
and difference go into verification.json and the model cards; the conversion ran with the
machine's own kernels) and the KorSTS metrics and their bootstrap (scipy's pearsonr through
numpy's OpenBLAS, in the last bit). Now `krelectra convert` and `krelectra paper
uncertainty` take `--cpu-kernels` too, and portable sets OPENBLAS_CORETYPE. The AVX2
machine above gave other finetuning scores for the same commit; the caps reproduce nothing
of that difference, so it is not the instruction sets these variables pin. `--xla_cpu_max_isa=AVX2`
is added for `pretrain.xla: true` (XLA is off on CPUs under `auto`); a small XLA-compiled
function gave the same bytes with and without it there (XLA prefers 256-bit vectors by
default).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from krelectra.errors import KrelectraError

log = logging.getLogger(__name__)

PORTABLE = "portable"
NATIVE = "native"
CHOICES = (PORTABLE, NATIVE)
REQUIRED_FLAGS = ("avx2", "fma")  # /proc/cpuinfo names
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")  # /proc/cpuinfo names of bfloat16 arithmetic

# Environment variable -> value; each library reads it when it loads.
PORTABLE_ENV = {
    # TensorFlow's oneDNN graph ops (on by default only on AVX-512 VNNI/BF16 and AMX CPUs).
    "TF_ENABLE_ONEDNN_OPTS": "0",
    # oneDNN's JIT kernels, in TensorFlow's sgemm and PyTorch's oneDNN ops: at most AVX2.
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    # PyTorch's vectorised ATen kernels: the AVX2 build.
    "ATEN_CPU_CAPABILITY": "avx2",
    # MKL (PyTorch's BLAS): its conditional numerical reproducibility branch for AVX2.
    "MKL_CBWR": "AVX2",
    # OpenBLAS (numpy's and scipy's BLAS, read when numpy loads): its Haswell (AVX2 + FMA)
    # kernels. On the AVX-512 EPYC it picks SkylakeX, and scipy's pearsonr of the KorSTS
    # predictions differed in the last bit between the two (the finetuning metrics and the
    # bootstrap of the embedded default).
    "OPENBLAS_CORETYPE": "Haswell",
}
# XLA's CPU code generation (`pretrain.xla: true`; `auto` leaves XLA off on CPUs) at most
# AVX2: a flag among the others of XLA_FLAGS, which portable adds to (TensorFlow 2.21's XLA
# accepts it; an unknown flag would stop TensorFlow at the first compilation).
XLA_FLAG_NAME = "--xla_cpu_max_isa"
PORTABLE_XLA_FLAG = f"{XLA_FLAG_NAME}=AVX2"


def _xla_flags_with_portable(flags: str) -> str:
    """XLA_FLAGS with any other `--xla_cpu_max_isa` replaced by the portable one."""
    kept = [flag for flag in flags.split() if flag.split("=", 1)[0] != XLA_FLAG_NAME]
    return " ".join([*kept, PORTABLE_XLA_FLAG])


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str] | None:
    """The CPU's feature flags from Linux's /proc/cpuinfo (its first "flags" line), or None
    where they cannot be read (not Linux, or not x86)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return None


def portable_active() -> bool:
    """Whether this process runs with the portable kernels (every `PORTABLE_ENV` variable set
    to its value, and XLA_FLAGS holding `PORTABLE_XLA_FLAG`)."""
    return all(os.environ.get(name) == value for name, value in PORTABLE_ENV.items()) and (
        PORTABLE_XLA_FLAG in os.environ.get("XLA_FLAGS", "").split()
    )


def cpu_has_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether the CPU has bfloat16 arithmetic (AMX-BF16 or AVX512-BF16) that this process
    may use: False where the flags cannot be read (not Linux) and under `cpu_kernels:
    portable`, which caps the kernels at AVX2. Both stages' `auto` precision asks this."""
    flags = cpu_flags(cpuinfo) or set()
    return not portable_active() and any(flag in flags for flag in BF16_CPU_FLAGS)


def use(choice: str, cpuinfo: Path = Path("/proc/cpuinfo")) -> dict[str, str]:
    """Apply the `cpu_kernels` choice to this process; call it before TensorFlow or PyTorch
    is imported. Returns the variables set ({} for native): `PORTABLE_ENV` and XLA_FLAGS.

    `portable` overrides these variables where the environment sets them otherwise (with a
    warning naming each), since one kernel choice is its point.

    Raises KrelectraError for an unknown choice, for portable when TensorFlow or PyTorch is
    already imported (the variables would not take effect), and for portable on a CPU
    without AVX2 and FMA or whose flags cannot be read (portable is defined for x86-64
    Linux; use native there).
    """
    if choice not in CHOICES:
        raise KrelectraError(f"cpu_kernels: {choice!r} is not one of {', '.join(CHOICES)}")
    if choice == NATIVE:
        return {}
    if portable_active():
        return {**PORTABLE_ENV, "XLA_FLAGS": os.environ["XLA_FLAGS"]}
    loaded = [name for name in ("tensorflow", "torch") if name in sys.modules]
    if loaded:
        raise KrelectraError(
            f"cpu_kernels: portable must be chosen before {' and '.join(loaded)} is imported "
            "(the libraries read their kernel settings when they load)"
        )
    flags = cpu_flags(cpuinfo)
    if flags is None:
        raise KrelectraError(
            f"cpu_kernels: portable pins x86-64 kernels, but {cpuinfo} gives no CPU flags "
            "(not x86-64 Linux?); use cpu_kernels: native"
        )
    missing = [flag for flag in REQUIRED_FLAGS if flag not in flags]
    if missing:
        raise KrelectraError(
            f"cpu_kernels: portable pins the AVX2 + FMA kernels, but this CPU lacks {', '.join(missing)}; "
            "use cpu_kernels: native"
        )
    for name, value in PORTABLE_ENV.items():
        if os.environ.get(name) not in (None, value):
            log.warning("cpu_kernels portable: %s=%s replaced by %s", name, os.environ[name], value)
    os.environ.update(PORTABLE_ENV)
    before = os.environ.get("XLA_FLAGS", "")
    xla_flags = _xla_flags_with_portable(before)
    if any(flag.split("=", 1)[0] == XLA_FLAG_NAME and flag != PORTABLE_XLA_FLAG for flag in before.split()):
        log.warning("cpu_kernels portable: XLA_FLAGS %s replaced by %s", before, xla_flags)
    os.environ["XLA_FLAGS"] = xla_flags
    return {**PORTABLE_ENV, "XLA_FLAGS": xla_flags}
