"""Finetune one model on one task with one seed, with the transformers `Trainer`.

Recipe (KR-ELECTRA's, spec tasks.md): AdamW with bias and LayerNorm weights excluded
from weight decay (the Trainer's parameter groups), linear decay after an optional
warmup proportion, gradient norm clipping, dynamic padding per batch. After every
optimizer step that is a multiple of the task's `save_steps` (save_points.py: where the
reference saved and evaluated its checkpoints) the dev and the test split are predicted
and scored, so both protocols (protocols.py) can be read off one run; training stops
after the last such step (the steps after it change no recorded number).

Numerics, set by `precision` and `train_sampling` (finetune.precision,
finetune.train_sampling) and recorded in metrics.json (`training_speed_settings`):
fp32 or bfloat16 autocast of the training loss ("auto": bf16 where the hardware
multiplies bf16 natively; elsewhere it is emulated and slower than fp32), random
training batches (the reference's RandomSampler) or batches grouped by length ("auto":
random, see `speed_settings`); prediction batches always in length order (the
predictions are put back in example order). Per-step overhead, set by `torch_compile`
and `dataloader_workers` (finetune.torch_compile, finetune.dataloader_workers; docs/finetune.md,
"Per-step overhead on a GPU"): the same update, computed by compiled kernels or fed by worker
processes; the Trainer's NaN/inf filter of the logged loss, a host sync every step, is off.

Outputs of a run: metrics.json (per-point dev/test metrics and training loss, the
protocols' selections, timing, the hyperparameters actually used, data and model
loading facts) and predictions.jsonl (one line per test example: gold and the
prediction at each protocol's selected point).
"""

from __future__ import annotations

import functools
import gc
import logging
import math
import os
import platform
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from krelectra import fingerprint as fp
from krelectra import kernels, stop
from krelectra.errors import KrelectraError
from krelectra.finetune import callbacks, qa, resume
from krelectra.finetune import features as feats
from krelectra.finetune import metrics as task_metrics
from krelectra.finetune import protocols as protos
from krelectra.finetune.download import upstream_identity
from krelectra.finetune.models import (  # noqa: F401 (check_encoder_loaded: part of this module's interface)
    check_compatible,
    check_encoder_loaded,
    load_model,
    load_tokenizer,
    resolve_source,
    with_revision,
)
from krelectra.finetune.numerics import PRECISIONS, TRAIN_SAMPLINGS
from krelectra.finetune.save_points import save_points, steps_per_epoch
from krelectra.finetune.tasks import Task, load_splits, resolve_hyperparameters
from krelectra.io import atomic_open, write_json

log = logging.getLogger(__name__)


def subsample(examples: list[dict], limit: int | None, salt: str) -> list[dict]:
    """At most `limit` examples, a fixed pseudo-random subset in file order (the same
    for every seed, so seeds vary the training and not the data)."""
    if limit is None or len(examples) <= limit:
        return examples
    keep = sorted(random.Random(salt).sample(range(len(examples)), limit))
    return [examples[i] for i in keep]


# ---------------------------------------------------------------------- per problem


@dataclass
class Split:
    """One split ready for the model: its features, the gold answers in the metrics'
    format, and `decode`, which turns the Trainer's raw predictions into predictions in
    that same format."""

    name: str
    examples: list[dict]
    features: list[dict]
    gold: list | dict
    decode: Callable
    info: dict


def prepare_split(task: Task, tokenizer, name: str, examples: list[dict], hp: dict, with_labels: bool) -> Split:
    max_length = hp["max_seq_length"]
    if task.problem in ("single_sentence", "sentence_pair", "regression"):
        label2id = None if task.labels is None else {label: i for i, label in enumerate(task.labels)}
        features = feats.encode_sequences(tokenizer, examples, max_length, label2id, with_labels)
        gold: list | dict = [example["label"] for example in examples]
        if task.problem == "regression":
            decode = lambda raw: [float(v) for v in np.asarray(raw).reshape(len(examples), -1)[:, 0]]
        else:
            labels = task.labels or ()  # a classification task names its labels (tasks.TASKS)
            decode = lambda raw: [labels[i] for i in np.asarray(raw).argmax(-1).tolist()]
        return Split(name, examples, features, gold, decode, {"examples": len(examples)})
    if task.problem == "token_classification":
        tags = task.labels or ()  # a token classification task names its tags (tasks.TASKS)
        label2id = {label: i for i, label in enumerate(tags)}
        words = feats.encode_words(tokenizer, examples, max_length, label2id, with_labels)
        gold = [example["tags"] for example in examples]

        def decode(raw):  # raw: label ids per token (argmax taken in preprocess_logits)
            raw = np.asarray(raw)
            return [
                feats.words_from_token_predictions(raw[i], positions, task.labels)
                for i, positions in enumerate(words.first_token)
            ]

        info = {
            "examples": len(examples),
            "words": sum(len(e["words"]) for e in examples),
            "words_without_token": words.words_without_token,
        }
        return Split(name, examples, words.features, gold, decode, info)
    if task.problem == "extractive_qa":
        windows = feats.encode_qa(
            tokenizer, examples, max_length, hp["doc_stride"], hp["max_query_length"], with_labels
        )
        gold = {example["id"]: [answer["text"] for answer in example["answers"]] for example in examples}

        def decode(raw):
            start_logits, end_logits = raw
            return qa.decode(start_logits, end_logits, windows, examples, hp["n_best_size"], hp["max_answer_length"])

        info = {"examples": len(examples), "windows": len(windows.features)}
        if with_labels:
            info["windows_without_answer"] = windows.answers_outside
            # Training examples whose answer text is not at answer_start's words, skipped
            # as the reference skips them (features.locate_answer).
            info["skipped_answer_not_found"] = len(windows.answers_not_found)
            if windows.answers_not_found:
                log.warning(
                    "task %s: %d of %d %s examples skipped: answer text not found at answer_start (%s%s)",
                    task.name,
                    len(windows.answers_not_found),
                    len(examples),
                    name,
                    ", ".join(windows.answers_not_found[:5]),
                    " ..." if len(windows.answers_not_found) > 5 else "",
                )
            if not windows.features:
                raise KrelectraError(f"task {task.name}: no {name} example left (no answer found in its context)")
        return Split(name, examples, windows.features, gold, decode, info)
    raise KrelectraError(f"task {task.name}: unknown problem type {task.problem!r}")


# With finetune.torch_compile, batches are padded to a multiple of this many tokens (at
# most the task's max_seq_length), so that the compiled graphs of a few widths are reused
# instead of one traced per batch length (32 divides 128 and 512, KR-ELECTRA's lengths).
LENGTH_BUCKET = 32


@dataclass(frozen=True)
class PaddingCollator:
    """A batch of features as tensors, each sequence padded on the right to the longest in
    the batch: input_ids with the tokenizer's pad id, per-token labels with IGNORE_INDEX,
    other sequences (attention_mask, token_type_ids) with 0; single values (a class id, a
    regression score, an answer position) as they are. The padding of transformers'
    DataCollatorWithPadding and DataCollatorForTokenClassification, written into one numpy
    array per key (a fifth of their time per batch, which tokenizer.pad spends per feature).

    With `pad_to_multiple_of` (transformers' collators' name) the width is the longest
    rounded up to a multiple of it, but not beyond `max_length` (nor below the longest)."""

    pad_token_id: int
    pad_to_multiple_of: int | None = None
    max_length: int | None = None

    def __call__(self, features: list[dict]) -> dict:
        import torch

        longest = max(len(feature["input_ids"]) for feature in features)
        width = longest
        if self.pad_to_multiple_of:
            width = -(-longest // self.pad_to_multiple_of) * self.pad_to_multiple_of
            if self.max_length is not None:
                width = max(longest, min(width, self.max_length))
        batch = {}
        for key, first in features[0].items():
            if not isinstance(first, list):
                batch[key] = torch.tensor([feature[key] for feature in features])
                continue
            fill = self.pad_token_id if key == "input_ids" else feats.IGNORE_INDEX if key == "labels" else 0
            padded = np.full((len(features), width), fill, dtype=np.int64)
            for row, feature in zip(padded, features):
                row[: len(feature[key])] = feature[key]
            batch[key] = torch.from_numpy(padded)
        return batch


def data_collator(task: Task, tokenizer, max_length: int | None = None, torch_compile: bool = False) -> PaddingCollator:
    """The run's collator: with `torch_compile`, batch widths in steps of LENGTH_BUCKET up to
    `max_length` (the task's max_seq_length), except for extractive QA, whose span loss is a
    softmax over every position, padding included (transformers' ElectraForQuestionAnswering),
    so that wider padding would change it: QA batches keep the longest-in-batch width.
    Elsewhere padding is masked out of attention and labelled IGNORE_INDEX (token
    classification), so the width changes no output beyond float rounding. Raises
    KrelectraError when the tokenizer has no padding token."""
    if tokenizer.pad_token_id is None:
        raise KrelectraError(f"{tokenizer.name_or_path}: the tokenizer has no padding token")
    if torch_compile and task.problem != "extractive_qa":
        return PaddingCollator(tokenizer.pad_token_id, LENGTH_BUCKET, max_length)
    return PaddingCollator(tokenizer.pad_token_id)


def _argmax_logits(logits, labels):
    """Token classification: keep only the predicted label id per token (memory)."""
    return logits.argmax(dim=-1)


# --------------------------------------------------------------------------- training


def native_bf16() -> bool:
    """Whether bfloat16 matrix products run in hardware where the Trainer trains: a CUDA GPU
    that supports bf16 (torch.cuda.is_bf16_supported, emulation not counted), or a CPU with
    AMX-BF16 or AVX512-BF16 outside `cpu_kernels: portable` (krelectra.kernels.cpu_has_bf16,
    the pretraining stage's test too). Elsewhere, e.g. on CPUs with AVX2 only, bf16
    autocast is emulated and slower than fp32."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported(including_emulation=False)
    return kernels.cpu_has_bf16()


def padding_share(lengths: list[int], batch_size: int) -> float:
    """Expected share of padding in batches of `batch_size` features drawn at random (with
    replacement, a close bound for batches much smaller than the split), each padded to its
    longest member: 1 - mean length / expected longest length, with the expected longest
    length sum_k L(k) * ((k/n)^b - ((k-1)/n)^b) over the sorted lengths L(1) <= ... <= L(n)."""
    ordered = sorted(lengths)
    n = len(ordered)
    if n == 0:
        return 0.0
    longest = sum(length * ((k / n) ** batch_size - ((k - 1) / n) ** batch_size) for k, length in enumerate(ordered, 1))
    return 1.0 - (sum(ordered) / n) / longest


def speed_settings(
    precision: str,
    train_sampling: str,
    lengths: list[int],
    batch_size: int,
    torch_compile: bool = False,
    dataloader_workers: int = 0,
) -> dict:
    """The run's precision ("bf16" or "fp32") and training sampler ("random" or
    "group_by_length"), and the share of padding random batches of `batch_size` would
    carry (`padding_share` of the training features' `lengths`: what grouping could save);
    `torch_compile` and `dataloader_workers` as given (docs/finetune.md, "Per-step overhead on a GPU").

    "auto" precision picks bf16 where `native_bf16()`: it changes no result beyond seed
    spread (issue 25: Question Pair and KorSTS, 5 seeds, bf16 and fp32 with random batches
    agree). "auto" sampling keeps random batches, the reference's: grouped batches hold
    similar lengths, and where lengths go with the labels similar labels too, which slows
    learning (issue 25: KorSTS 0.4-0.5 Spearman lower over 5 seeds, training loss higher
    in every seed; the KorNLI fixture: 66.7% test accuracy after three grouped epochs,
    97.7 and 90.3 random); "group_by_length" is opt-in, for speed (15% less CPU time an
    epoch on the KorNLI fixture). Raises KrelectraError for another value, or for
    `dataloader_workers` not a whole number >= 0 or `torch_compile` not a bool."""
    if not isinstance(torch_compile, bool):
        raise KrelectraError(f"finetune.torch_compile: expected true or false, got {torch_compile!r}")
    if isinstance(dataloader_workers, bool) or not isinstance(dataloader_workers, int) or dataloader_workers < 0:
        raise KrelectraError(f"finetune.dataloader_workers: expected a whole number >= 0, got {dataloader_workers!r}")
    if precision not in PRECISIONS:
        raise KrelectraError(f"finetune.precision: expected {', '.join(PRECISIONS)}, got {precision!r}")
    if train_sampling not in TRAIN_SAMPLINGS:
        raise KrelectraError(f"finetune.train_sampling: expected {', '.join(TRAIN_SAMPLINGS)}, got {train_sampling!r}")
    if precision == "auto":
        precision = "bf16" if native_bf16() else "fp32"
    return {
        "precision": precision,
        "train_sampling": "random" if train_sampling == "auto" else train_sampling,
        "random_batch_padding_share": padding_share(lengths, batch_size),
        "torch_compile": torch_compile,
        "dataloader_workers": dataloader_workers,
    }


def training_arguments(hp: dict, num_train_features: int, output_dir: str, seed: int, speed: dict | None = None):
    """TrainingArguments of a run: the hyperparameters `hp` and the training sampler,
    `torch_compile` and `dataloader_workers` of the `speed_settings` (default: random
    batches, neither). The precision is the Trainer's (`_trainer_class`).
    At every `hp["save_steps"]` optimizer steps (the save points) the training loss is
    logged and a checkpoint saved in `output_dir`, the newest only kept (resume.py).

    logging_nan_inf_filter is off: the Trainer's filter tests every step's loss for NaN/inf
    on the host (a device sync per step on a GPU) to leave such a loss out of the logged
    mean; off, a NaN/inf loss shows in the logged training loss instead of being hidden.
    The update is the same either way."""
    import torch
    from transformers import TrainingArguments

    speed = speed or {"precision": "fp32", "train_sampling": "random"}

    steps = math.ceil(num_train_features / hp["train_batch_size"]) * hp["num_train_epochs"]
    return TrainingArguments(
        output_dir=output_dir,
        per_device_train_batch_size=hp["train_batch_size"],
        per_device_eval_batch_size=hp["eval_batch_size"],
        num_train_epochs=hp["num_train_epochs"],
        learning_rate=hp["learning_rate"],
        adam_epsilon=hp["adam_epsilon"],
        weight_decay=hp["weight_decay"],
        max_grad_norm=hp["max_grad_norm"],
        lr_scheduler_type="linear",
        # an int: a float below 1 would be read as a proportion and 1.0 as one step
        warmup_steps=round(hp["warmup_proportion"] * steps),
        # the default AdamW ("adamw_torch_fused" with torch >= 2.8): the same update, faster
        eval_strategy="no",  # dev and test are scored by PointEvaluation, at the save points
        save_strategy="steps",  # the resume point (resume.py), at the save points
        save_steps=hp["save_steps"],
        save_total_limit=1,
        logging_strategy="steps",  # the mean training loss since the previous save point
        logging_steps=hp["save_steps"],
        report_to="none",
        disable_tqdm=True,
        seed=seed,
        data_seed=seed,
        # Workers only collate: the sampler's order and the RNG draws stay in this process
        # (no persistent workers: they would draw the workers' base seed once, not per epoch).
        dataloader_num_workers=speed.get("dataloader_workers", 0),
        dataloader_pin_memory=torch.cuda.is_available(),
        train_sampling_strategy=speed["train_sampling"],
        torch_compile=speed.get("torch_compile", False),
        logging_nan_inf_filter=False,
    )


def _ignore_stop_signals(worker_id: int, init: Callable[[int], None] | None = None) -> None:
    """worker_init_fn of the training data loader's workers: they ignore the stop signals
    (krelectra.stop.HANDLED_SIGNALS), which the job acts on after its step before ending
    them (PyTorch's own SIGTERM handler in a worker dies at a signal to the process
    group, failing the job's next batch); then the Trainer's `init` (worker seeding)."""
    import signal

    for signum in stop.HANDLED_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    if init is not None:
        init(worker_id)


def _trainer_class(precision: str):
    import torch
    from torch.utils.data import SequentialSampler
    from transformers import Trainer

    class FinetuneTrainer(Trainer):
        """A Trainer that predicts in the order of the features it is given, and with
        precision "bf16" computes the training loss under bfloat16 autocast.

        The autocast is ours rather than TrainingArguments(bf16=True), which also runs the
        predictions in bf16: rounded to bf16's 8 significant bits, KorSTS scores tie and span
        logits change the chosen answers, so predictions stay in fp32. And with
        train_sampling_strategy="group_by_length", transformers 5 also groups prediction
        batches by length and returns the predictions in that shuffled order. The training
        data loader's workers ignore stop signals (`_ignore_stop_signals`)."""

        def compute_loss(self, model, inputs, *args, **kwargs):
            with torch.autocast(self.args.device.type, torch.bfloat16, enabled=precision == "bf16"):
                return super().compute_loss(model, inputs, *args, **kwargs)

        def _get_eval_sampler(self, eval_dataset):
            return SequentialSampler(eval_dataset)

        def get_train_dataloader(self):
            loader = super().get_train_dataloader()
            if self.args.dataloader_num_workers:  # accelerate's loader wraps the DataLoader
                base = getattr(loader, "base_dataloader", loader)
                base.worker_init_fn = functools.partial(_ignore_stop_signals, init=base.worker_init_fn)
            return loader

    return FinetuneTrainer


def predict_in_length_order(trainer, features: list[dict]):
    """The Trainer's raw predictions for `features`, in their order, computed in batches of
    similar lengths (shortest first, so each batch carries little padding). Per-token
    outputs come back padded to the longest feature with -100 (the Trainer's padding)."""
    order = sorted(range(len(features)), key=lambda i: len(features[i]["input_ids"]))
    raw = trainer.predict([features[i] for i in order]).predictions
    back = np.argsort(order)  # row of each feature in `raw`
    return tuple(part[back] for part in raw) if isinstance(raw, tuple) else raw[back]


def _point_callback(points: list[int], on_point: Callable[[int, float, float], None]):
    from transformers import TrainerCallback

    wanted = set(points)

    class PointEvaluation(TrainerCallback):
        """At each save point, after the optimizer step and before the Trainer logs and saves
        its checkpoint, hands control to `on_point(step, epoch, training seconds since the
        previous point)` (which scores dev and test); stops training after the last point."""

        def on_train_begin(self, args, state, control, **kwargs):
            self.started = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step in wanted:
                on_point(state.global_step, state.epoch, time.perf_counter() - self.started)
                if state.global_step == points[-1]:
                    control.should_training_stop = True
                self.started = time.perf_counter()

    return PointEvaluation()


def finetune(
    task: Task,
    model_source: str,
    data_dir: str | os.PathLike,
    seed: int,
    output_dir: str | os.PathLike,
    model_name: str = "model",
    overrides: dict | None = None,
    dev_fraction: float = 0.1,
    max_train_examples: int | None = None,
    max_eval_examples: int | None = None,
    protocols=protos.PROTOCOLS,
    threads: int | None = None,
    precision: str = "auto",
    train_sampling: str = "auto",
    work_dir: str | os.PathLike | None = None,
    restart: bool = False,
    torch_compile: bool = False,
    dataloader_workers: int = 0,
) -> dict:
    """Train `model_source` on `task` and write metrics.json and predictions.jsonl to
    `output_dir`. Returns the metrics. `precision` ("auto", "bf16", "fp32"),
    `train_sampling` ("auto", "random", "group_by_length"), `torch_compile` and
    `dataloader_workers` are the `speed_settings`.
    Raises KrelectraError when the run has no save point (save_points.py).

    The state at each save point is kept in `work_dir` (default: `output_dir`/.work),
    and a rerun resumes from it when it belongs to this run (resume.py); with `restart`,
    another run's state there is moved aside instead of refused. Raises KrelectraError
    naming what changed when the state belongs to another run. `work_dir` is removed once
    the outputs are written."""
    import torch
    from transformers import PrinterCallback, set_seed

    started = time.perf_counter()
    if threads:
        torch.set_num_threads(threads)
    hp = resolve_hyperparameters(task, overrides or {}, seed)
    splits, examples = _load_examples(task, data_dir, dev_fraction, max_train_examples, max_eval_examples)
    upstream, blobs = upstream_identity(
        task.name, {name: Path(data_dir) / task.name / name for name in task.file_names}
    )

    source = resolve_source(model_source)  # a hub id offline and not in the cache stops here, with how to fetch it
    tokenizer = load_tokenizer(source.location, task)
    prepared = {
        name: prepare_split(task, tokenizer, name, ex, hp, with_labels=(name == "train"))
        for name, ex in examples.items()
    }
    tokenized = time.perf_counter()
    n_train = len(prepared["train"].features)
    points = save_points(task.name, n_train, hp["train_batch_size"], hp["num_train_epochs"], hp["save_steps"])

    set_seed(seed)  # before the model: the new head's initialisation depends on it
    model, loading = load_model(task, source.location)
    check_compatible(tokenizer, model, str(model_source), task, hp["max_seq_length"])
    source = with_revision(source)
    log.info(
        "%s on %s: train/dev/test %s examples, %d training features, seed %d, hyperparameters %s",
        model_name,
        task.name,
        "/".join(str(len(examples[n])) for n in ("train", "dev", "test")),
        len(prepared["train"].features),
        seed,
        hp,
    )

    train_lengths = [len(feature["input_ids"]) for feature in prepared["train"].features]
    speed = speed_settings(
        precision, train_sampling, train_lengths, hp["train_batch_size"], torch_compile, dataloader_workers
    )
    speed["attn_implementation"] = getattr(model.config, "_attn_implementation", None)  # transformers' choice
    work_dir = Path(work_dir) if work_dir is not None else Path(output_dir) / ".work"
    fingerprint = resume.run_fingerprint(
        task.name, model_source, hp, blobs, speed, dev_fraction, max_train_examples, max_eval_examples
    )
    checkpoint = _restore_or_start(work_dir, fingerprint, restart)
    resumed_step = resume.checkpoint_step(checkpoint) if checkpoint else 0
    evaluated, predictions = resume.read_points(work_dir, [p for p in points if p <= resumed_step])
    if checkpoint:
        log.info("%s: resumed from step %d of %d (%s)", task.name, resumed_step, points[-1], checkpoint)
    args = training_arguments(hp, n_train, str(work_dir), seed, speed)
    trainer = _trainer_class(speed["precision"])(
        model=model,
        args=args,
        data_collator=data_collator(task, tokenizer, hp["max_seq_length"], speed["torch_compile"]),
        train_dataset=prepared["train"].features,
        processing_class=tokenizer,
        preprocess_logits_for_metrics=_argmax_logits if task.problem == "token_classification" else None,
    )
    trainer.remove_callback(PrinterCallback)  # it prints logs to stdout; we log to stderr

    scorer = _PointScorer(task, trainer, prepared, work_dir, evaluated, predictions)
    trainer.add_callback(_point_callback(points, scorer))
    trainer.add_callback(callbacks.progress_callback(f"finetune {model_name}/{task.name}/seed{seed}"))
    trainer.add_callback(callbacks.stop_callback(lambda: resume.stop_message(task.name, work_dir)))
    # The objects alive now (the imported libraries, the model, the features) stay alive
    # through training: exempt them from garbage collection, whose full passes (one at
    # the start of Trainer.train) would otherwise walk all of them every time.
    gc.freeze()
    try:
        with stop.deferred():  # a stop request acts after a training step or a prediction batch
            output = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    finally:
        gc.unfreeze()
    losses = {entry["step"]: entry["loss"] for entry in trainer.state.log_history if "loss" in entry}
    device = str(trainer.args.device)
    optimizer = str(getattr(trainer.args.optim, "value", trainer.args.optim))

    if [entry["step"] for entry in evaluated] != points or set(losses) != set(points):
        raise RuntimeError(f"save points {points}: scored {[e['step'] for e in evaluated]}, losses at {sorted(losses)}")
    for entry in evaluated:
        entry["train_loss"] = losses[entry["step"]]
    headline = task.metrics[0]
    selected = protos.report(evaluated, headline, protocols)
    # this process's share: a resumed run trained the steps after resumed_step, up to the last point
    train_seconds = output.metrics["train_runtime"] - scorer.eval_seconds
    trained_epochs = (points[-1] - resumed_step) / steps_per_epoch(n_train, hp["train_batch_size"])
    result = {
        "task": task.name,
        "problem": task.problem,
        "model": model_name,
        "model_source": str(model_source),
        "model_revision": source.revision,  # the hub snapshot's commit (None for a folder)
        "model_type": getattr(model.config, "model_type", None),
        "tokenizer": {"class": type(tokenizer).__name__, "fast": bool(tokenizer.is_fast)},
        "seed": seed,
        "headline_metric": headline,
        "metrics": list(task.metrics),
        "hyperparameters": hp,
        "optimizer": optimizer,
        "training_speed_settings": speed,
        "data": {
            "dir": str(data_dir),
            "dev_fraction": dev_fraction if task.files["dev"] is None else None,
            "dev_source": "file" if task.files["dev"] else "carved from train",
            # the published numbers were measured on the upstream files, uncapped
            "upstream": upstream,
            "git_blob_sha1": blobs,
            "max_train_examples": max_train_examples,
            "max_eval_examples": max_eval_examples,
            "skipped": {name: splits[name].skipped for name in splits},
            **{name: split.info for name, split in prepared.items()},
        },
        "model_loading": loading,
        "steps_per_epoch": steps_per_epoch(n_train, hp["train_batch_size"]),
        "points": evaluated,  # the save points in step order
        "resumed_from_step": resumed_step,  # 0: trained from the start in one process
        "protocols": selected,
        "timing": {
            "tokenize_seconds": tokenized - started,
            "train_seconds": train_seconds,
            "eval_seconds": scorer.eval_seconds,
            "total_seconds": time.perf_counter() - started,
            "train_examples_per_second": n_train * trained_epochs / train_seconds if train_seconds > 0 else None,
        },
        "environment": _environment(device),
    }
    output_dir = Path(output_dir)
    write_predictions(output_dir / "predictions.jsonl", task, prepared["test"], predictions, selected)
    write_json(output_dir / "metrics.json", result)
    shutil.rmtree(work_dir)  # the outputs are complete: the resume state is no longer needed
    for protocol, chosen in selected.items():
        log.info(
            "%s %s protocol: step %d (epoch %.2f), test %s %.2f",
            task.name,
            protocol,
            chosen["step"],
            chosen["epoch"],
            headline,
            chosen["test"][headline],
        )
    return result


def _load_examples(
    task: Task,
    data_dir: str | os.PathLike,
    dev_fraction: float,
    max_train_examples: int | None,
    max_eval_examples: int | None,
) -> tuple[dict, dict[str, list]]:
    """(splits, {split: examples}) of `task`: the splits as read (the dev split carved with the
    task's reference seed, so that every seed sees the same data) and their examples after
    the limits. Raises KrelectraError for an empty split, naming its file."""
    splits = load_splits(task, data_dir, dev_fraction, task.hyperparameters["seed"])
    limits = {"train": max_train_examples, "dev": max_eval_examples, "test": max_eval_examples}
    examples = {name: subsample(splits[name].examples, limit, f"{task.name}/{name}") for name, limit in limits.items()}
    for name, split_examples in examples.items():
        if not split_examples:
            raise KrelectraError(f"task {task.name}: the {name} split is empty ({splits[name].path})")
    return splits, examples


def _restore_or_start(work_dir: Path, fingerprint: dict, restart: bool) -> Path | None:
    """The checkpoint to resume from in `work_dir` when its state belongs to this run (the
    fingerprint rule of krelectra.fingerprint), else None after moving another run's state
    aside (with `restart`). Records this run's fingerprint. Raises KrelectraError naming what
    changed when the state belongs to another run and `restart` is off."""
    checkpoint = resume.latest_checkpoint(work_dir)
    switch = "finetune.restart: true (or `krelectra finetune train --restart`)"
    decision = fp.check_state(work_dir, fingerprint, checkpoint is not None, restart, switch)
    if decision == fp.MOVE_ASIDE:
        fp.move_aside(work_dir)
    fp.write_fingerprint(work_dir, fingerprint)
    return checkpoint if decision == fp.RESUME else None


class _PointScorer:
    """Called at every save point: scores dev and test (leaving the PyTorch RNG state as it
    found it), keeps the point's metrics and test predictions in `points` / `predictions`
    and writes them to the resume state before the point's checkpoint is saved.
    `eval_seconds` sums the time spent scoring."""

    def __init__(self, task: Task, trainer, prepared: dict, work_dir: Path, points: list, predictions: dict):
        self.task, self.trainer, self.prepared, self.work_dir = task, trainer, prepared, work_dir
        self.points, self.predictions = points, predictions
        self.eval_seconds = 0.0

    def __call__(self, step: int, epoch: float, train_seconds: float) -> None:
        import torch

        t0 = time.perf_counter()
        entry: dict[str, Any] = {"step": step, "epoch": round(epoch, 4), "train_seconds": train_seconds}
        self.predictions[step] = {}
        # Each prediction's DataLoader draws its base seed from the global PyTorch RNG: put
        # it back, so that training (dropout) is the same wherever the points lie, as in
        # the reference, which evaluated its checkpoints after training.
        cuda = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
        with torch.random.fork_rng(devices=cuda):
            for name in ("dev", "test"):
                split = self.prepared[name]
                predicted = split.decode(predict_in_length_order(self.trainer, split.features))
                entry[name] = task_metrics.compute(self.task, split.gold, predicted)
                self.predictions[step][name] = predicted
        entry["eval_seconds"] = time.perf_counter() - t0
        self.eval_seconds += entry["eval_seconds"]
        self.points.append(entry)
        resume.write_points(self.work_dir, self.points, self.predictions)  # before the point's checkpoint
        headline = self.task.metrics[0]
        log.info(
            "%s step %d (epoch %.2f): dev %s %.2f, test %s %.2f (%.1f s training)",
            self.task.name,
            step,
            epoch,
            headline,
            entry["dev"][headline],
            headline,
            entry["test"][headline],
            train_seconds,
        )


def _environment(device: str) -> dict:
    """Where the run computed: device, threads, CPU kernels and library versions."""
    import torch
    import transformers

    return {
        "device": device,
        "torch_threads": torch.get_num_threads(),
        "cpu_kernels": "portable" if kernels.portable_active() else "native",
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
    }


def write_predictions(path: Path, task: Task, test: Split, predictions: dict, selected: dict) -> None:
    """One JSON line per test example: its index in the test split (and question id for
    QA), the gold value, the prediction at each protocol's selected point and that point's step."""
    import json

    with atomic_open(path) as handle:
        for index, example in enumerate(test.examples):
            if task.problem == "extractive_qa":
                key = example["id"]
                record = {"index": index, "id": key, "gold": test.gold[key]}
                record["prediction"] = {p: predictions[s["step"]]["test"][key] for p, s in selected.items()}
            else:
                record = {"index": index, "gold": test.gold[index]}
                record["prediction"] = {p: predictions[s["step"]]["test"][index] for p, s in selected.items()}
            record["step"] = {p: s["step"] for p, s in selected.items()}
            handle.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
