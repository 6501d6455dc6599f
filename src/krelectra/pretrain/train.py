"""The pretraining run: strategy, training loop, evaluation, metrics, checkpoints, resume.

Layout of the work folder (`{RESULTS}/pretrain`):

    checkpoints/   working TF1 checkpoints model.ckpt-<step> (+ `checkpoint` state file),
                   the live metrics.jsonl and the configs they belong to; a rerun resumes
                   from the latest checkpoint here (Snakemake does not own this folder)
    tensorboard/   train/ and eval/ event files
    final/         model.ckpt.{index,data-00000-of-00001}, checkpoint, model_config.json,
                   pretrain_config.json (written once, at the end)
    metrics.jsonl  every logged train and eval record (copied at the end)
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import re
import shutil
import sys
import time
from pathlib import Path

import tensorflow as tf
from tensorflow.core.framework import summary_pb2

from krelectra import fingerprint as fp
from krelectra import stop
from krelectra.errors import KrelectraError
from krelectra.io import atomic_open, read_json, write_json
from krelectra.pretrain import FINAL_DIR
from krelectra.pretrain import checkpoint as ckpt
from krelectra.pretrain.config import PretrainConfig, TrainConfig
from krelectra.pretrain.data import eval_dataset, train_dataset
from krelectra.pretrain.examples import count_records, load_tokenizer, special_ids
from krelectra.pretrain.fields import from_fields
from krelectra.pretrain.model import ElectraPretrainingModel, ModelConfig
from krelectra.pretrain.objective import SUM_KEYS, Objective, electra_loss, local_counts, metrics_from_sums
from krelectra.pretrain.optimization import AdamWeightDecay, OptimizerConfig, learning_rate
from krelectra.pretrain.runtime import Settings, multiworker_cluster_resolver, resolve_settings
from krelectra.progress import ProgressLine

log = logging.getLogger(__name__)
SUM = tf.distribute.ReduceOp.SUM
SCALAR_METADATA = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
).SerializeToString()


def make_strategy(config: PretrainConfig) -> tf.distribute.Strategy:
    if config.strategy == "default":
        return tf.distribute.get_strategy()
    if config.strategy == "mirrored":
        return tf.distribute.MirroredStrategy()
    if config.strategy == "multiworker":  # the cluster from TF_CONFIG, or from SLURM under srun
        return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=multiworker_cluster_resolver())
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(
        tpu=config.tpu.name or None, zone=config.tpu.zone or None, project=config.tpu.project or None
    )
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def build_model_config(config: PretrainConfig, vocab_size: int) -> ModelConfig:
    """The model's sizes: the `pretrain.model` section through the recipe's rules (`ModelConfig.from_recipe`)."""
    return ModelConfig.from_recipe(vocab_size=vocab_size, **dataclasses.asdict(config.model))


def build_objective(config: PretrainConfig, ids: dict[str, int]) -> Objective:
    """The objective's settings from `pretrain.train`, with the special tokens' ids of the vocabulary."""
    return from_fields(
        Objective,
        config.train,
        "config pretrain.train",
        max_predictions_per_seq=config.max_predictions_per_seq,
        mask_token_id=ids["[MASK]"],
        never_masked_ids=tuple(ids[token] for token in ("[CLS]", "[SEP]", "[MASK]", "[PAD]")),
    )


def optimizer_config(config: PretrainConfig) -> OptimizerConfig:
    """The optimizer's settings: the keys of `pretrain.train` that `OptimizerConfig` has."""
    return from_fields(OptimizerConfig, config.train, "config pretrain.train")


class Trainer:
    """The model, optimizer and compiled step functions under one distribution strategy.

    `settings` are the resolved xla / mixed_precision settings (default: `resolve_settings`
    of the config, which turns "auto" into what suits this device)."""

    def __init__(
        self,
        config: PretrainConfig,
        model_config: ModelConfig,
        objective: Objective,
        strategy: tf.distribute.Strategy,
        settings: Settings | None = None,
    ):
        self.config, self.objective, self.strategy = config, objective, strategy
        self.settings = settings or resolve_settings(config)
        with strategy.scope():
            self.model = ElectraPretrainingModel(
                model_config,
                seed=config.seed,
                compute_dtype="bfloat16" if self.settings.mixed_precision else "float32",
            )
            self.optimizer = AdamWeightDecay(self.model.named_variables, optimizer_config(config))
        self.variables = list(self.model.named_variables.values())
        # Only the per-replica forward/backward pass is XLA-compiled; the cross-replica sums
        # and the update stay outside it so every strategy can run them.
        # Only the loops over steps need autograph (tf.range); the model, the loss and the
        # update have no control flow on tensors, and converting them made tracing take
        # seconds longer for the same graph (the same checkpoint bytes).
        self._forward_backward = tf.function(self._forward_backward_fn, jit_compile=self.settings.xla, autograph=False)
        self._evaluate_batch = tf.function(self._evaluate_fn, jit_compile=self.settings.xla, autograph=False)
        self.train_loop = tf.function(self._train_loop_fn)
        self.eval_step = tf.function(self._eval_step_fn)

    @property
    def step(self) -> int:
        return int(self.optimizer.global_step.numpy())

    def _forward_backward_fn(self, batch, global_counts):
        with tf.GradientTape() as tape:
            loss, sums = electra_loss(self.model, batch, global_counts, self.objective, training=True)
        grads = tape.gradient(loss, self.variables)
        grads = [tf.zeros_like(v) if g is None else tf.convert_to_tensor(g) for g, v in zip(grads, self.variables)]
        return grads, sums

    @tf.autograph.experimental.do_not_convert
    def _replica_train_step(self, batch):
        context = tf.distribute.get_replica_context()
        global_counts = context.all_reduce(SUM, local_counts(batch))
        grads, sums = self._forward_backward(batch, global_counts)
        grads = context.all_reduce(SUM, grads)
        self.optimizer.apply(grads)
        return _stacked(sums)

    def _train_loop_fn(self, iterator, steps):
        # The sums travel as one vector: one cross-replica reduction a step, not one per key.
        totals = tf.zeros([len(SUM_KEYS)])
        for _ in tf.range(steps):
            per_replica = self.strategy.run(self._replica_train_step, args=(next(iterator),))
            totals += self.strategy.reduce(SUM, per_replica, axis=None)
        return _unstacked(totals)

    def _evaluate_fn(self, batch, global_counts):
        return electra_loss(self.model, batch, global_counts, self.objective, training=False)[1]

    @tf.autograph.experimental.do_not_convert
    def _replica_eval_step(self, batch):
        global_counts = tf.distribute.get_replica_context().all_reduce(SUM, local_counts(batch))
        return _stacked(self._evaluate_batch(batch, global_counts))

    def _eval_step_fn(self, batch):
        per_replica = self.strategy.run(self._replica_eval_step, args=(batch,))
        return _unstacked(self.strategy.reduce(SUM, per_replica, axis=None))

    def evaluate(self, dataset) -> dict:
        totals = dict.fromkeys(SUM_KEYS, 0.0)
        for batch in self.strategy.experimental_distribute_dataset(dataset):
            sums = self.eval_step(batch)
            for key in SUM_KEYS:
                totals[key] += float(sums[key])
        return metrics_from_sums(totals, self.objective)


def _stacked(sums: dict) -> tf.Tensor:
    return tf.stack([sums[key] for key in SUM_KEYS])


def _unstacked(vector: tf.Tensor) -> dict:
    return dict(zip(SUM_KEYS, tf.unstack(vector)))


class MetricsLog:
    """metrics.jsonl kept beside the checkpoints; on resume, records past the restored step
    (steps that will be trained again) are dropped. With write=False (a multiworker worker
    other than the chief) the file is only read, and new records are kept in memory."""

    def __init__(self, path: Path, keep_up_to_step: int, write: bool = True):
        self.path, self.write = path, write
        records = []
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    record = json.loads(line)
                    if record["step"] <= keep_up_to_step:
                        records.append(record)
        if write:
            with atomic_open(path) as handle:
                handle.writelines(json.dumps(r, sort_keys=True) + "\n" for r in records)
        self.records = records

    def append(self, record: dict) -> None:
        self.records.append(record)
        if self.write:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record, sort_keys=True) + "\n")


def stats_path(example_file: Path) -> Path:
    """The `{shard}.json` stats that `pretrain examples` writes beside `{shard}[.eval].tfrecord`."""
    return example_file.with_name(example_file.name.split(".")[0] + ".json")


def count_examples(files: list[Path], kind: str, hashes: dict[str, str]) -> int:
    """Examples in the TFRecord `files` of `kind` ("train" or "eval"), given the files'
    SHA-256 as `fp.files_sha256(files)` returns them (the run's fingerprint holds them).

    A file's count comes from its stats (`{kind}_examples`) when the stats record the
    hash the file has now (`{kind}_sha256`, written by `pretrain examples`), so no file is
    read again to count it; a file without stats, or with stats from before they held the
    hash, is counted by reading it (`count_records`). Raises KrelectraError naming the stats
    and the file when the recorded hash differs: the stats describe another version of it."""
    total = 0
    for path, key in zip(files, fp.file_keys(files), strict=True):
        digest = hashes[key]
        stats_file = stats_path(path)
        stats = read_json(stats_file) if stats_file.is_file() else {}
        recorded = stats.get(f"{kind}_sha256")
        if recorded is None or f"{kind}_examples" not in stats:
            log.info("%s: no example count with its hash in %s: counting the records", path, stats_file)
            total += count_records([path])
        elif recorded != digest:
            raise KrelectraError(
                f"{stats_file}: {kind}_sha256 is {recorded[:12]}..., but {path} now has SHA-256 "
                f"{digest[:12]}...: the stats describe another version of the file. Rebuild both with "
                "`krelectra pretrain examples` (the pretrain_examples rule)"
            )
        else:
            total += int(stats[f"{kind}_examples"])
    return total


def resolved_hyperparameters(
    config: PretrainConfig, strategy, settings: Settings, train_examples: int, eval_examples: int
) -> dict:
    train = dataclasses.asdict(config.train)
    train["max_predictions_per_seq"] = config.max_predictions_per_seq
    return {
        **train,
        "max_seq_length": config.examples.max_seq_length,
        "seed": config.seed,
        "strategy": config.strategy,
        "num_replicas": strategy.num_replicas_in_sync,
        "per_replica_batch_size": config.train.train_batch_size // strategy.num_replicas_in_sync,
        "xla": settings.xla,
        "mixed_precision": settings.mixed_precision,
        "device": settings.device,
        "init_checkpoint": config.init_checkpoint,
        "train_examples": train_examples,
        "eval_examples": eval_examples,
        "examples": dataclasses.asdict(config.examples),
        "model": dataclasses.asdict(config.model),
    }


# Keys of `pretrain.train` that do not change what is trained: how often the run logs,
# saves and evaluates, how many steps one compiled loop runs, and num_train_steps (a larger
# one continues the run). Everything else, with the seed, init_checkpoint, the resolved
# mixed_precision, the example and model settings, is in the fingerprint. Left out too:
# strategy, tpu and xla (where and how the same math runs: a run may move to another
# machine), and restart.
NOT_FINGERPRINTED_TRAIN_KEYS = (
    "num_train_steps",
    "iterations_per_loop",
    "log_every_steps",
    "save_checkpoints_steps",
    "keep_checkpoint_max",
    "eval_every_steps",
)


def run_fingerprint(
    config: PretrainConfig, settings: Settings, vocab_dir: Path, train_files: list[Path], eval_files: list[Path]
) -> dict:
    """What determines a pretraining run (krelectra.fingerprint): the settings that change
    what is computed, and the SHA-256 of vocab.txt and of every example file."""
    train = {k: v for k, v in dataclasses.asdict(config.train).items() if k not in NOT_FINGERPRINTED_TRAIN_KEYS}
    train["max_predictions_per_seq"] = config.max_predictions_per_seq
    return {
        "format": fp.FORMAT,
        "settings": {
            "seed": config.seed,
            "init_checkpoint": config.init_checkpoint,
            "mixed_precision": settings.mixed_precision,
            "examples": dataclasses.asdict(config.examples),
            "model": dataclasses.asdict(config.model),
            "train": train,
        },
        "vocab": fp.files_sha256([Path(vocab_dir) / "vocab.txt"]),
        "train_files": fp.files_sha256(train_files),
        "eval_files": fp.files_sha256(eval_files),
    }


def run_pretraining(
    train_files: list[Path],
    eval_files: list[Path],
    vocab_dir: Path,
    config: PretrainConfig,
    work_dir: Path,
    strategy: tf.distribute.Strategy | None = None,
    progress: bool = True,
) -> list[dict]:
    """Pretrain (or resume) and write the work folder described above. Returns the
    metrics records (train and eval) of the whole run.

    The steps: build the model and objective for this vocabulary; restore the run's newest
    checkpoint, or initialise (`_restore_or_initialise`); train in loops that end at every
    log, save and evaluation step (`_train`), recording metrics as they come (`_Recorder`);
    write `final/` (`_write_final`). Raises KrelectraError on bad input or settings."""
    work_dir = Path(work_dir)
    train_files, eval_files = [Path(f) for f in train_files], [Path(f) for f in eval_files]
    if not train_files:
        raise KrelectraError("pretrain train: no training example files given")
    tokenizer = load_tokenizer(vocab_dir)
    model_config = build_model_config(config, tokenizer.get_vocab_size())
    objective = build_objective(config, special_ids(tokenizer))
    strategy = strategy or make_strategy(config)
    _check_batch_sizes(config, strategy.num_replicas_in_sync)
    settings = resolve_settings(config)
    log.info("device %s: xla=%s, mixed_precision=%s", settings.device, settings.xla, settings.mixed_precision)
    # The fingerprint reads every example file once (SHA-256); the counts come from the stats.
    fingerprint = run_fingerprint(config, settings, vocab_dir, train_files, eval_files)
    train_examples, eval_examples = _count_examples(train_files, eval_files, fingerprint)
    hyper = resolved_hyperparameters(config, strategy, settings, train_examples, eval_examples)

    trainer = Trainer(config, model_config, objective, strategy, settings)
    # Under multiworker every worker holds the same weights, but only the chief writes: the
    # others resume from the chief's newest checkpoint, so the work folder must be on a file
    # system that all workers share (docs/pretrain.md).
    chief = _is_chief(strategy)
    checkpoints = work_dir / "checkpoints"
    start = _restore_or_initialise(trainer, config, work_dir, fingerprint, chief)
    rotation = ckpt.CheckpointRotation(checkpoints, config.train.keep_checkpoint_max) if chief else None
    if chief:
        fp.write_fingerprint(checkpoints, fingerprint)
        write_json(checkpoints / "model_config.json", model_config.to_dict())
        write_json(checkpoints / "pretrain_config.json", hyper)

    recorder = _Recorder(checkpoints / "metrics.jsonl", work_dir / "tensorboard", start, chief)
    evaluation = _evaluation_dataset(config, objective, eval_files, eval_examples)
    with _failing_clearly_when_a_worker_is_lost(strategy, checkpoints), stop.deferred():
        _train(trainer, train_files, start, recorder, evaluation, rotation, progress=progress and chief)
    recorder.close()
    if chief:
        _write_final(work_dir, trainer, model_config, hyper, recorder.metrics.path)
    return recorder.metrics.records


def _check_batch_sizes(config: PretrainConfig, replicas: int) -> None:
    """Each global batch splits evenly over the replicas, or KrelectraError names the key."""
    for key in ("train_batch_size", "eval_batch_size"):
        size = getattr(config.train, key)
        if size % replicas:
            raise KrelectraError(
                f"pretrain.train.{key}={size} is not a multiple of the "
                f"{replicas} replicas of the {config.strategy!r} strategy"
            )


def _count_examples(train_files: list[Path], eval_files: list[Path], fingerprint: dict) -> tuple[int, int]:
    """(training examples, held-out examples) by `count_examples` with the fingerprint's
    hashes; KrelectraError when there is nothing to train on."""
    train_examples = count_examples(train_files, "train", fingerprint["train_files"])
    eval_examples = count_examples(eval_files, "eval", fingerprint["eval_files"])
    if train_examples == 0:
        raise KrelectraError(f"{train_files[0]}: the training example files hold no example")
    return train_examples, eval_examples


def _restore_or_initialise(trainer: Trainer, config: PretrainConfig, work_dir: Path, fingerprint: dict, chief: bool):
    """Resume from the newest working checkpoint when it belongs to this run (same
    fingerprint, step within num_train_steps); otherwise start at step 0, from
    `init_checkpoint` when one is set, after the chief moved another run's checkpoints and
    event files aside (with `restart`) or refused to touch them (KrelectraError). Returns
    the step the run starts at."""
    t = config.train
    checkpoints = work_dir / "checkpoints"
    latest = _latest_checkpoint(checkpoints)
    switch = "pretrain.restart: true (or `krelectra pretrain train --restart`)"
    decision = fp.check_state(checkpoints, fingerprint, latest is not None, config.restart, switch)
    latest_step = _checkpoint_step(latest) if latest is not None else 0
    if decision == fp.RESUME and latest_step > t.num_train_steps:
        # a shorter run than the one checkpointed: another learning-rate schedule
        if not config.restart:
            raise KrelectraError(
                f"{latest}: step {latest_step} is past pretrain.train.num_train_steps="
                f"{t.num_train_steps}; raise num_train_steps to at least {latest_step} to "
                f"continue the run, or start afresh with {switch}"
            )
        decision = fp.MOVE_ASIDE
    if decision == fp.MOVE_ASIDE and chief:  # the other workers start from step 0 too
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        for folder in (checkpoints, work_dir / "tensorboard"):
            fp.move_aside(folder, stamp)
    if decision == fp.RESUME and latest is not None:
        start = ckpt.restore_training_state(trainer.model, trainer.optimizer, latest)
        log.info("resuming from %s (step %d of %d)", latest, start, t.num_train_steps)
        return start
    if config.init_checkpoint:
        ckpt.restore_tf1(trainer.model, config.init_checkpoint)
        log.info("initialised the model from %s", config.init_checkpoint)
    return 0


def _evaluation_dataset(config: PretrainConfig, objective: Objective, eval_files: list[Path], eval_examples: int):
    """The fixed held-out batches evaluated at every evaluation step, or None (no held-out
    examples, or max_eval_batches = 0)."""
    t = config.train
    if eval_examples and t.max_eval_batches > 0:
        return eval_dataset(
            eval_files,
            config.examples.max_seq_length,
            t.eval_batch_size,
            objective,
            config.seed,
            eval_examples,
            t.max_eval_batches,
        )
    log.warning("no held-out examples (or max_eval_batches = 0): evaluation is skipped")
    return None


class _Recorder:
    """Every metrics record goes to metrics.jsonl (`MetricsLog`) and, on the chief, to
    TensorBoard's `tensorboard/{train,eval}` event files."""

    def __init__(self, metrics_path: Path, tensorboard: Path, start: int, chief: bool):
        self.metrics = MetricsLog(metrics_path, keep_up_to_step=start, write=chief)
        self.writers = {}
        if chief:
            self.writers = {
                split: tf.summary.create_file_writer(str(tensorboard / split)) for split in ("train", "eval")
            }

    def has(self, split: str, step: int) -> bool:
        return any(r["split"] == split and r["step"] == step for r in self.metrics.records)

    def record(self, split: str, step: int, values: dict) -> None:
        self.metrics.append({"split": split, "step": step, **values})
        if split in self.writers:
            with self.writers[split].as_default(step=step):
                for key, value in values.items():
                    # What tf.summary.scalar writes, without needing the tensorboard package.
                    tf.summary.write(key, tf.constant(value, tf.float32), metadata=SCALAR_METADATA)
            self.writers[split].flush()

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()


def _eval_due(step: int, t: TrainConfig) -> bool:
    """Evaluation runs at step 0, at the last step and every eval_every_steps."""
    return step in (0, t.num_train_steps) or (t.eval_every_steps > 0 and step % t.eval_every_steps == 0)


def _loop_length(step: int, t: TrainConfig) -> int:
    """Steps of the next compiled loop: at most iterations_per_loop, ending at the next step
    due for a log, a checkpoint or an evaluation, or at num_train_steps."""
    boundaries = [t.num_train_steps]
    for every in (t.log_every_steps, t.save_checkpoints_steps, t.eval_every_steps):
        if every > 0:
            boundaries.append((step // every + 1) * every)
    return min(min(boundaries) - step, t.iterations_per_loop)


class _Throughput:
    """Speed over the loops since the last record. The run's first loop (which traces and
    compiles the step) counts only when nothing else was timed."""

    def __init__(self):
        self.first: dict | None = None
        self.reset()

    def reset(self) -> None:
        self.steps, self.tokens, self.seconds = 0, 0.0, 0.0

    def add(self, steps: int, tokens: float, seconds: float) -> None:
        if self.first is None:
            self.first = {"steps": steps, "tokens": tokens, "seconds": seconds}
        else:
            self.steps, self.tokens, self.seconds = self.steps + steps, self.tokens + tokens, self.seconds + seconds

    def rates(self, batch_size: int) -> dict:
        """{"examples_per_sec", "tokens_per_sec" (non-padding tokens)}."""
        timed = {"steps": self.steps, "tokens": self.tokens, "seconds": self.seconds}
        if not self.steps:
            timed = self.first or timed
        return {
            "examples_per_sec": timed["steps"] * batch_size / timed["seconds"],
            "tokens_per_sec": timed["tokens"] / timed["seconds"],
        }


def _train(
    trainer: Trainer,
    train_files: list[Path],
    start: int,
    recorder: _Recorder,
    evaluation,
    rotation: ckpt.CheckpointRotation | None,
    progress: bool,
) -> None:
    """Train from step `start` to num_train_steps: record train metrics every
    log_every_steps, save a working checkpoint every save_checkpoints_steps (when
    `rotation` is given) and evaluate when due, all at the last step too."""
    config, objective = trainer.config, trainer.objective
    t = config.train

    def evaluate(step: int) -> None:
        if evaluation is not None:
            recorder.record("eval", step, trainer.evaluate(evaluation))

    # An evaluation due at the start (step 0, or a run killed during the evaluation that
    # follows a checkpoint) that the metrics lack.
    if _eval_due(start, t) and not recorder.has("eval", start):
        evaluate(start)
    dataset = train_dataset(
        train_files,
        config.examples.max_seq_length,
        t.train_batch_size,
        objective,
        config.seed,
        t.shuffle_buffer,
        start_step=start,
    )
    iterator = iter(trainer.strategy.experimental_distribute_dataset(dataset))
    step = start
    sums = dict.fromkeys(SUM_KEYS, 0.0)
    throughput = _Throughput()
    bar = _progress(start, t.num_train_steps, enabled=progress)
    line = ProgressLine("pretrain", t.num_train_steps, start=start)
    saved = start if rotation is not None and rotation.latest() is not None else None
    while step < t.num_train_steps:
        steps = _loop_length(step, t)
        began = time.perf_counter()
        loop_sums = trainer.train_loop(iterator, tf.constant(steps))
        loop_sums = {key: float(value) for key, value in loop_sums.items()}  # waits for the device
        throughput.add(steps, loop_sums["tokens"], time.perf_counter() - began)
        step += steps
        for key in SUM_KEYS:
            sums[key] += loop_sums[key]
        bar.update(steps)
        if progress:
            line.update(step, loss=f"{metrics_from_sums(loop_sums, objective)['loss']:.3f}")
        done = step == t.num_train_steps
        if step % t.log_every_steps == 0 or done:
            values = metrics_from_sums(sums, objective)
            values["learning_rate"] = float(learning_rate(step - 1, trainer.optimizer.config))
            values.update(throughput.rates(t.train_batch_size))
            recorder.record("train", step, values)
            bar.set_postfix(loss=f"{values['loss']:.3f}", gen_acc=f"{values['generator_accuracy']:.3f}", refresh=False)
            sums = dict.fromkeys(SUM_KEYS, 0.0)
            throughput.reset()
        if rotation is not None and (step % t.save_checkpoints_steps == 0 or done):
            rotation.save(trainer.model, trainer.optimizer, step)
            saved = step
        if stop.requested() is not None and not done:
            _stop(trainer, rotation, step, saved)
        if _eval_due(step, t):
            evaluate(step)
    bar.close()


def _stop(trainer: Trainer, rotation: ckpt.CheckpointRotation | None, step: int, saved: int | None) -> None:
    """On a stop request (krelectra.stop): save a working checkpoint at `step` unless the
    newest one (`saved`) is at it, and raise StopRequested saying where a rerun resumes."""
    total = trainer.config.train.num_train_steps
    if rotation is None:  # a multiworker worker other than the chief: the chief saves
        where = "the chief saves the checkpoint"
    else:
        if saved != step:
            rotation.save(trainer.model, trainer.optimizer, step)
        where = f"checkpoint {rotation.directory / f'model.ckpt-{step}'}"
    stop.check(f"pretraining stopped at step {step} of {total} ({where}); run it again to resume")


def _checkpoint_step(prefix: Path) -> int:
    """The step of a working checkpoint `model.ckpt-<step>`."""
    return int(prefix.name.rsplit("-", 1)[1])


def _latest_checkpoint(checkpoints: Path) -> Path | None:
    """The newest working checkpoint in `checkpoints`, read without writing anything."""
    latest, _ = ckpt.read_checkpoint_state(checkpoints)
    if latest is None or not Path(f"{checkpoints / latest}.index").is_file():
        return None
    return checkpoints / latest


# What TensorFlow's collectives raise when a worker of the cluster has gone: the connection
# to it is reset, or the coordination service misses its heartbeats (about 20 s).
LOST_WORKER_ERRORS = (
    tf.errors.UnavailableError,
    tf.errors.DeadlineExceededError,
    tf.errors.CancelledError,
    tf.errors.AbortedError,
)


@contextlib.contextmanager
def _failing_clearly_when_a_worker_is_lost(strategy: tf.distribute.Strategy, checkpoints: Path):
    """Under multiworker: one error that says what happened and how to resume, in place of
    TensorFlow's collective-op traceback."""
    try:
        yield
    except LOST_WORKER_ERRORS as error:
        if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
            raise
        latest = _latest_checkpoint(checkpoints)
        resume = f"newest checkpoint {latest}" if latest else f"no checkpoint in {checkpoints} yet: from step 0"
        raise KrelectraError(
            f"pretrain.strategy=multiworker: lost contact with another worker of the cluster "
            f"({type(error).__name__}: {_collective_error_reason(error)}); start every worker again "
            f"to resume ({resume})"
        ) from None


def _collective_error_reason(error: tf.errors.OpError) -> str:
    """The first two lines of TensorFlow's message (what failed and which task), without the
    `{{function_node ...}}` prefix."""
    text = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", error.message or "")
    return " ".join(line.strip() for line in text.strip().splitlines()[:2])[:400]


def _is_chief(strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or resolver is None:
        return True
    return resolver.task_type in (None, "chief") or (
        resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in resolver.cluster_spec().as_dict()
    )


def _progress(start: int, total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(
        total=total,
        initial=start,
        unit="step",
        desc="pretrain",
        file=sys.stderr,
        disable=not enabled,
        mininterval=2.0,
        dynamic_ncols=True,
    )


def _write_final(work_dir: Path, trainer: Trainer, model_config: ModelConfig, hyper: dict, live_metrics: Path):
    final = work_dir / FINAL_DIR
    final.mkdir(parents=True, exist_ok=True)
    ckpt.save_tf1(trainer.model, trainer.optimizer, final / "model.ckpt", trainer.step)
    ckpt.write_checkpoint_state(final, "model.ckpt", ["model.ckpt"])
    write_json(final / "model_config.json", model_config.to_dict())
    write_json(final / "pretrain_config.json", hyper)
    with atomic_open(work_dir / "metrics.jsonl") as handle, open(live_metrics, encoding="utf-8") as source:
        shutil.copyfileobj(source, handle)
    log.info("final checkpoint at step %d: %s", trainer.step, final / "model.ckpt")
