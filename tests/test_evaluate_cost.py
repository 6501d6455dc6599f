"""The README's per-task GPU cost estimate for evaluating an encoder (benchmarks/evaluate_cost.py):
its formula on KR-ELECTRA's settings, and the README table as the script prints it."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def evaluate_cost():
    spec = importlib.util.spec_from_file_location("evaluate_cost", REPO / "benchmarks" / "evaluate_cost.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_korsts_tokens_and_flops_follow_the_stated_formula(evaluate_cost):
    # KorSTS: 10 epochs at max length 128, batch 32 (spec: KR-ELECTRA's per-task
    # hyperparameters); 5,750 training and 1,500 + 1,380 scored examples (the approximate
    # public sizes assumed): 180 steps an epoch, 1,800 in all; save_steps 100 (spec, "Which
    # checkpoints"): 18 scoring passes, the last at the last step, so every epoch trains.
    # Base encoder, 12 layers x 768: F = 2 x 12 x (12 x 768^2 + 2 x 128 x 768) = 174,587,904.
    cost = evaluate_cost.task_cost("korsts")
    assert cost["passes"] == 18
    assert cost["tokens"] == 128 * (10 * 5_750 + 18 * 2_880)
    assert cost["flops"] == 128 * (10 * 5_750 * 3 + 18 * 2_880) * 174_587_904
    # KorQuAD: 7 epochs at 512, batch 8: 7,875 steps an epoch, 55,125 in all; save_steps
    # 1000: 55 passes, training stops at step 55,000 (440,000 windows); its attention term
    # grows with the length.
    korquad = evaluate_cost.task_cost("korquad")
    assert korquad["passes"] == 55
    assert korquad["flops"] == 512 * (440_000 * 3 + 55 * 12_300) * 2 * 12 * (12 * 768**2 + 2 * 512 * 768)


def test_the_readme_shows_the_scripts_table(evaluate_cost):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = evaluate_cost.table(989e12)
    assert table in readme
    assert re.search(r"an ESTIMATE", readme) and "989 TFLOP/s" in readme
