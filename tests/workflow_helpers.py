"""Running the real Snakemake workflow in a temporary copy of the project."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORKFLOW_PARTS = ["Snakefile", "workflow", "config", "resources", "profiles", "envs", "paper"]
# Generated under paper/: never copied, a test run makes its own.
GENERATED = shutil.ignore_patterns("__pycache__", "tables", "figures", "main.pdf")


def copy_workflow(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for part in WORKFLOW_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, dest / part, ignore=GENERATED)
        else:
            shutil.copy2(source, dest / part)
    return dest


def snakemake(workdir: Path, *args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    """`snakemake ARGS` in `workdir` with the hub offline (and `env` on top of os.environ)."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", **(env or {}))
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", *args], cwd=workdir, env=env, capture_output=True, text=True
    )
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result
