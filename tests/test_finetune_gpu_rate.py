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
    args = ["--device", "cpu", "--tiny", "--rounds", "1", "--steps", "1", "--concurrent", "2"]
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
