"""Wall time of the main command on the embedded default, from a clean copy of the
project: `snakemake --cores N paper/tables`, then the same command again with nothing
changed (which must do no work).

The copy runs this checkout's code: its workflow files, and its `src/` first on
PYTHONPATH for every `krelectra` command the rules call. Besides the wall times it prints,
from the rules' benchmark files, the seconds (wall and CPU) each stage's jobs took, summed
over the stage's jobs, and when each stage's first job started and its last one ended
(seconds from the start: the critical path).

With `--baseline REF` it measures a commit against this checkout in one run: a
`git worktree` of REF (its workflow files and its `src/`, the same Python environment),
the two sides alternating round by round (`--rounds`, each a fresh copy), and prints
the medians and their ratio (baseline time / this checkout's time: above 1 is faster).

    python benchmarks/end_to_end.py [--cores 2] [--keep DIR]
    python benchmarks/end_to_end.py --baseline main --rounds 3
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PARTS = ["Snakefile", "workflow", "config", "resources", "profiles", "envs", "paper"]


def copy_project(source_tree: Path, dest: Path) -> None:
    for part in PARTS:
        source = source_tree / part
        if source.is_dir():
            shutil.copytree(
                source, dest / part, ignore=shutil.ignore_patterns("__pycache__", "tables", "figures", "main.pdf")
            )
        else:
            shutil.copy2(source, dest / part)


def timed_snakemake(work: Path, code: Path, cores: int) -> float:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(code / "src"), os.environ.get("PYTHONPATH")])))
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
    wall seconds, CPU seconds, first start, last end], summed over the stage's benchmark
    files; start and end in seconds from the earliest job's start (a job's end is its
    benchmark file's modification time, its start that less its wall seconds)."""
    stages: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0, float("inf"), 0.0])
    for path in sorted(benchmarks.rglob("*.tsv")):
        parts = path.relative_to(benchmarks).parts
        stage = parts[0] if parts[0] in ("finetune", "corpus") else "/".join(parts[:2]).removesuffix(".tsv")
        with open(path, encoding="utf-8") as handle:
            row = next(csv.DictReader(handle, delimiter="\t"))
        total = stages[stage]
        wall, end = float(row["s"]), path.stat().st_mtime
        total[0] += 1
        total[1] += wall
        total[2] += float(row.get("cpu_time") or 0.0)
        total[3] = min(total[3], end - wall)
        total[4] = max(total[4], end)
    origin = min((total[3] for total in stages.values()), default=0.0)
    for total in stages.values():
        total[3] -= origin
        total[4] -= origin
    return dict(stages)


def measure(code: Path, cores: int, keep: Path | None) -> tuple[float, float, dict]:
    """(first run's seconds, second run's seconds, stage_seconds) of `code`'s workflow in a
    fresh copy (kept in `keep` when given)."""
    with tempfile.TemporaryDirectory() as tmp:
        work = keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        copy_project(code, work)
        first = timed_snakemake(work, code, cores)
        again = timed_snakemake(work, code, cores)
        return first, again, stage_seconds(work / "results" / "benchmarks")


def print_stages(stages: dict) -> None:
    print("job seconds per stage (jobs, wall, CPU; first start and last end, s from the start):")
    for stage, (jobs, wall, cpu, start, end) in sorted(stages.items(), key=lambda item: -item[1][1]):
        print(f"  {stage:20s} {jobs:3.0f} {wall:8.1f} {cpu:8.1f}   {start:6.1f} {end:6.1f}")


def machine() -> str:
    from krelectra.manifest.machine import describe_machine

    described = describe_machine()
    isa = [flag for flag in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if flag in described["isa_flags"]]
    return f"{described['cpu']}, {described['cpus']} CPUs ({' '.join(isa)}); load average {os.getloadavg()[0]:.1f}"


@contextlib.contextmanager
def worktree(ref: str):
    """A detached `git worktree` of `ref`, removed afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "baseline"
        add = ["git", "worktree", "add", "--detach", str(path), ref]
        subprocess.run(add, cwd=REPO, check=True, capture_output=True)
        try:
            yield path
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=REPO, check=False)


def compare(ref: str, rounds: int, cores: int, keep: Path | None) -> None:
    commit = subprocess.run(["git", "rev-parse", "--short", ref], cwd=REPO, check=True, capture_output=True, text=True)
    times: dict[str, list[float]] = {"baseline": [], "ours": []}
    with worktree(ref) as baseline:
        sides = {"baseline": baseline, "ours": REPO}
        for round_ in range(rounds):
            for side in ("baseline", "ours") if round_ % 2 == 0 else ("ours", "baseline"):
                last_ours = side == "ours" and round_ == rounds - 1
                first, _, stages = measure(sides[side], cores, keep if last_ours else None)
                times[side].append(first)
                print(f"round {round_ + 1} {side}: {first:.0f} s ({machine()})", flush=True)
                if round_ == rounds - 1:
                    print(f"{side}, ", end="")
                    print_stages(stages)
    base, ours = statistics.median(times["baseline"]), statistics.median(times["ours"])
    print(f"baseline {ref} ({commit.stdout.strip()}): median {base:.0f} s of {rounds}")
    print(f"this checkout ({REPO}): median {ours:.0f} s of {rounds}")
    print(f"ratio (baseline / this checkout): {base / ours:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument(
        "--keep", type=Path, help="run in this folder and keep it (with --baseline: this checkout's last run)"
    )
    parser.add_argument("--baseline", metavar="REF", help="a git commit to measure against this checkout")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each side with --baseline (default 3)")
    args = parser.parse_args()
    if args.baseline:
        compare(args.baseline, args.rounds, args.cores, args.keep)
        return
    first, again, stages = measure(REPO, args.cores, args.keep)
    print(f"code: {REPO}")
    print(f"machine: {machine()}")
    print(f"paper/tables from raw text on {args.cores} cores: {first / 60:.1f} min ({first:.0f} s)")
    print(f"the same command again, nothing changed: {again:.1f} s")
    print_stages(stages)


if __name__ == "__main__":
    main()
