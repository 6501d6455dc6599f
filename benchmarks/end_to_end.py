"""Wall time of the main command on the embedded default, from a clean copy of the
project: `snakemake --cores N paper/tables`, then the same command again with nothing
changed (which must do no work).

    python benchmarks/end_to_end.py [--cores 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PARTS = ["Snakefile", "workflow", "config", "resources", "profiles", "envs", "paper"]


def copy_project(dest: Path) -> None:
    for part in PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(
                source, dest / part, ignore=shutil.ignore_patterns("__pycache__", "tables", "figures", "main.pdf")
            )
        else:
            shutil.copy2(source, dest / part)


def timed_snakemake(work: Path, cores: int) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", str(cores), "paper/tables"],
        cwd=work,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        copy_project(work)
        first = timed_snakemake(work, args.cores)
        again = timed_snakemake(work, args.cores)
    print(f"paper/tables from raw text on {args.cores} cores: {first / 60:.1f} min ({first:.0f} s)")
    print(f"the same command again, nothing changed: {again:.1f} s")


if __name__ == "__main__":
    main()
