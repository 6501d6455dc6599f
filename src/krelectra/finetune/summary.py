"""One model's results over its tasks and seeds: per task, protocol and metric the mean
and the sample standard deviation (n - 1; 0 for a single seed) of the test values, the
values themselves, and the seeds; per task also the data the runs were measured on
(whether on the upstream files, whether subsampled), which decides whether the paper's
tables compare them with the published numbers, and the numerics they trained with. The
tables are generated from this file."""

from __future__ import annotations

import math
import os
from pathlib import Path

from krelectra.errors import KrelectraError
from krelectra.finetune.protocols import PROTOCOLS
from krelectra.io import read_json


def mean_std(values: list[float]) -> tuple[float, float]:
    n = len(values)
    mean = sum(values) / n
    if n == 1:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))


def data_facts(runs: list[dict]) -> dict:
    """What the runs of one task were measured on: `upstream` (every run on the upstream
    files, byte for byte; false when a run does not say) and `subsampled` (a run capped
    its train, dev or test examples: max_train_examples, max_eval_examples)."""
    data = [run.get("data") or {} for run in runs]
    return {
        "upstream": all(d.get("upstream") is True for d in data),
        "subsampled": any(d.get(key) is not None for d in data for key in ("max_train_examples", "max_eval_examples")),
    }


def numerics_facts(runs: list[dict]) -> dict:
    """The numerics the runs of one task trained with (metrics.json
    `training_speed_settings`): {"precision": [...], "train_sampling": [...]}, each the
    sorted distinct values ("not recorded" for a run that does not say)."""
    settings = [run.get("training_speed_settings") or {} for run in runs]
    return {key: sorted({str(s.get(key, "not recorded")) for s in settings}) for key in ("precision", "train_sampling")}


def summarize(runs: list[dict], model: str, protocols=PROTOCOLS) -> dict:
    """`runs`: the metrics.json contents of one model (any tasks, any seeds)."""
    by_task: dict[str, list[dict]] = {}
    for run in runs:
        if run["model"] != model:
            raise KrelectraError(f"a run of model {run['model']!r} was given to the summary of {model!r}")
        by_task.setdefault(run["task"], []).append(run)
    tasks = {}
    for task, task_runs in sorted(by_task.items()):
        task_runs.sort(key=lambda run: run["seed"])
        seeds = [run["seed"] for run in task_runs]
        if len(set(seeds)) != len(seeds):
            raise KrelectraError(f"task {task}: seed given twice in {seeds}")
        entry = {
            "headline_metric": task_runs[0]["headline_metric"],
            "seeds": seeds,
            "data": data_facts(task_runs),
            "numerics": numerics_facts(task_runs),
            "protocols": {},
        }
        for protocol in protocols:
            selected = [run["protocols"][protocol] for run in task_runs]
            metrics = {}
            for metric in selected[0]["test"]:
                values = [s["test"][metric] for s in selected]
                mean, std = mean_std(values)
                metrics[metric] = {"mean": mean, "std": std, "n": len(values), "values": values}
            entry["protocols"][protocol] = {
                "test": metrics,
                "steps": [s["step"] for s in selected],
                "epochs": [s["epoch"] for s in selected],
            }
        tasks[task] = entry
    return {"model": model, "protocols": list(protocols), "tasks": tasks}


def summarize_files(paths: list[str | os.PathLike], model: str, protocols=PROTOCOLS) -> dict:
    runs = []
    for path in paths:
        try:
            runs.append(read_json(path))
        except (OSError, ValueError) as error:
            raise KrelectraError(f"{path}: cannot read metrics: {error}") from error
    for path, run in zip(paths, runs):
        missing = [key for key in ("model", "task", "seed", "headline_metric", "protocols") if key not in run]
        if missing:
            raise KrelectraError(f"{Path(path)}: not a finetuning metrics.json (missing {', '.join(missing)})")
    return summarize(runs, model, protocols)
