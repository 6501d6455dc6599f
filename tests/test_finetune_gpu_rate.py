"""benchmarks/finetune_gpu_rate.py runs end to end on a CPU with tiny settings (a smoke
test of the script: its GPU figures come from a GPU run, README "What it costs")."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "finetune_gpu_rate.py"


def test_one_job_and_concurrent_jobs_on_cpu_with_a_tiny_model():
    args = ["--device", "cpu", "--tiny", "--rounds", "1", "--steps", "1", "--concurrent", "2", "--options", ""]
    result = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    for step in (
        "train: sentence classification | 4 × 32",
        "train: KorQuAD | 1 × 128",
        "score: forward only | 16 × 32",
    ):
        assert re.search(rf"\| {re.escape(step)} \| [\d.]+ ms \| [\d,]+ \|", out), out
    # One job (always measured: the speed-ups are against it) and two at once.
    rows = re.findall(r"^\| (\d) \| ([\d,]+) \| ([\d,]+) \| ([\d.]+)x \|", out, flags=re.MULTILINE)
    assert [row[0] for row in rows] == ["1", "2"], out
    assert rows[0][3] == "1.00"
    total, per_job = (int(v.replace(",", "")) for v in rows[1][1:3])
    assert total > 0 and abs(total - 2 * per_job) <= 2


def test_asking_for_a_gpu_without_one_says_how_to_run_on_cpu():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is here")
    result = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "no CUDA GPU: --device cpu" in result.stderr


def option_rows(out: str) -> list[tuple[str, float, float]]:
    """(option, steps / s, ratio vs baseline) of each row of the options table."""
    rows = re.findall(
        r"^\| ([a-z-]+) \| [\d.]+ ms \| ([\d.]+) \| [\d,]+ \| [\d.]+% \| ([\d.]+)x \| [\d.]+ \|$",
        out,
        flags=re.MULTILINE,
    )
    return [(name, float(rate), float(ratio)) for name, rate, ratio in rows]


def run_options(options: str, *extra: str) -> str:
    args = ["--device", "cpu", "--tiny", "--rounds", "2", "--steps", "1", "--warmup-steps", "1", "--concurrent", ""]
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *args, "--options", options, *extra], capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.mark.slow
def test_the_options_table_measures_each_option_against_the_baseline_of_the_same_run():
    out = run_options("workers,no-nan-filter", "--concurrent", "2", "--concurrent-option", "no-nan-filter")
    rows = option_rows(out)
    # the baseline first even when not asked for, then the options in the order asked
    assert [row[0] for row in rows] == ["baseline", "workers", "no-nan-filter"], out
    assert rows[0][2] == 1.0
    for _, rate, ratio in rows[1:]:
        assert ratio == pytest.approx(rate / rows[0][1], rel=0.02, abs=0.01)
    assert "4 × up to 32" in out  # the tiny sentence-classification batch
    # k jobs at once, each the harness's Trainer job with the option asked for
    assert "(4 × 32; krelectra's Trainer, option no-nan-filter, random lengths, non-padding tokens)" in out
    jobs = re.findall(r"^\| (\d) \| ([\d,]+) \| ([\d,]+) \| ([\d.]+)x \|", out, flags=re.MULTILINE)
    assert [row[0] for row in jobs] == ["1", "2"] and jobs[0][3] == "1.00", out


def test_an_unknown_option_is_refused_with_the_known_ones():
    args = ["--device", "cpu", "--tiny", "--rounds", "1", "--steps", "1", "--concurrent", "", "--options", "fast"]
    result = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=600)
    assert result.returncode == 2
    assert "--options: unknown fast; expected 'all' or some of baseline, eager" in result.stderr
    args[-1:] = ["all", "--concurrent-option", "fast"]
    result = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=600)
    assert result.returncode == 2 and "--concurrent-option: unknown fast; expected one of baseline" in result.stderr


@pytest.mark.slow
def test_every_option_runs_on_cpu_with_a_tiny_model():
    """All rows, torch.compile included (backend aot_eager: inductor's code generation would
    take minutes on a CPU; the GPU run uses inductor, the Trainer's default)."""
    out = run_options("all", "--compile-backend", "aot_eager")
    names = [row[0] for row in option_rows(out)]
    assert names == ["baseline", "eager", "no-nan-filter", "workers", "compile", "compile-buckets", "all"], out
