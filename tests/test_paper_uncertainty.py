"""Bootstrap confidence intervals and paired bootstrap tests of the results table."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest

from krelectra.errors import KrelectraError
from krelectra.finetune import metrics
from krelectra.finetune.tasks import TASKS
from krelectra.paper.uncertainty import Run, Scorer, p_value, read_run, task_uncertainty


def run(model: str, seed: int, gold: list, predicted: list, ids=None, protocol: str = "clean") -> Run:
    return Run(path=f"{model}/{seed}", model=model, seed=seed, gold=gold, ids=ids, predictions={protocol: predicted})


def with_errors(gold: list, wrong: set[int], labels=("0", "1")) -> list:
    return [labels[1 - labels.index(g)] if i in wrong else g for i, g in enumerate(gold)]


# -- the score on a resample is the table's score -----------------------------------------


def synthetic(task: str, n: int, seed: int) -> tuple[list, list]:
    """Gold and a noisy prediction for `n` test examples of `task`."""
    rng = random.Random(seed)
    spec = TASKS[task]
    if spec.problem == "token_classification":
        gold = [[rng.choice(["O", "O", "PER-B", "PER-I", "LOC-B"]) for _ in range(6)] for _ in range(n)]
        return gold, [[t if rng.random() < 0.8 else "O" for t in tags] for tags in gold]
    if spec.problem == "regression":
        gold = [rng.uniform(0, 5) for _ in range(n)]
        return gold, [g + rng.gauss(0, 1) for g in gold]
    if spec.problem == "extractive_qa":
        gold = [[f"답 {i}", f"정답 {i}"] for i in range(n)]
        return gold, [g[0] if rng.random() < 0.5 else f"답 {i + 1}" for i, g in enumerate(gold)]
    gold = [rng.choice(spec.labels) for _ in range(n)]
    return gold, [g if rng.random() < 0.7 else rng.choice(spec.labels) for g in gold]


def library(task: str, gold: list, predicted: list) -> dict:
    if TASKS[task].problem == "extractive_qa":  # metrics.compute takes QA answers by question id
        ids = [str(i) for i in range(len(gold))]
        return metrics.compute(TASKS[task], dict(zip(ids, gold)), dict(zip(ids, predicted)))
    return metrics.compute(TASKS[task], gold, predicted)


@pytest.mark.parametrize("task", ["nsmc", "naver-ner", "korsts", "korquad", "hate-speech"])
def test_the_score_of_all_examples_is_the_mean_over_seeds_of_the_library_metric(task):
    gold, first = synthetic(task, 60, 1)
    _, second = synthetic(task, 60, 2)
    scorer = Scorer(TASKS[task], gold, [first, second])
    expected = {
        name: (library(task, gold, first)[name] + library(task, gold, second)[name]) / 2 for name in TASKS[task].metrics
    }
    assert scorer(np.arange(60)) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("task", ["naver-ner", "korsts", "hate-speech"])
def test_metrics_that_are_not_means_are_recomputed_on_the_resample(task):
    """Entity F1, correlations and macro F1 of a resample with repeated examples are the
    library's values on those examples, repeats included (not a mean of per-example parts)."""
    gold, predicted = synthetic(task, 40, 3)
    index = np.array([0, 0, 0, 5, 7, 7, 11, 19, 23, 23, 30, 31, 39, 39, 39, 2])
    expected = library(task, [gold[i] for i in index], [predicted[i] for i in index])
    assert Scorer(TASKS[task], gold, [predicted])(index) == pytest.approx(expected, abs=1e-9)


# -- intervals ---------------------------------------------------------------------------


def test_accuracy_interval_matches_the_binomial_normal_approximation():
    # 1,600 of 2,000 correct: standard error sqrt(0.8 * 0.2 / 2000) = 0.894 points, so the
    # 95% interval is about 80 ± 1.75.
    gold = ["1"] * 2000
    predicted = with_errors(gold, set(random.Random(0).sample(range(2000), 400)))
    result = task_uncertainty(TASKS["nsmc"], [run("m", 41, gold, predicted)], ["clean"], resamples=2000)
    score = result["protocols"]["clean"]["models"]["m"]["metrics"]["accuracy"]
    assert score["estimate"] == pytest.approx(80.0)
    assert score["low"] == pytest.approx(80 - 1.96 * math.sqrt(0.16 / 2000) * 100, abs=0.25)
    assert score["high"] == pytest.approx(80 + 1.96 * math.sqrt(0.16 / 2000) * 100, abs=0.25)
    assert result["protocols"]["clean"]["comparisons"] == {}  # no reference model: no test


def test_intervals_pool_the_seeds():
    """Two seeds that err on different examples: the pooled score is their mean, and its
    interval is narrower than either seed's alone (their errors partly cancel)."""
    gold = ["1"] * 1000
    a = with_errors(gold, set(range(0, 300)))
    b = with_errors(gold, set(range(700, 1000)))
    pooled = task_uncertainty(TASKS["nsmc"], [run("m", 41, gold, a), run("m", 42, gold, b)], ["clean"])
    alone = task_uncertainty(TASKS["nsmc"], [run("m", 41, gold, a)], ["clean"])
    pooled_score = pooled["protocols"]["clean"]["models"]["m"]
    alone_score = alone["protocols"]["clean"]["models"]["m"]["metrics"]["accuracy"]
    assert pooled_score["seeds"] == [41, 42]
    assert pooled_score["metrics"]["accuracy"]["estimate"] == pytest.approx(70.0)
    width = lambda s: s["high"] - s["low"]
    assert width(pooled_score["metrics"]["accuracy"]) < 0.75 * width(alone_score)


# -- paired tests ------------------------------------------------------------------------


def test_a_small_consistent_gain_is_significant_only_when_paired():
    """Model b is right wherever the reference a is, and on 15 more of 1,000 examples: the
    two intervals overlap, but on every resample b scores at least as high as a."""
    gold = ["1"] * 1000
    wrong = set(random.Random(1).sample(range(1000), 200))
    a = with_errors(gold, wrong)
    b = with_errors(gold, set(sorted(wrong)[15:]))
    result = task_uncertainty(TASKS["nsmc"], [run("a", 41, gold, a), run("b", 41, gold, b)], ["clean"], "a")
    entry = result["protocols"]["clean"]
    a_score, b_score = (entry["models"][m]["metrics"]["accuracy"] for m in ("a", "b"))
    assert b_score["low"] < a_score["high"]  # the intervals overlap
    test = entry["comparisons"]["b"]["metrics"]["accuracy"]
    assert test["difference"] == pytest.approx(1.5)
    assert test["significant"] and test["low"] > 0 and test["p_value"] < 0.05
    assert "a" not in entry["comparisons"]  # the reference is not tested against itself


def test_identical_predictions_differ_by_nothing():
    gold, predicted = synthetic("hate-speech", 200, 4)
    runs = [run("a", 41, gold, predicted), run("b", 41, gold, predicted)]
    result = task_uncertainty(TASKS["hate-speech"], runs, ["clean"], "a", resamples=300)
    test = result["protocols"]["clean"]["comparisons"]["b"]["metrics"]["macro_f1"]
    assert test == {"difference": 0.0, "low": 0.0, "high": 0.0, "p_value": 1.0, "significant": False}


def test_a_worse_model_is_significant_with_a_negative_difference():
    gold, predicted = synthetic("korsts", 300, 5)
    noisy = [p + random.Random(i).gauss(0, 3) for i, p in enumerate(predicted)]
    runs = [run("a", 1, gold, predicted), run("b", 1, gold, noisy)]
    result = task_uncertainty(TASKS["korsts"], runs, ["clean"], "a", resamples=500)
    test = result["protocols"]["clean"]["comparisons"]["b"]["metrics"]["spearman"]
    assert test["significant"] and test["high"] < 0 and test["difference"] < -10


def test_p_value_is_twice_the_smaller_tail():
    assert p_value(np.array([1.0, 2.0, 3.0, -1.0])) == 0.5
    assert p_value(np.array([1.0, 2.0])) == 0.0
    assert p_value(np.array([0.0, 0.0])) == 1.0
    assert p_value(np.array([1.0, np.nan])) is None


def test_results_are_reproducible_and_the_same_in_several_processes():
    gold, predicted = synthetic("naver-ner", 80, 6)
    _, other = synthetic("naver-ner", 80, 7)
    runs = [run("a", 41, gold, predicted), run("b", 41, gold, other)]
    once = task_uncertainty(TASKS["naver-ner"], runs, ["clean"], "a", resamples=200, seed=3)
    again = task_uncertainty(TASKS["naver-ner"], runs, ["clean"], "a", resamples=200, seed=3, threads=2)
    other_seed = task_uncertainty(TASKS["naver-ner"], runs, ["clean"], "a", resamples=200, seed=4)
    assert once == again
    assert once["protocols"] != other_seed["protocols"]


def test_a_constant_prediction_gives_no_correlation_interval():
    gold, _ = synthetic("korsts", 50, 8)
    result = task_uncertainty(TASKS["korsts"], [run("a", 1, gold, [2.5] * 50)], ["clean"], resamples=100)
    assert result["protocols"]["clean"]["models"]["a"]["metrics"]["spearman"] == {
        "estimate": None,
        "low": None,
        "high": None,
    }


# -- bad input ---------------------------------------------------------------------------


def test_models_scored_on_different_test_examples_are_refused():
    gold, predicted = synthetic("nsmc", 20, 9)
    other_gold = list(reversed(gold))
    with pytest.raises(KrelectraError, match="not the same test examples"):
        task_uncertainty(TASKS["nsmc"], [run("a", 1, gold, predicted), run("b", 1, other_gold, predicted)], ["clean"])
    with pytest.raises(KrelectraError, match="reference model 'c' has no runs"):
        task_uncertainty(TASKS["nsmc"], [run("a", 1, gold, predicted)], ["clean"], "c")


def test_a_broken_predictions_file_is_named_with_its_line(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps({"model": "m", "seed": 41, "task": "nsmc"}))
    lines = [
        {"index": 0, "gold": "1", "prediction": {"clean": "1"}, "epoch": {"clean": 1}},
        {"index": 2, "gold": "0", "prediction": {"clean": "1"}, "epoch": {"clean": 1}},
    ]
    (tmp_path / "predictions.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    with pytest.raises(KrelectraError, match=r"predictions.jsonl:2: not a prediction record \(index 2, expected 1\)"):
        read_run(tmp_path / "metrics.json", TASKS["nsmc"])
    with pytest.raises(KrelectraError, match="a run of task nsmc, not paws"):
        read_run(tmp_path / "metrics.json", TASKS["paws"])
