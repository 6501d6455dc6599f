"""Where a manifest was made: the CPU (model, the instruction-set flags that decide which
math kernels the libraries pick, cache sizes) and the versions of the pinned packages."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
from pathlib import Path

from krelectra import kernels

# /proc/cpuinfo flags that decide which kernels TensorFlow (oneDNN), PyTorch (ATen, MKL,
# oneDNN) and numpy (its dispatch, OpenBLAS) run.
ISA_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "amx_bf16",
    "amx_tile",
)
SYSFS_CACHES = Path("/sys/devices/system/cpu/cpu0/cache")


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name (Linux's /proc/cpuinfo), else what `platform` knows."""
    try:
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cache_sizes(root: Path = SYSFS_CACHES) -> dict[str, str]:
    """{"L1d": "32K", "L2": "1024K", ...} of the first CPU, from Linux's sysfs ({} elsewhere).
    Blocked matrix products may size their blocks by these."""
    sizes = {}
    for index in sorted(root.glob("index*")):
        try:
            level = (index / "level").read_text().strip()
            kind = (index / "type").read_text().strip()
            size = (index / "size").read_text().strip()
        except OSError:
            continue
        suffix = {"Data": "d", "Instruction": "i"}.get(kind, "")
        sizes[f"L{level}{suffix}"] = size
    return sizes


def describe_machine(cpuinfo: Path = Path("/proc/cpuinfo")) -> dict:
    """{"cpu", "isa_flags" (those of ISA_FLAGS the CPU has), "caches", "cpus", "system"}."""
    flags = kernels.cpu_flags(cpuinfo) or set()
    return {
        "cpu": cpu_model(cpuinfo),
        "isa_flags": [flag for flag in ISA_FLAGS if flag in flags],
        "caches": cache_sizes(),
        "cpus": os.cpu_count(),
        "system": f"{platform.system()} {platform.machine()}",
    }


def package_versions(distribution: str = "krelectra") -> dict[str, str]:
    """{name: installed version} of the packages `distribution` requires (pyproject's pinned
    dependencies; extras left out), and Python's and the distribution's own version."""
    versions = {"python": platform.python_version()}
    try:
        versions[distribution] = importlib.metadata.version(distribution)
        requirements = importlib.metadata.requires(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        return versions
    for requirement in requirements:
        if "extra ==" in requirement:
            continue
        name = re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0]
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return dict(sorted(versions.items()))
