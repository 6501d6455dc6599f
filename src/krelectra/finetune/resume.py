"""Resuming a killed finetuning run from its last save point.

A run keeps its state in a work folder outside the rule's outputs (Snakemake deletes the
outputs of a failed job, not this folder; the workflow uses
`{RESULTS}/finetune/.work/<model>/<task>/seed<seed>`):

    fingerprint.json    what determines the run (`run_fingerprint`, krelectra.fingerprint)
    checkpoint-<step>/  the Trainer's checkpoint at the last save point (save_points.py: every
                        save_steps optimizer steps, where the run also scores dev and test
                        and logs the training loss): model, optimizer, scheduler, RNG
                        states, trainer_state.json (save_total_limit=1: only the newest)
    points.json         each evaluated point's dev/test metrics and test predictions

A rerun with an equal fingerprint resumes from the checkpoint (`Trainer.train(
resume_from_checkpoint=...)` restores the RNG states and the step, and skips the batches
of the epoch already trained, so the data order and dropout are those of an uninterrupted
run); another fingerprint is refused, or with restart moved aside. The folder is removed
once the run's outputs are written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from krelectra import fingerprint as fp
from krelectra.io import atomic_open, read_json

TRAINER_STATE = "trainer_state.json"  # transformers.trainer.TRAINER_STATE_NAME, written last in a checkpoint
POINTS_FILE = "points.json"


def model_identity(source: str) -> dict[str, str]:
    """{file name: SHA-256} of the files of a model folder (weights, config, tokenizer), or
    {"hub id": source} for a model named on the hub."""
    folder = Path(source)
    if folder.is_dir():
        return fp.files_sha256(sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")))
    return {"hub id": source}


def run_fingerprint(
    task_name: str,
    model_source: str,
    hyperparameters: dict,
    data_files: dict[str, str],
    speed: dict,
    dev_fraction: float,
    max_train_examples: int | None,
    max_eval_examples: int | None,
) -> dict:
    """What determines a finetuning run: the task, the model's files (with its tokenizer),
    the data files' hashes (`data_files`: name -> git blob SHA-1), every hyperparameter
    (the seed among them), the data limits and dev carve-out, and the precision and
    training sampler actually used. Not in it: threads, the model's name in the results,
    the protocols (read off the per-point results at the end) and restart."""
    return {
        "format": fp.FORMAT,
        "task": task_name,
        "model": model_identity(model_source),
        "data": dict(data_files),
        "hyperparameters": dict(hyperparameters),
        "dev_fraction": dev_fraction,
        "max_train_examples": max_train_examples,
        "max_eval_examples": max_eval_examples,
        "precision": speed["precision"],
        "train_sampling": speed["train_sampling"],
    }


def latest_checkpoint(work_dir: str | os.PathLike) -> Path | None:
    """The complete Trainer checkpoint (one with trainer_state.json) of the highest step in
    `work_dir`, or None."""
    folder = Path(work_dir)
    if not folder.is_dir():
        return None
    complete = [
        path
        for path in folder.glob("checkpoint-*")
        if path.name.split("-")[-1].isdigit() and (path / TRAINER_STATE).is_file()
    ]
    return max(complete, key=lambda path: int(path.name.split("-")[-1]), default=None)


def checkpoint_step(checkpoint: Path) -> int:
    """The optimizer steps a checkpoint was saved after."""
    return int(read_json(checkpoint / TRAINER_STATE)["global_step"])


def read_points(work_dir: Path, expected: list[int]) -> tuple[list[dict], dict[int, dict]]:
    """(point entries, {step: {"dev": predictions, "test": predictions}}) saved for the
    steps `expected` (the save points up to the checkpoint's step). Raises KrelectraError
    when one of them is missing."""
    from krelectra.errors import KrelectraError

    path = Path(work_dir) / POINTS_FILE
    saved = read_json(path) if path.is_file() else []
    kept = [record for record in saved if record["entry"]["step"] in set(expected)]
    if [record["entry"]["step"] for record in kept] != list(expected):
        raise KrelectraError(
            f"{path}: lacks the results of a save point up to step {max(expected, default=0)}, the "
            "checkpoint's; start afresh with finetune.restart: true (or --restart)"
        )
    return [record["entry"] for record in kept], {record["entry"]["step"]: record["predictions"] for record in kept}


def write_points(work_dir: Path, points: list[dict], predictions: dict[int, dict]) -> None:
    """Save every evaluated point's entry and predictions (before its checkpoint is saved)."""
    records = [{"entry": entry, "predictions": predictions[entry["step"]]} for entry in points]
    with atomic_open(Path(work_dir) / POINTS_FILE) as handle:
        json.dump(records, handle, ensure_ascii=False)


def stop_message(task_name: str, work_dir: str | os.PathLike) -> str:
    """What a job stopped on request (krelectra.stop) says: the save point a rerun resumes from."""
    checkpoint = latest_checkpoint(work_dir)
    if checkpoint is None:
        return f"finetuning {task_name} stopped before its first save point; run it again to start afresh"
    return (
        f"finetuning {task_name} stopped; run it again to resume after step {checkpoint_step(checkpoint)} "
        f"({checkpoint})"
    )
