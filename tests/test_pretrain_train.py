"""Real pretraining runs (the embedded default's own run is asserted in
test_end_to_end.py, on the session's run): a run killed with SIGKILL resumes
from its latest checkpoint when the rule is rerun (and a bfloat16 run resumes exactly too),
init_checkpoint continues from a TF1 checkpoint, MirroredStrategy over two devices gives the
losses of one device (float32; bfloat16 within its tolerance), and the config schema's
defaults are the code's."""

import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from workflow_helpers import REPO, copy_workflow, snakemake

from krelectra.pretrain.checkpoint import read_checkpoint_state
from krelectra.pretrain.config import PretrainConfig

EXAMPLES = [
    f"results/pretrain/examples/{shard:05d}{suffix}"
    for shard in range(2)
    for suffix in (".tfrecord", ".eval.tfrecord", ".json")
]

# A model small enough to train 120 steps in seconds (the kill-and-resume test).
TINY = {
    "model": {"embedding_size": 32, "hidden_size": 32, "num_hidden_layers": 1, "generator_hidden_size": 0.5},
    "train": {
        "train_batch_size": 8,
        "num_train_steps": 120,
        "num_warmup_steps": 10,
        "log_every_steps": 10,
        "save_checkpoints_steps": 20,
        "eval_every_steps": 60,
        "iterations_per_loop": 5,
        "eval_batch_size": 8,
        "max_eval_batches": 2,
        "shuffle_buffer": 100,
    },
}


def merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in override.items():
        out[key] = merge(out.get(key, {}), value) if isinstance(value, dict) else value
    return out


def default_config() -> dict:
    return yaml.safe_load((REPO / "config/config.yaml").read_text())


def default_section() -> dict:
    return default_config()["pretrain"]


def env() -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO / "src"), "TF_CPP_MIN_LOG_LEVEL": "2", "HF_HUB_OFFLINE": "1"}


def read_metrics(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def pretrain_pipeline(tmp_path_factory) -> Path:
    """A copy of the workflow whose corpus, vocabulary and pretraining examples are built."""
    work = copy_workflow(tmp_path_factory.mktemp("pretrain_pipeline"))
    snakemake(work, "--cores", "2", *EXAMPLES)
    return work


def clone(pipeline: Path, dest: Path) -> Path:
    shutil.copytree(pipeline, dest, symlinks=True)
    return dest


def train_cli(work_dir: Path, pipeline: Path, section: dict) -> subprocess.CompletedProcess:
    """`krelectra pretrain train` as the pretrain_model rule runs it under `snakemake --cores 2`
    with config/config.yaml: the same `cpu_kernels` and 2 threads. Both change the numbers (and
    under `native` on a CPU with AVX512-BF16 or AMX, `mixed_precision: auto` is bfloat16 while
    the rule's `portable` kernels make it float32), so a run compared with the rule's must
    share them."""
    examples = pipeline / "results/pretrain/examples"
    command = [
        sys.executable,
        "-m",
        "krelectra",
        "pretrain",
        "train",
        "--no-progress",
        "--vocab-dir",
        str(pipeline / "results/vocab/tokenizer"),
        "--work-dir",
        str(work_dir),
        "--train",
        *map(str, sorted(examples.glob("?????.tfrecord"))),
        "--eval",
        *map(str, sorted(examples.glob("?????.eval.tfrecord"))),
        "--config",
        json.dumps(section),
        "--cpu-kernels",
        default_config()["cpu_kernels"],
        "--threads",
        "2",
    ]
    result = subprocess.run(command, env=env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-4000:]
    return result


def checkpoint_tensors(prefix: Path) -> dict:
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(prefix))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


@pytest.mark.slow
def test_killed_run_resumes_from_its_latest_checkpoint(pretrain_pipeline, tmp_path):
    work = clone(pretrain_pipeline, tmp_path / "work")
    (work / "tiny.yaml").write_text(yaml.safe_dump({"pretrain": TINY}))
    args = [
        sys.executable,
        "-m",
        "snakemake",
        "--cores",
        "2",
        "pretrain",
        "--configfile",
        "config/config.yaml",
        "tiny.yaml",
    ]
    checkpoints = work / "results/pretrain/checkpoints"

    # Start the rule, and SIGKILL Snakemake and its job once a mid-run checkpoint exists.
    process = subprocess.Popen(
        args, cwd=work, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and process.poll() is None:
            latest, _ = read_checkpoint_state(checkpoints)
            if latest and int(latest.rsplit("-", 1)[1]) >= 40:
                break
            time.sleep(0.02)
        assert process.poll() is None, "the run ended before it could be killed"
        os.killpg(process.pid, signal.SIGKILL)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    latest, _ = read_checkpoint_state(checkpoints)
    killed_at = int(latest.rsplit("-", 1)[1])
    assert 40 <= killed_at < 120 and not (work / "results/pretrain/final/model.ckpt.index").exists()

    # Rerun the rule (after releasing the dead run's lock): it resumes, not from step 0.
    snakemake(work, "--unlock", "--cores", "2", "--configfile", "config/config.yaml", "tiny.yaml")
    snakemake(work, *args[3:])
    log = (work / "results/logs/pretrain/model.log").read_text()
    resumed = int(log.split("resuming from ")[1].split("(step ")[1].split(" ")[0])
    assert resumed >= killed_at
    results = work / "results/pretrain"
    metrics = read_metrics(results / "metrics.jsonl")
    assert [m["step"] for m in metrics if m["split"] == "train"] == list(range(10, 121, 10))
    assert [m["step"] for m in metrics if m["split"] == "eval"] == [0, 60, 120]
    resumed_weights = checkpoint_tensors(results / "final/model.ckpt")
    assert resumed_weights["global_step"] == 120

    # The resumed run continues exactly where it stopped: it ends where an uninterrupted
    # run of the same config ends.
    section = merge(default_section(), TINY)
    train_cli(tmp_path / "uninterrupted", work, section)
    precision = [
        json.loads((folder / "final/pretrain_config.json").read_text())["mixed_precision"]
        for folder in (results, tmp_path / "uninterrupted")
    ]
    assert precision[0] == precision[1], "the two runs compared compute in the same precision"
    uninterrupted = checkpoint_tensors(tmp_path / "uninterrupted/final/model.ckpt")
    assert uninterrupted.keys() == resumed_weights.keys()
    for name, value in uninterrupted.items():
        np.testing.assert_allclose(resumed_weights[name], value, rtol=1e-4, atol=1e-5, err_msg=name)

    # init_checkpoint: a new run starts from that TF1 checkpoint's weights (its step-0
    # evaluation equals the source run's final one) and continues pretraining.
    section = merge(section, {"init_checkpoint": str(results / "final/model.ckpt"), "train": {"num_train_steps": 10}})
    train_cli(tmp_path / "continued", work, section)
    source_eval = [m for m in metrics if m["split"] == "eval"][-1]
    continued = read_metrics(tmp_path / "continued/metrics.jsonl")
    start_eval = next(m for m in continued if m["split"] == "eval" and m["step"] == 0)
    for key in ("discriminator_loss", "generator_loss", "generator_accuracy"):
        assert start_eval[key] == pytest.approx(source_eval[key], rel=1e-5), key
    assert checkpoint_tensors(tmp_path / "continued/final/model.ckpt")["global_step"] == 10


@pytest.mark.slow
def test_a_bfloat16_run_resumed_from_a_checkpoint_ends_where_the_uninterrupted_run_ends(pretrain_examples, tmp_path):
    """Resuming restores the whole training state under bfloat16 mixed precision too (the
    killed-run test above runs the rule's float32): a run resumed from its step-10 checkpoint
    (as a run killed after it would be) ends with the bytes of the run that went on."""
    from krelectra.pretrain.checkpoint import write_checkpoint_state

    files = (pretrain_examples["train"], pretrain_examples["eval"], pretrain_examples["vocab"])
    section = merge(
        TINY,
        {
            "mixed_precision": True,
            "examples": {"max_seq_length": 64},
            "train": {"num_train_steps": 20, "save_checkpoints_steps": 10, "eval_every_steps": 0},
        },
    )
    _run(files, section, tmp_path / "uninterrupted")
    assert json.loads((tmp_path / "uninterrupted/final/pretrain_config.json").read_text())["mixed_precision"] is True
    # The state of a run killed after its step-10 checkpoint: that checkpoint is its newest.
    resumed = tmp_path / "resumed"
    shutil.copytree(tmp_path / "uninterrupted/checkpoints", resumed / "checkpoints")
    for path in (resumed / "checkpoints").glob("model.ckpt-20.*"):
        path.unlink()
    write_checkpoint_state(resumed / "checkpoints", "model.ckpt-10", ["model.ckpt-10"])
    records = _run(files, section, resumed)
    assert [r["step"] for r in records if r["split"] == "train"] == [10, 20]
    expected = checkpoint_tensors(tmp_path / "uninterrupted/final/model.ckpt")
    got = checkpoint_tensors(resumed / "final/model.ckpt")
    assert got.keys() == expected.keys() and got["global_step"] == 20
    for name, value in expected.items():
        np.testing.assert_array_equal(got[name], value, err_msg=name)


MIRRORED_SCRIPT = r"""
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from pathlib import Path
from krelectra.pretrain.config import PretrainConfig
from krelectra.pretrain.train import run_pretraining

args = json.loads(sys.argv[1])
out = {}
for precision, section in args["configs"].items():
    config = PretrainConfig.from_dict(section)
    for name, strategy in (("one", tf.distribute.get_strategy()),
                           ("mirrored", tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))):
        records = run_pretraining(args["train"], args["eval"], args["vocab"], config,
                                  Path(args["work"]) / precision / name, strategy=strategy, progress=False)
        out[precision, name] = {"replicas": strategy.num_replicas_in_sync, "records": records}
print("RESULT " + json.dumps({f"{precision} {name}": value for (precision, name), value in out.items()}))
"""
MIRRORED_LOSSES = ("loss", "generator_loss", "discriminator_loss")
MIRRORED_ACCURACIES = ("generator_accuracy", "discriminator_accuracy")


@pytest.mark.slow
def test_mirrored_strategy_on_two_devices_gives_the_losses_of_one(pretrain_examples, tmp_path):
    """float32: the losses of one device within 1e-5 at every step. bfloat16 (mixed
    precision): the same losses while the weights are the same (the first step and, with
    the learning rate still 0, the second), then within 0.5% (measured here: at most 0.07%
    over these 6 steps). A replica's weight gradient leaves its bfloat16 matrix product
    rounded to bfloat16 (8 significant bits) before the replicas' float32 sum, so two
    half-batch gradients round differently from one full-batch gradient."""
    config = {
        "examples": {"max_seq_length": 64},
        "model": {"embedding_size": 32, "hidden_size": 64, "num_hidden_layers": 2, "generator_hidden_size": 0.5},
        "train": {
            "train_batch_size": 8,
            "num_train_steps": 6,
            "num_warmup_steps": 2,
            "learning_rate": 1e-3,
            "log_every_steps": 1,
            "iterations_per_loop": 1,
            "save_checkpoints_steps": 100,
            "eval_every_steps": 6,
            "eval_batch_size": 8,
            "max_eval_batches": 2,
            "shuffle_buffer": 100,
        },
    }
    # Precision pinned: `auto` would be bfloat16 on a CPU with AVX512-BF16 or AMX.
    configs = {"float32": {**config, "mixed_precision": False}, "bfloat16": {**config, "mixed_precision": True}}
    args = {
        "configs": configs,
        "train": list(map(str, pretrain_examples["train"])),
        "eval": list(map(str, pretrain_examples["eval"])),
        "vocab": str(pretrain_examples["vocab"]),
        "work": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-c", MIRRORED_SCRIPT, json.dumps(args)], env=env(), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-4000:]
    out = json.loads(next(line for line in result.stdout.splitlines() if line.startswith("RESULT "))[7:])
    for precision in configs:
        one, mirrored = out[f"{precision} one"], out[f"{precision} mirrored"]
        assert one["replicas"] == 1 and mirrored["replicas"] == 2
        one, mirrored = one["records"], mirrored["records"]
        assert [(r["split"], r["step"]) for r in one] == [(r["split"], r["step"]) for r in mirrored]
        assert len([r for r in one if r["split"] == "train"]) == 6
        for a, b in zip(one, mirrored):
            same_weights = precision == "float32" or (a["split"], a["step"]) in (
                ("eval", 0),
                ("train", 1),
                ("train", 2),
            )
            rel, accuracy = (1e-5, 1e-6) if same_weights else (5e-3, 1e-2)
            where = (precision, a["split"], a["step"])
            for key in MIRRORED_LOSSES:
                assert b[key] == pytest.approx(a[key], rel=rel, abs=1e-6), (*where, key)
            for key in MIRRORED_ACCURACIES:
                assert b[key] == pytest.approx(a[key], abs=accuracy), (*where, key)
        assert one[-1]["loss"] < one[0]["loss"], "the steps compared are real training steps"
    hyper = json.loads((tmp_path / "bfloat16/mirrored/final/pretrain_config.json").read_text())
    assert hyper["mixed_precision"] is True


def schema_defaults(schema: dict):
    if schema.get("type") == "object" and "properties" in schema:
        return {key: schema_defaults(value) for key, value in schema["properties"].items()}
    return schema["default"]


def test_schema_defaults_are_the_code_defaults_and_both_configs_load():
    schema = yaml.safe_load((REPO / "workflow/schemas/pretrain.schema.yaml").read_text())
    assert PretrainConfig.from_dict(schema_defaults(schema)) == PretrainConfig()
    assert PretrainConfig().max_predictions_per_seq == 19
    for name in ("config.yaml", "paper.yaml"):
        section = yaml.safe_load((REPO / "config" / name).read_text())["pretrain"]
        PretrainConfig.from_dict(section)
    paper = PretrainConfig.from_dict(yaml.safe_load((REPO / "config/paper.yaml").read_text())["pretrain"])
    assert (
        paper.train.train_batch_size,
        paper.train.num_train_steps,
        paper.train.learning_rate,
        paper.examples.max_seq_length,
        paper.model.generator_hidden_size,
    ) == (256, 700000, 2e-4, 128, 0.33333)


# A two-step run of the tiny model that checkpoints every step (the fingerprint tests).
FINGERPRINT_RUN = merge(
    TINY,
    {
        "examples": {"max_seq_length": 64},
        "train": {"num_train_steps": 2, "log_every_steps": 1, "save_checkpoints_steps": 1, "eval_every_steps": 0},
    },
)


def _run(files, section: dict, work: Path):
    from krelectra.pretrain.train import run_pretraining

    return run_pretraining(*files, PretrainConfig.from_dict(section), work, progress=False)


@pytest.fixture
def finished_run(pretrain_examples, tmp_path):
    """A finished two-step run in tmp_path/work: (its input files, the work folder)."""
    files = (pretrain_examples["train"], pretrain_examples["eval"], pretrain_examples["vocab"])
    _run(files, FINGERPRINT_RUN, tmp_path / "work")
    return files, tmp_path / "work"


@pytest.mark.slow  # 7-15 s: kept out of the two-minute development loop
def test_a_changed_training_setting_refuses_to_resume_and_names_it(finished_run):
    from krelectra.errors import KrelectraError

    files, work = finished_run
    changed = merge(FINGERPRINT_RUN, {"train": {"learning_rate": 1e-3}, "model": {"hidden_size": 64}})
    with pytest.raises(KrelectraError) as error:
        _run(files, changed, work)
    message = str(error.value)
    assert "settings.train.learning_rate: 0.0002 -> 0.001" in message
    assert "settings.model.hidden_size: 32 -> 64" in message
    assert "restore" in message and "pretrain.restart: true" in message
    assert read_checkpoint_state(work / "checkpoints")[0] == "model.ckpt-2", "the checkpoints are kept"
    final = json.loads((work / "final/pretrain_config.json").read_text())
    assert final["learning_rate"] == 2e-4, "the final config still tells the run that was trained"


@pytest.mark.slow  # 7-15 s: kept out of the two-minute development loop
def test_a_changed_example_file_refuses_to_resume_and_names_it(finished_run, tmp_path):
    from krelectra.errors import KrelectraError

    (train, evaluation, vocab), work = finished_run
    copies = []
    for path in train:  # the same file names, one of them with one more byte
        copy = tmp_path / "copies" / path.name
        copy.parent.mkdir(exist_ok=True)
        shutil.copy(path, copy)
        copies.append(copy)
    with open(copies[-1], "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(KrelectraError, match=rf"train_files\.{copies[-1].name}: sha256 \w+ -> sha256 \w+") as error:
        _run((copies, evaluation, vocab), FINGERPRINT_RUN, work)
    assert copies[0].name not in str(error.value), "only the changed file is named"


@pytest.mark.slow  # 7-15 s: kept out of the two-minute development loop
def test_a_larger_num_train_steps_continues_the_run(finished_run):
    from krelectra.errors import KrelectraError

    files, work = finished_run
    longer = merge(FINGERPRINT_RUN, {"train": {"num_train_steps": 4, "log_every_steps": 2}})
    records = _run(files, longer, work)
    steps = [r["step"] for r in records if r["split"] == "train"]
    assert steps == [1, 2, 4], "steps 1-2 kept from the first run, then 3-4 trained on (logged at 4)"
    assert read_checkpoint_state(work / "checkpoints")[0] == "model.ckpt-4"
    assert json.loads((work / "final/pretrain_config.json").read_text())["num_train_steps"] == 4
    assert not list(work.glob("checkpoints.*")), "nothing moved aside"
    # a shorter run than the checkpoints' is another learning-rate schedule: not a continuation
    past = r"step 4 is past pretrain\.train\.num_train_steps=3; raise num_train_steps"
    with pytest.raises(KrelectraError, match=past):
        _run(files, merge(FINGERPRINT_RUN, {"train": {"num_train_steps": 3}}), work)


@pytest.mark.slow  # about 30 s
def test_restart_moves_the_old_checkpoints_aside_and_trains_from_step_zero(finished_run):
    files, work = finished_run
    old = checkpoint_tensors(work / "checkpoints/model.ckpt-2")
    changed = merge(FINGERPRINT_RUN, {"seed": 7, "restart": True})
    records = _run(files, changed, work)
    assert [r["step"] for r in records if r["split"] == "train"] == [1, 2], "a new run from step 0"
    aside = list(work.glob("checkpoints.*"))
    assert len(aside) == 1 and len(list(work.glob("tensorboard.*"))) == 1
    assert read_checkpoint_state(aside[0])[0] == "model.ckpt-2", "the old checkpoints are kept"
    kept = checkpoint_tensors(aside[0] / "model.ckpt-2")
    assert all(np.array_equal(kept[name], old[name]) for name in old)
    new = checkpoint_tensors(work / "checkpoints/model.ckpt-2")
    assert not np.array_equal(new["electra/embeddings/word_embeddings"], old["electra/embeddings/word_embeddings"])
    assert json.loads((work / "final/pretrain_config.json").read_text())["seed"] == 7
    # the switch may stay set: the new run's own checkpoints are resumed, not moved again
    _run(files, merge(changed, {"train": {"num_train_steps": 3}}), work)
    assert len(list(work.glob("checkpoints.*"))) == 1
    assert read_checkpoint_state(work / "checkpoints")[0] == "model.ckpt-3"
