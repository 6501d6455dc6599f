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
    # KorSTS: 10 epochs at max length 128 (spec: KR-ELECTRA's per-task hyperparameters);
    # 5,750 training and 1,500 + 1,380 scored examples (the approximate public sizes assumed).
    # Base encoder, 12 layers x 768: F = 2 x 12 x (12 x 768^2 + 2 x 128 x 768) = 174,587,904.
    cost = evaluate_cost.task_cost("korsts")
    assert cost["tokens"] == 10 * 128 * (5_750 + 2_880)
    assert cost["flops"] == 10 * 128 * (5_750 * 3 + 2_880) * 174_587_904
    # KorQuAD: 7 epochs at 512; its attention term grows with the length.
    korquad = evaluate_cost.task_cost("korquad")
    assert korquad["flops"] == 7 * 512 * (63_000 * 3 + 12_300) * 2 * 12 * (12 * 768**2 + 2 * 512 * 768)


def test_the_readme_shows_the_scripts_table(evaluate_cost):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = evaluate_cost.table(989e12)
    assert table in readme
    assert re.search(r"an ESTIMATE", readme) and "989 TFLOP/s" in readme
