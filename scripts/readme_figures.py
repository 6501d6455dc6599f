"""Measure the figures README.md and CONTRIBUTING.md state, on this commit, and rewrite
their marked blocks.

A marked block is the text between two HTML comments (invisible in the rendered page):

    <!-- figures:NAME begin -->
    ... written by this script: the figure, the command that measured it, the commit,
    the date, the CPU and the load on the machine ...
    <!-- figures:NAME end -->

Each NAME in MEASUREMENTS is measured alone (`python scripts/readme_figures.py NAME`),
in a fresh `git clone` of the committed HEAD (so uncommitted changes are refused: the
figures are the commit's), exactly as a new user runs the command, and only its blocks
are rewritten. Run it before a release, on a machine doing nothing else.

    python scripts/readme_figures.py --list           the blocks and their commands
    python scripts/readme_figures.py --check          every block is known and names its command
    python scripts/readme_figures.py quickstart       measure one block and rewrite it
    python scripts/readme_figures.py --all            measure every block (about 45 min on 2 cores)
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[1]
DOCUMENTS = ("README.md", "CONTRIBUTING.md")
# A marker is a line of its own (a marker quoted inside a sentence is text).
BLOCK = re.compile(
    r"^<!-- figures:(?P<name>[\w-]+) begin -->\n(?P<body>.*?)^<!-- figures:(?P=name) end -->$", re.S | re.M
)
MARKER = re.compile(r"^<!-- figures:(?P<name>[\w-]+) (?P<kind>begin|end) -->$", re.M)
# The CPU features that decide which math kernels TensorFlow and PyTorch use (README, "What
# is byte-identical where").
CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")


class Measurement(NamedTuple):
    """One block: `command` is what a user types (the block must name it); `measure(clone)`
    runs it in a fresh clone and returns the block's sentence of figures."""

    command: str
    measure: Callable[[Path], str]


def duration(seconds: float) -> str:
    """`seconds` as "3 min 05 s" or "48 s"."""
    seconds = round(seconds)
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def timed(command: list[str], cwd: Path, first_line: str | None = None, env: dict | None = None) -> tuple[float, float]:
    """Run `command` in `cwd` (output on this terminal too); return (wall seconds, seconds
    until a line containing `first_line` appeared, or nan). Raises CalledProcessError."""
    start, marked = time.perf_counter(), float("nan")
    with subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            sys.stdout.write(line)
            if first_line and math.isnan(marked) and first_line in line:
                marked = time.perf_counter() - start
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, command)
    return time.perf_counter() - start, marked


def measure_quickstart(clone: Path) -> str:
    total, install = timed(["bash", "scripts/quickstart.sh"], clone, first_line="Building DAG of jobs")
    again, _ = timed(["bash", "scripts/quickstart.sh"], clone)
    return (
        f"`bash scripts/quickstart.sh` from a fresh `git clone` took {duration(total)}: installing "
        f"{duration(install)}, the workflow (`snakemake --cores all paper_tables paper_figures`, raw "
        f"text to tables and figures) {duration(total - install)}. Run again with nothing changed: "
        f'{duration(again)} (the install check and Snakemake\'s "Nothing to be done").'
    )


def measure_workflow(clone: Path) -> str:
    output = subprocess.run(
        [sys.executable, "benchmarks/end_to_end.py", "--cores", "2"], cwd=clone, check=True, capture_output=True
    ).stdout.decode()
    sys.stdout.write(output)
    first = re.search(r"raw text on \d+ cores: [\d.]+ min \((\d+) s\)", output)
    again = re.search(r"nothing changed: ([\d.]+) s", output)
    stages = re.findall(r"^\s+(\S+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)(?:\s+[\d.]+\s+[\d.]+)?$", output, re.M)
    if not (first and again and stages):
        raise SystemExit(f"benchmarks/end_to_end.py: unexpected output\n{output}")
    longest = ", ".join(f"{stage} {duration(float(wall))} ({jobs} jobs)" for stage, jobs, wall, _ in stages[:3])
    return (
        f"`python benchmarks/end_to_end.py --cores 2` (`snakemake --cores 2 paper/tables` from raw text in "
        f"a clean copy): {duration(float(first.group(1)))}; again with nothing changed {again.group(1)} s. "
        f"Job time by stage, longest first: {longest}."
    )


def _lane(clone: Path, marker: str) -> str:
    # test.sh installs the test extra (and the system packages it may), then runs pytest.
    subprocess.run(["bash", "scripts/test.sh", "--collect-only", "-q"], cwd=clone, check=True, capture_output=True)
    first, _ = timed(["bash", "scripts/test.sh", "-m", marker], clone)
    return duration(first)


def measure_fast_lane(clone: Path) -> str:
    cold = _lane(clone, "not slow")
    warm, _ = timed(["bash", "scripts/test.sh", "-m", "not slow"], clone)
    return (
        f'Fast lane, `bash scripts/test.sh -m "not slow"` after the install: {cold} in a fresh clone '
        f"(cold mypy cache), {duration(warm)} run again."
    )


def measure_slow_lane(clone: Path) -> str:
    return f"Slow lane, `bash scripts/test.sh -m slow` after the install: {_lane(clone, 'slow')}."


MEASUREMENTS = {
    "quickstart": Measurement("bash scripts/quickstart.sh", measure_quickstart),
    "workflow": Measurement("python benchmarks/end_to_end.py --cores 2", measure_workflow),
    "fast-lane": Measurement('bash scripts/test.sh -m "not slow"', measure_fast_lane),
    "slow-lane": Measurement("bash scripts/test.sh -m slow", measure_slow_lane),
}


def machine() -> str:
    """The CPU model, its core count and kernel-relevant flags (/proc/cpuinfo on Linux)."""
    model, flags = "unknown CPU", set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        text = cpuinfo.read_text()
        found = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
        model = found.group(1).strip() if found else model
        found = re.search(r"^flags\s*:\s*(.+)$", text, re.M)
        flags = set(found.group(1).split()) if found else flags
    present = [flag for flag in CPU_FLAGS if flag in flags] or ["none of " + ", ".join(CPU_FLAGS)]
    return f"{model}, {os.cpu_count()} cores ({', '.join(present)})"


def stamp(commit: str, load_before: float, load_after: float) -> str:
    """Where and when: commit, UTC date, CPU, and the 1-minute load average around the run."""
    day = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    return f"Commit {commit}, {day}, {machine()}; load average {load_before:.1f} before, {load_after:.1f} after."


def rewrite_block(text: str, name: str, body: str) -> str:
    """`text` with the body of block `name` replaced by `body`. Raises ValueError when the
    block is missing or appears more than once."""
    found = [m for m in BLOCK.finditer(text) if m.group("name") == name]
    if len(found) != 1:
        raise ValueError(f"block figures:{name}: found {len(found)} times, expected once")
    match = found[0]
    return text[: match.start("body")] + body.rstrip("\n") + "\n" + text[match.end("body") :]


def check_blocks(text: str, where: str) -> list[str]:
    """Problems with the marked blocks of `text` (from file `where`): an unpaired or
    unknown marker, or a block that does not name its measurement's command."""
    problems = []
    for marker in MARKER.finditer(text):
        line = text.count("\n", 0, marker.start()) + 1
        if marker.group("kind") == "begin" and marker.group("name") not in MEASUREMENTS:
            known = ", ".join(MEASUREMENTS)
            problems.append(f"{where}:{line}: unknown block figures:{marker.group('name')} (known: {known})")
    paired = {m.group("name") for m in BLOCK.finditer(text)}
    for marker in MARKER.finditer(text):
        if marker.group("name") not in paired:
            line = text.count("\n", 0, marker.start()) + 1
            problems.append(f"{where}:{line}: figures:{marker.group('name')} {marker.group('kind')} has no partner")
    for block in BLOCK.finditer(text):
        name, line = block.group("name"), text.count("\n", 0, block.start()) + 1
        if name in MEASUREMENTS and f"`{MEASUREMENTS[name].command}`" not in block.group("body"):
            problems.append(
                f"{where}:{line}: block figures:{name} does not name its command `{MEASUREMENTS[name].command}`"
            )
    return problems


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, check=True, capture_output=True, text=True).stdout.strip()


def measure(name: str) -> str:
    """The block body of `name`, measured in a fresh clone of HEAD."""
    commit = git("rev-parse", "--short", "HEAD")
    with tempfile.TemporaryDirectory(prefix=f"readme-figures-{name}-") as tmp:
        clone = Path(tmp) / "krelectra"
        subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(clone)], check=True)
        load_before = os.getloadavg()[0]
        figures = MEASUREMENTS[name].measure(clone)
        load_after = os.getloadavg()[0]
    return f"{figures}\n{stamp(commit, load_before, load_after)}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"blocks to measure: {', '.join(MEASUREMENTS)}")
    parser.add_argument("--all", action="store_true", help="measure every block")
    parser.add_argument("--list", action="store_true", help="list the blocks and their commands")
    parser.add_argument("--check", action="store_true", help="check the blocks of README.md and CONTRIBUTING.md")
    args = parser.parse_args(argv)
    if args.list:
        for name, measurement in MEASUREMENTS.items():
            print(f"{name:12s} {measurement.command}")
        return 0
    documents = {doc: (REPO / doc).read_text(encoding="utf-8") for doc in DOCUMENTS}
    if args.check:
        problems = [p for doc, text in documents.items() for p in check_blocks(text, doc)]
        print("\n".join(problems) or "every block is known and names its command")
        return 1 if problems else 0
    names = list(MEASUREMENTS) if args.all else args.names
    unknown = [n for n in names if n not in MEASUREMENTS]
    if unknown or not names:
        parser.error(f"name one or more of {', '.join(MEASUREMENTS)} (or --all); unknown: {', '.join(unknown)}")
    if git("status", "--porcelain", "--untracked-files=no"):
        parser.error("uncommitted changes: the figures must be measured on a commit (commit or stash first)")
    for name in names:
        body = measure(name)
        for doc, text in documents.items():
            if any(block.group("name") == name for block in BLOCK.finditer(text)):
                documents[doc] = text = rewrite_block(text, name, body)
                (REPO / doc).write_text(text, encoding="utf-8")
                print(f"{doc}: figures:{name} rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
