"""How sure the results table can be: bootstrap confidence intervals of each model's test
score on a task, and paired bootstrap tests of each model against a reference model.

Method (Efron and Tibshirani, An Introduction to the Bootstrap, 1993, ch. 13: percentile
intervals; the paired bootstrap test of NLP systems: Koehn, EMNLP 2004, and
Berg-Kirkpatrick, Burkett and Klein, EMNLP 2012):

- The test examples are resampled with replacement, B times (`scipy.stats.bootstrap`,
  percentile method). Every model and every seed is scored on the same resampled
  examples, so the resampling is paired across models.
- A model's score on a resample is the score the table reports, pooled over seeds: the
  mean over its seeds of the task metric of each seed's predictions. The metric is the
  task's own: a mean of per-example scores where it is one (accuracy; KorQuAD's exact
  match and F1 per question), else recomputed on the resample with the same library
  calls as krelectra.finetune.metrics (seqeval entity F1, scikit-learn macro F1, scipy
  Spearman and Pearson correlations).
- Interval: the (1 - level)/2 and (1 + level)/2 percentiles of the B scores.
- Test against the reference model: the difference model - reference on each resample;
  the difference is significant at 1 - level when its percentile interval excludes 0.
  p-value: twice the smaller share of resampled differences on either side of 0 (capped
  at 1), so p < 1 - level exactly when the interval excludes 0.

The interval covers the sampling of test examples only: the spread over seeds is the
table's ± standard deviation.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from krelectra.errors import KrelectraError
from krelectra.finetune import metrics
from krelectra.finetune.tasks import Task, get_task
from krelectra.io import read_json, write_json

METHOD = (
    "percentile bootstrap over test examples (scipy.stats.bootstrap), every model and seed scored on the same "
    "resamples; paired bootstrap test of the difference to the reference model"
)
SOURCES = (
    "Efron and Tibshirani (1993), An Introduction to the Bootstrap, ch. 13; Koehn (2004), Statistical "
    "Significance Tests for Machine Translation Evaluation; Berg-Kirkpatrick, Burkett and Klein (2012), "
    "An Empirical Investigation of Statistical Significance in NLP"
)
log = logging.getLogger(__name__)

# Resampled index rows scored per scipy batch: bounds memory (batch x examples indices).
BATCH = 100


@dataclass
class Run:
    """One finetuning run's test predictions: gold and predictions per protocol, in test order."""

    path: Path
    model: str
    seed: int
    gold: list
    ids: list | None  # KorQuAD question ids
    predictions: dict[str, list]


def read_run(metrics_path: str | os.PathLike, task: Task) -> Run:
    """A run from its metrics.json and the predictions.jsonl beside it."""
    metrics_path = Path(metrics_path)
    try:
        run = read_json(metrics_path)
    except (OSError, ValueError) as error:
        raise KrelectraError(f"{metrics_path}: cannot read finetuning metrics: {error}") from None
    for key in ("model", "seed", "task"):
        if key not in run:
            raise KrelectraError(f"{metrics_path}: missing key {key!r} (not a finetuning metrics.json)")
    if run["task"] != task.name:
        raise KrelectraError(f"{metrics_path}: a run of task {run['task']}, not {task.name}")
    path = metrics_path.with_name("predictions.jsonl")
    gold: list = []
    ids: list = []
    predictions: dict = {}
    try:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                try:
                    record = json.loads(line)
                    if record["index"] != number - 1:
                        raise ValueError(f"index {record['index']}, expected {number - 1}")
                    gold.append(record["gold"])
                    ids.append(record.get("id"))
                    for protocol, value in record["prediction"].items():
                        predictions.setdefault(protocol, []).append(value)
                except (ValueError, KeyError, TypeError) as error:
                    raise KrelectraError(f"{path}:{number}: not a prediction record ({error})") from None
    except OSError as error:
        raise KrelectraError(f"{path}: cannot read predictions: {error.strerror or error}") from None
    if not gold:
        raise KrelectraError(f"{path}: no test predictions")
    if any(len(values) != len(gold) for values in predictions.values()):
        raise KrelectraError(f"{path}: not every record has a prediction for every protocol")
    return Run(
        path, run["model"], int(run["seed"]), gold, ids if task.problem == "extractive_qa" else None, predictions
    )


# -- per-resample scores -----------------------------------------------------------------


def _per_example(task: Task, gold: list, predicted: list) -> dict[str, np.ndarray]:
    """Per-example scores ×100 of the metrics that are means of them (else empty)."""
    if task.problem == "extractive_qa":
        return {
            "exact_match": 100.0
            * np.array([max(metrics.korquad_exact_match(p, a) for a in g) for g, p in zip(gold, predicted)]),
            "f1": 100.0 * np.array([max(metrics.korquad_f1(p, a) for a in g) for g, p in zip(gold, predicted)]),
        }
    if task.metrics == ("accuracy",):
        return {"accuracy": 100.0 * (np.asarray(predicted, dtype=object) == np.asarray(gold, dtype=object))}
    return {}


def _library_score(task: Task, gold: list, predicted: list) -> dict[str, float]:
    """The task metrics of a resample, with metrics.py's own library calls."""
    if task.problem == "token_classification":
        return {"f1": metrics.entity_f1(gold, predicted)}
    if task.problem == "regression":
        return metrics.correlations(gold, predicted)
    if "macro_f1" in task.metrics:
        return {"macro_f1": metrics.macro_f1(gold, predicted)}
    raise KrelectraError(f"task {task.name}: no resampling rule for metrics {', '.join(task.metrics)}")


class Scorer:
    """Scores of one model (pooled over its seeds: the mean of the per-seed scores) on a
    resample of the test examples, given as an array of example indices."""

    def __init__(self, task: Task, gold: list, seed_predictions: list[list]):
        self.task = task
        self.gold = gold
        self.seed_predictions = seed_predictions
        per_seed = [_per_example(task, gold, predicted) for predicted in seed_predictions]
        # Mean metrics: the mean over seeds of each example's score, then over the resample.
        self.means = {name: np.mean([scores[name] for scores in per_seed], axis=0) for name in per_seed[0]}

    def __call__(self, index: np.ndarray) -> dict[str, float]:
        scores = {name: float(values[index].mean()) for name, values in self.means.items()}
        if len(scores) < len(self.task.metrics):
            gold = [self.gold[i] for i in index]
            per_seed = [_library_score(self.task, gold, [p[i] for i in index]) for p in self.seed_predictions]
            for name in per_seed[0]:
                scores[name] = float(np.mean([s[name] for s in per_seed]))
        return {name: scores[name] for name in self.task.metrics}


# -- the bootstrap -----------------------------------------------------------------------


_ROW_STATISTIC: Callable[[np.ndarray], np.ndarray] | None = None  # set in each worker process (fork)


def _row(index: np.ndarray) -> np.ndarray:
    assert _ROW_STATISTIC is not None
    return _ROW_STATISTIC(index)


def _vectorized(row_statistic: Callable[[np.ndarray], np.ndarray], pool):
    """scipy's vectorized statistic: rows of resampled indices -> outputs x rows."""

    def statistic(index: np.ndarray, axis: int = -1) -> np.ndarray:
        rows = np.reshape(index, (-1, index.shape[-1]))
        values = pool.map(_row, list(rows)) if pool is not None else [row_statistic(row) for row in rows]
        return np.stack(values, axis=-1)

    return statistic


def bootstrap(
    row_statistic: Callable[[np.ndarray], np.ndarray],
    examples: int,
    resamples: int,
    confidence_level: float,
    seed: int,
    threads: int = 1,
):
    """`scipy.stats.bootstrap` of a vector-valued statistic of a resample of `examples`
    test examples (given as an array of indices), percentile method. With `threads` > 1
    the resamples of each batch are scored in that many processes. Returns scipy's
    BootstrapResult (confidence_interval.low/high and bootstrap_distribution per output)."""
    from scipy.stats import bootstrap as scipy_bootstrap

    global _ROW_STATISTIC
    pool = None
    if threads > 1:
        _ROW_STATISTIC = row_statistic
        pool = multiprocessing.get_context("fork").Pool(threads)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # nan scores (a constant prediction's correlation)
            return scipy_bootstrap(
                (np.arange(examples),),
                _vectorized(row_statistic, pool),
                vectorized=True,
                n_resamples=resamples,
                batch=BATCH,
                confidence_level=confidence_level,
                method="percentile",
                rng=np.random.default_rng(seed),
            )
    finally:
        if pool is not None:
            pool.close()
            pool.join()
        _ROW_STATISTIC = None


def _number(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def p_value(differences: np.ndarray) -> float | None:
    """Two-sided p-value of a bootstrap distribution of differences: twice the smaller share
    on either side of 0, capped at 1 (None when any difference is nan)."""
    if np.isnan(differences).any():
        return None
    below, above = float(np.mean(differences <= 0)), float(np.mean(differences >= 0))
    return min(1.0, 2.0 * min(below, above))


def task_uncertainty(
    task: Task,
    runs: list[Run],
    protocols: list[str],
    reference_model: str | None = None,
    resamples: int = 1000,
    confidence_level: float = 0.95,
    seed: int = 0,
    threads: int = 1,
) -> dict:
    """Per protocol: every model's score with its interval and, for every model other than
    `reference_model`, the paired test of its difference to the reference (none when
    `reference_model` is None or the only model). Raises KrelectraError when the runs were
    not scored on the same test examples (every paired comparison needs them)."""
    if not runs:
        raise KrelectraError(f"task {task.name}: no runs to bootstrap")
    models = list(dict.fromkeys(run.model for run in runs))
    if reference_model is not None and reference_model not in models:
        raise KrelectraError(
            f"task {task.name}: reference model {reference_model!r} has no runs (models: {', '.join(models)})"
        )
    first = runs[0]
    for run in runs[1:]:
        if run.gold != first.gold or run.ids != first.ids:
            raise KrelectraError(
                f"{run.path} and {first.path}: not the same test examples (gold answers differ), "
                "so the models cannot be compared example by example"
            )
    examples = len(first.gold)
    by_model = {model: sorted((run for run in runs if run.model == model), key=lambda r: r.seed) for model in models}
    others = [m for m in models if reference_model is not None and m != reference_model]
    result: dict[str, Any] = {
        "task": task.name,
        "method": METHOD,
        "sources": SOURCES,
        "confidence_level": confidence_level,
        "resamples": resamples,
        "seed": seed,
        "reference_model": reference_model,
        "test_examples": examples,
        "protocols": {},
    }
    for protocol in protocols:
        missing = [str(run.path) for run in runs if protocol not in run.predictions]
        if missing:
            raise KrelectraError(f"protocol {protocol!r} has no predictions in {', '.join(missing)}")
        scorers = {
            model: Scorer(task, first.gold, [run.predictions[protocol] for run in model_runs])
            for model, model_runs in by_model.items()
        }
        names = list(task.metrics)

        def row_statistic(index, scorers=scorers, names=names):
            scores = {model: scorer(index) for model, scorer in scorers.items()}
            values = [scores[model][name] for model in models for name in names]
            values += [scores[model][name] - scores[reference_model][name] for model in others for name in names]
            return np.array(values)

        started = time.perf_counter()
        log.info(
            "task %s, %s protocol: %d resamples of %d test examples, %d model(s), %d run(s)",
            task.name,
            protocol,
            resamples,
            examples,
            len(models),
            len(runs),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # nan scores (a constant prediction's correlation)
            estimate = row_statistic(np.arange(examples))
        boot = bootstrap(row_statistic, examples, resamples, confidence_level, seed, threads)
        log.info("task %s, %s protocol: done in %.1f s", task.name, protocol, time.perf_counter() - started)
        low, high = boot.confidence_interval.low, boot.confidence_interval.high
        entry: dict[str, dict[str, Any]] = {"models": {}, "comparisons": {}}
        position = 0
        for model in models:
            entry["models"][model] = {"seeds": [run.seed for run in by_model[model]], "metrics": {}}
            for name in names:
                entry["models"][model]["metrics"][name] = {
                    "estimate": _number(estimate[position]),
                    "low": _number(low[position]),
                    "high": _number(high[position]),
                }
                position += 1
        for model in others:
            entry["comparisons"][model] = {"metrics": {}}
            for name in names:
                lo, hi = _number(low[position]), _number(high[position])
                entry["comparisons"][model]["metrics"][name] = {
                    "difference": _number(estimate[position]),
                    "low": lo,
                    "high": hi,
                    "p_value": p_value(boot.bootstrap_distribution[position]),
                    "significant": lo is not None and hi is not None and (lo > 0 or hi < 0),
                }
                position += 1
        result["protocols"][protocol] = entry
    return result


def write_task_uncertainty(
    task_name: str,
    metrics_paths: list[str | os.PathLike],
    output: str | os.PathLike,
    protocols: list[str],
    reference_model: str | None,
    resamples: int,
    confidence_level: float,
    seed: int,
    threads: int = 1,
) -> dict:
    task = get_task(task_name)
    runs = [read_run(path, task) for path in metrics_paths]
    result = task_uncertainty(task, runs, protocols, reference_model, resamples, confidence_level, seed, threads)
    write_json(output, result)
    return result
