"""Per-step overhead options of finetuning (finetune.torch_compile, finetune.dataloader_workers,
the Trainer's NaN/inf filter, SDPA attention): each computes the update the plain run
computes, within float rounding, and each reaches the Trainer.

Tolerances: fp32 on the CPU, the same weights and inputs; outputs and gradients that differ
only in summation order (other matrix shapes, fused attention, compiled kernels) agree to
about 1e-6 relative (gradients zero in exact arithmetic, the attention keys' biases', come
out near 1e-12 and fall under atol), so 1e-4 relative (atol 1e-6) separates rounding from a real change
(the tiny QA model's loss moves from 2.87 to 3.50 when its batch is padded to 32, test below)."""

from __future__ import annotations

import copy
import json

import pytest
from builders import FAST, make_tiny_model, write_synthetic_data

from krelectra.errors import KrelectraError
from krelectra.finetune.tasks import TASKS

RTOL, ATOL = 1e-4, 1e-6


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("discriminator"))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_synthetic_data(tmp_path_factory.mktemp("data"))


def tiny(head: str, attn: str = "sdpa"):
    """A 2-layer random ELECTRA discriminator with `head`, dropout off (so that two runs of
    the same weights compute the same function), seeded weights."""
    import torch
    import transformers

    config = transformers.ElectraConfig(
        vocab_size=60,
        embedding_size=32,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        num_labels=2 if head == "QuestionAnswering" else 3,  # QA: start and end logits
        attn_implementation=attn,
    )
    torch.manual_seed(0)
    return getattr(transformers, f"ElectraFor{head}")(config)


def features(head: str) -> list[dict]:
    """Three features of lengths 5, 17 and 9 with the labels `head` trains on."""
    import random

    rnd = random.Random(1)
    out = []
    for length in (5, 17, 9):
        feature = {
            "input_ids": [2] + [rnd.randrange(5, 60) for _ in range(length - 2)] + [3],
            "attention_mask": [1] * length,
            "token_type_ids": [0] * length,
        }
        if head == "SequenceClassification":
            feature["labels"] = rnd.randrange(3)
        elif head == "TokenClassification":
            feature["labels"] = [-100] + [rnd.randrange(3) for _ in range(length - 2)] + [-100]
        else:
            feature["start_positions"] = rnd.randrange(1, length - 1)
            feature["end_positions"] = feature["start_positions"]
        out.append(feature)
    return out


def loss_and_gradients(model, batch):
    """(loss, {parameter: gradient}) of one forward and backward pass on a fresh copy."""
    model = copy.deepcopy(model)
    loss = model(**batch).loss
    loss.backward()
    return loss.detach(), {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


def assert_same_update(got, expected):
    import torch

    (loss, grads), (expected_loss, expected_grads) = got, expected
    torch.testing.assert_close(loss, expected_loss, rtol=RTOL, atol=ATOL)
    assert set(grads) == set(expected_grads)
    for name in grads:
        torch.testing.assert_close(grads[name], expected_grads[name], rtol=RTOL, atol=ATOL, msg=name)


# ------------------------------------------------------------------ length buckets


def test_bucketed_batches_are_padded_to_multiples_of_32_up_to_the_max_length():
    from krelectra.finetune.train import LENGTH_BUCKET, PaddingCollator

    assert LENGTH_BUCKET == 32
    collate = PaddingCollator(0, 32, 100)
    for longest, width in ((5, 32), (32, 32), (33, 64), (97, 100), (100, 100)):
        batch = collate([{"input_ids": [7] * longest, "labels": [1] * longest}, {"input_ids": [7], "labels": [1]}])
        assert batch["input_ids"].shape == (2, width), longest
        assert batch["input_ids"][0, longest:].tolist() == [0] * (width - longest)
        assert batch["labels"][1, 1:].tolist() == [-100] * (width - 1)
    # a feature longer than max_length (not made by our encoders) is never cut
    assert PaddingCollator(0, 32, 20)([{"input_ids": [7] * 25}])["input_ids"].shape == (1, 25)
    assert PaddingCollator(0)([{"input_ids": [7] * 25}])["input_ids"].shape == (1, 25)


def test_runs_with_torch_compile_bucket_lengths_except_for_question_answering(model_dir):
    from krelectra.finetune.train import data_collator, load_tokenizer

    tokenizer = load_tokenizer(str(model_dir))
    for task in ("nsmc", "naver-ner", "korsts", "paws"):
        assert data_collator(TASKS[task], tokenizer, 128, torch_compile=True).pad_to_multiple_of == 32
        assert data_collator(TASKS[task], tokenizer, 128, torch_compile=True).max_length == 128
        assert data_collator(TASKS[task], tokenizer, 128).pad_to_multiple_of is None
    assert data_collator(TASKS["korquad"], tokenizer, 512, torch_compile=True).pad_to_multiple_of is None


@pytest.mark.parametrize("head", ["SequenceClassification", "TokenClassification"])
def test_bucketed_padding_gives_the_same_loss_gradients_and_logits(head):
    import torch

    from krelectra.finetune.train import PaddingCollator

    model = tiny(head)
    plain, bucketed = PaddingCollator(0)(features(head)), PaddingCollator(0, 32, 128)(features(head))
    assert plain["input_ids"].shape[1] == 17 and bucketed["input_ids"].shape[1] == 32
    assert_same_update(loss_and_gradients(model, bucketed), loss_and_gradients(model, plain))
    with torch.no_grad():
        logits, wide = model(**plain).logits, model(**bucketed).logits
    if head == "TokenClassification":
        wide = wide[:, :17]
        real = plain["attention_mask"].bool()
        logits, wide = logits[real], wide[real]
    torch.testing.assert_close(wide, logits, rtol=RTOL, atol=ATOL)


def test_padding_would_change_the_question_answering_loss_so_it_is_not_bucketed():
    """ElectraForQuestionAnswering's span loss is a softmax over every position: padded
    positions enter it, so QA batches keep their width under torch_compile."""
    from krelectra.finetune.train import PaddingCollator

    model = tiny("QuestionAnswering")
    plain = model(**PaddingCollator(0)(features("QuestionAnswering"))).loss
    wide = model(**PaddingCollator(0, 32, 128)(features("QuestionAnswering"))).loss
    assert abs(wide.item() - plain.item()) > 100 * (ATOL + RTOL * abs(plain.item()))


# ------------------------------------------------------------------ attention


def test_finetuning_loads_electra_with_sdpa_attention(model_dir):
    from krelectra.finetune.train import load_model

    model, _ = load_model(TASKS["nsmc"], str(model_dir))
    assert model.config._attn_implementation == "sdpa"


@pytest.mark.parametrize("head", ["SequenceClassification", "TokenClassification", "QuestionAnswering"])
def test_sdpa_attention_gives_the_eager_loss_and_gradients(head):
    from krelectra.finetune.train import PaddingCollator

    sdpa, eager = tiny(head, "sdpa"), tiny(head, "eager")
    assert sdpa.config._attn_implementation == "sdpa" and eager.config._attn_implementation == "eager"
    eager.load_state_dict(sdpa.state_dict())
    batch = PaddingCollator(0)(features(head))  # padded: the mask takes part
    assert_same_update(loss_and_gradients(sdpa, batch), loss_and_gradients(eager, batch))


# ------------------------------------------------------------------ torch.compile


def test_a_compiled_model_gives_the_same_loss_and_gradients():
    """Dynamo's graph capture with PyTorch's own kernels (backend aot_eager: seconds, where
    inductor's code generation takes minutes on a CPU; the slow test below runs inductor)."""
    import torch

    from krelectra.finetune.train import PaddingCollator

    model = tiny("SequenceClassification")
    batch = PaddingCollator(0, 32, 128)(features("SequenceClassification"))
    compiled = copy.deepcopy(model)
    loss = torch.compile(compiled, backend="aot_eager")(**batch).loss
    loss.backward()
    grads = {name: p.grad for name, p in compiled.named_parameters() if p.grad is not None}
    assert_same_update((loss.detach(), grads), loss_and_gradients(model, batch))


# ------------------------------------------------------------------ the Trainer's arguments


def test_the_options_reach_the_trainer_and_the_nan_filter_is_off(tmp_path):
    from krelectra.finetune.train import speed_settings, training_arguments

    hp = dict(TASKS["nsmc"].hyperparameters, **FAST)
    default = training_arguments(hp, 100, str(tmp_path), 1, speed_settings("fp32", "random", [5, 9], 16))
    assert (default.torch_compile, default.dataloader_num_workers) == (False, 0)
    assert default.logging_nan_inf_filter is False and default.dataloader_persistent_workers is False
    speed = speed_settings("fp32", "random", [5, 9], 16, torch_compile=True, dataloader_workers=2)
    assert (speed["torch_compile"], speed["dataloader_workers"]) == (True, 2)
    args = training_arguments(hp, 100, str(tmp_path), 1, speed)
    assert (args.torch_compile, args.dataloader_num_workers, args.logging_nan_inf_filter) == (True, 2, False)
    assert args.dataloader_persistent_workers is False  # workers re-drawn each epoch, as without them
    assert args.per_device_train_batch_size == 16 and args.learning_rate == FAST["learning_rate"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"torch_compile": "yes"}, r"finetune\.torch_compile: expected true or false, got 'yes'"),
        ({"dataloader_workers": -1}, r"finetune\.dataloader_workers: expected a whole number >= 0, got -1"),
        ({"dataloader_workers": 1.5}, r"finetune\.dataloader_workers: expected a whole number >= 0, got 1\.5"),
    ],
)
def test_bad_option_values_are_refused_naming_the_key(kwargs, message):
    from krelectra.finetune.train import speed_settings

    with pytest.raises(KrelectraError, match=message):
        speed_settings("fp32", "random", [5, 9], 16, **kwargs)


def test_the_command_line_passes_the_options_and_refuses_a_negative_worker_count(monkeypatch, capsys):
    from krelectra.cli import main
    from krelectra.finetune import train

    seen = {}
    monkeypatch.setattr(train, "finetune", lambda *args, **kwargs: seen.update(kwargs))
    common = ["finetune", "train", "--task", "nsmc", "--seed", "1", "--model", "m", "--output-dir", "out"]
    common += ["--jobs-per-gpu", "1"]
    main([*common, "--torch-compile", "--dataloader-workers", "3"])
    assert (seen["torch_compile"], seen["dataloader_workers"]) == (True, 3)
    main(common)
    assert (seen["torch_compile"], seen["dataloader_workers"]) == (False, 0)
    with pytest.raises(SystemExit) as stopped:
        main([*common, "--dataloader-workers", "-1"])
    assert stopped.value.code == 2 and "expected a whole number >= 0, got '-1'" in capsys.readouterr().err


# ------------------------------------------------------------------ whole runs


def points_without_times(result: dict) -> list[dict]:
    return [{k: v for k, v in point.items() if not k.endswith("seconds")} for point in result["points"]]


def test_a_dataloader_worker_gives_the_same_run(model_dir, data_dir, tmp_path):
    """Workers only collate: the same batches in the same order and the same random draws
    (dropout on), so the same losses and scores exactly."""
    from krelectra.finetune.train import finetune

    runs = {
        workers: finetune(
            TASKS["naver-ner"],
            str(model_dir),
            data_dir,
            7,
            tmp_path / f"workers{workers}",
            overrides=dict(FAST, num_train_epochs=2),
            threads=1,
            precision="fp32",
            dataloader_workers=workers,
        )
        for workers in (0, 1)
    }
    assert runs[1]["training_speed_settings"]["dataloader_workers"] == 1
    assert runs[0]["training_speed_settings"]["attn_implementation"] == "sdpa"
    assert points_without_times(runs[1]) == points_without_times(runs[0])
    predictions = [(tmp_path / f"workers{w}" / "predictions.jsonl").read_bytes() for w in (0, 1)]
    assert predictions[0] == predictions[1]


@pytest.mark.slow
def test_a_compiled_run_gives_the_plain_runs_losses_and_scores(model_dir, tmp_path):
    """torch.compile with inductor (minutes of compilation on a CPU) in a whole finetuning
    run with bucketed batches; dropout off, since compiled dropout draws other masks.
    Logged losses to 1e-3 relative: 10 optimizer steps compound the per-step rounding."""
    import torch._dynamo
    from torch._dynamo.utils import counters

    from krelectra.finetune.train import finetune

    data_dir = write_synthetic_data(tmp_path / "data", n_train=80, n_test=16)
    quiet = tmp_path / "no-dropout"
    quiet.mkdir()
    for path in model_dir.iterdir():
        (quiet / path.name).write_bytes(path.read_bytes())
    config = json.loads((quiet / "config.json").read_text(encoding="utf-8"))
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (quiet / "config.json").write_text(json.dumps(config), encoding="utf-8")
    overrides = dict(FAST, num_train_epochs=2, save_steps=4, max_seq_length=32, eval_batch_size=16)
    torch._dynamo.reset()  # graphs an earlier test compiled in this process would be reused, not counted
    counters.clear()
    runs = {
        compiled: finetune(
            TASKS["nsmc"],
            str(quiet),
            data_dir,
            3,
            tmp_path / f"compiled{compiled}",
            overrides=overrides,
            threads=1,
            precision="fp32",
            torch_compile=compiled,
        )
        for compiled in (False, True)
    }
    assert runs[True]["training_speed_settings"]["torch_compile"] is True
    assert counters["stats"]["unique_graphs"] >= 2  # training and prediction graphs really compiled
    plain, compiled = points_without_times(runs[False]), points_without_times(runs[True])
    assert [p["step"] for p in compiled] == [p["step"] for p in plain]
    assert [p["train_loss"] for p in compiled] == pytest.approx([p["train_loss"] for p in plain], rel=1e-3)
    # 16 test examples: one changed prediction moves accuracy by 6.25; rounding moves none
    assert [p["test"] for p in compiled] == [p["test"] for p in plain]


@pytest.mark.slow
@pytest.mark.parametrize("signum", ["SIGINT", "SIGTERM"])
def test_a_stop_request_to_the_process_group_stops_a_job_with_a_worker_cleanly(signum, model_dir, data_dir, tmp_path):
    """The data loader's worker gets the signal too (Ctrl-C, or a scheduler signalling the
    whole group): the job still stops after its step with the resume line and 128 + signal."""
    import os
    import re
    import signal
    import subprocess
    import sys
    import time

    hp = json.dumps(dict(FAST, num_train_epochs=200))
    command = [sys.executable, "-m", "krelectra", "finetune", "train", "--task", "nsmc", "--seed", "1"]
    command += ["--model", str(model_dir), "--data", str(data_dir), "--threads", "1", "--hyperparameters", hp]
    command += ["--dataloader-workers", "1", "--output-dir", str(tmp_path / "out")]
    log = tmp_path / "log"
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    with log.open("w") as err:
        job = subprocess.Popen(command, stderr=err, stdout=subprocess.DEVNULL, env=env, start_new_session=True)
        try:
            deadline = time.monotonic() + 300
            while not re.search(r"step \d+ \(epoch [2-9]", log.read_text()):  # a save point of epoch 2+
                assert job.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
                time.sleep(0.5)
            os.killpg(job.pid, getattr(signal, signum))
            status = job.wait(timeout=120)
        finally:
            if job.poll() is None:
                os.killpg(job.pid, signal.SIGKILL)
    text = log.read_text()
    assert status == 128 + getattr(signal, signum), text[-2000:]
    assert re.search(r"^krelectra finetune: finetuning nsmc stopped; run it again to resume after step \d+", text, re.M)
