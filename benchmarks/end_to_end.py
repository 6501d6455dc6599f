"""Wall time of the main command on the embedded default, from a clean copy of the
project: `snakemake --cores N paper/tables`, then the same command again with nothing
changed (which must do no work).

The copy runs this checkout's code: its workflow files, and its `src/` first on
PYTHONPATH for every `krelectra` command the rules call. So running this script from
another checkout (a `git worktree` of an older commit) measures that commit, on the same
machine. Besides the two wall times it prints, from the rules' benchmark files, the
seconds (wall and CPU) each stage's jobs took, summed over the stage's jobs.

    python benchmarks/end_to_end.py [--cores 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
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
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")])))
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", str(cores), "paper/tables"],
        cwd=work,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def stage_seconds(benchmarks: Path) -> dict[str, list[float]]:
    """Stage (the rule's benchmark folder, e.g. "finetune" or "pretrain/model") -> [jobs,
    wall seconds, CPU seconds], summed over the stage's benchmark files."""
    stages: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for path in sorted(benchmarks.rglob("*.tsv")):
        parts = path.relative_to(benchmarks).parts
        stage = parts[0] if parts[0] in ("finetune", "corpus") else "/".join(parts[:2]).removesuffix(".tsv")
        with open(path, encoding="utf-8") as handle:
            row = next(csv.DictReader(handle, delimiter="\t"))
        total = stages[stage]
        total[0] += 1
        total[1] += float(row["s"])
        total[2] += float(row.get("cpu_time") or 0.0)
    return dict(stages)


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
        stages = stage_seconds(work / "results" / "benchmarks")
    print(f"code: {REPO}")
    print(f"paper/tables from raw text on {args.cores} cores: {first / 60:.1f} min ({first:.0f} s)")
    print(f"the same command again, nothing changed: {again:.1f} s")
    print("job seconds per stage (jobs, wall, CPU):")
    for stage, (jobs, wall, cpu) in sorted(stages.items(), key=lambda item: -item[1][1]):
        print(f"  {stage:20s} {jobs:3.0f} {wall:8.1f} {cpu:8.1f}")


if __name__ == "__main__":
    main()
