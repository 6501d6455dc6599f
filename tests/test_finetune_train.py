"""Finetuning: tokenization per problem type, model loading, protocols, the seed summary,
and real short training runs (one per problem type) on tiny synthetic data."""

import json
import math
from pathlib import Path

import pytest
from builders import FAST, make_tiny_model, write_synthetic_data

from krelectra.errors import KrelectraError
from krelectra.finetune import features as feats
from krelectra.finetune.protocols import report, select_point
from krelectra.finetune.save_points import save_points
from krelectra.finetune.summary import summarize
from krelectra.finetune.tasks import TASKS, resolve_hyperparameters
from krelectra.finetune.train import check_encoder_loaded, load_model, load_tokenizer

FIXTURES = Path(__file__).resolve().parents[1] / "resources" / "finetune"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("discriminator"))


@pytest.fixture(scope="module")
def tokenizer(model_dir):
    return load_tokenizer(str(model_dir))


# ------------------------------------------------------------------ tokenization


def test_ner_first_sub_token_carries_the_word_tag(tokenizer):
    label2id = {label: i for i, label in enumerate(TASKS["naver-ner"].labels)}
    example = {"words": ["김철수가", "서울에서", "만났다"], "tags": ["PER-B", "LOC-B", "O"]}
    encoded = feats.encode_words(tokenizer, [example], 64, label2id, with_labels=True)
    feature, positions = encoded.features[0], encoded.first_token[0]
    tokens = tokenizer.convert_ids_to_tokens(feature["input_ids"])
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
    assert [tokens[p] for p in positions] == ["김", "서", "만"]  # each word's first sub-token
    assert [i for i, label in enumerate(feature["labels"]) if label != feats.IGNORE_INDEX] == positions
    assert [feature["labels"][p] for p in positions] == [label2id["PER-B"], label2id["LOC-B"], label2id["O"]]
    # read back per word from per-token predictions
    predicted = [0] * len(tokens)
    predicted[positions[0]], predicted[positions[0] + 1] = label2id["PER-B"], label2id["LOC-B"]
    assert feats.words_from_token_predictions(predicted, positions, TASKS["naver-ner"].labels) == ["PER-B", "O", "O"]


def test_ner_words_cut_by_truncation_are_predicted_o(tokenizer):
    label2id = {label: i for i, label in enumerate(TASKS["naver-ner"].labels)}
    example = {"words": ["김철수가", "서울에서", "만났다", "부산"], "tags": ["PER-B", "LOC-B", "O", "LOC-B"]}
    encoded = feats.encode_words(tokenizer, [example], 8, label2id, with_labels=True)
    assert len(encoded.features[0]["input_ids"]) == 8
    positions = encoded.first_token[0]
    assert positions[0] == 1 and positions[1] == 5 and positions[2:] == [None, None]
    assert encoded.words_without_token == 2
    tags = feats.words_from_token_predictions([label2id["LOC-B"]] * 8, positions, TASKS["naver-ner"].labels)
    assert tags == ["LOC-B", "LOC-B", "O", "O"]


def test_pairs_are_encoded_with_segments_and_truncated(tokenizer):
    examples = [
        {"text": "김철수가 서울에서", "text_pair": "이영희를 만났다", "label": "1"},
        {"text": "정말 재미있다 " * 10, "text_pair": "너무 좋았다", "label": "0"},
    ]
    encoded = feats.encode_sequences(tokenizer, examples, 16, {"0": 0, "1": 1}, with_labels=True)
    first = encoded[0]
    tokens = tokenizer.convert_ids_to_tokens(first["input_ids"])
    sep = tokens.index("[SEP]")
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
    assert first["token_type_ids"] == [0] * (sep + 1) + [1] * (len(tokens) - sep - 1)
    assert [f["labels"] for f in encoded] == [1, 0]
    assert len(encoded[1]["input_ids"]) == 16
    unlabelled = feats.encode_sequences(tokenizer, examples, 16, {"0": 0, "1": 1}, with_labels=False)
    assert "labels" not in unlabelled[0]
    regression = feats.encode_sequences(tokenizer, [dict(examples[0], label=3.6)], 16, None, with_labels=True)
    assert regression[0]["labels"] == 3.6


# ------------------------------------------------------------- hyperparameters, models


def test_overrides_replace_reference_hyperparameters():
    task = TASKS["nsmc"]
    used = resolve_hyperparameters(task, {"learning_rate": 1e-3, "num_train_epochs": None, "doc_stride": 64}, seed=7)
    assert used["learning_rate"] == 1e-3
    assert used["num_train_epochs"] == task.hyperparameters["num_train_epochs"]  # null keeps the reference
    assert "doc_stride" not in used  # a QA-only key does not apply to NSMC
    assert used["seed"] == 7
    assert resolve_hyperparameters(TASKS["korquad"], {"doc_stride": 64}, seed=1)["doc_stride"] == 64
    with pytest.raises(KrelectraError, match="learning_rte"):
        resolve_hyperparameters(task, {"learning_rte": 1.0}, seed=1)


def test_only_the_task_head_is_new_when_loading_a_pretraining_checkpoint(model_dir):
    for name, head in (("nsmc", "classifier."), ("naver-ner", "classifier."), ("korquad", "qa_outputs.")):
        model, loading = load_model(TASKS[name], str(model_dir))
        assert loading["new_parameters"] and all(key.startswith(head) for key in loading["new_parameters"])
        assert all(key.startswith("discriminator_predictions.") for key in loading["unused_checkpoint_parameters"])
    assert model.config.num_labels == 2


def test_a_checkpoint_without_the_encoder_is_refused(model_dir, tmp_path):
    from safetensors.torch import load_file, save_file

    for name in ("config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json"):
        (tmp_path / name).write_bytes((model_dir / name).read_bytes())
    weights = load_file(model_dir / "model.safetensors")
    dropped = next(key for key in weights if "encoder.layer.0.attention" in key)
    del weights[dropped]
    save_file(weights, tmp_path / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(KrelectraError, match="randomly initialised encoder"):
        load_model(TASKS["nsmc"], str(tmp_path))
    # the check itself: a missing encoder weight is an error, a missing head weight is not
    model, _ = load_model(TASKS["nsmc"], str(model_dir))
    with pytest.raises(KrelectraError, match=r"embeddings.word_embeddings"):
        check_encoder_loaded(model, {"missing_keys": {"electra.embeddings.word_embeddings.weight"}}, "x")
    assert check_encoder_loaded(model, {"missing_keys": {"classifier.dense.weight"}}, "x")["new_parameters"] == [
        "classifier.dense.weight"
    ]


# ------------------------------------------------------------- protocols and summary


POINTS = [
    {"step": 100, "epoch": 0.52, "dev": {"accuracy": 70.0}, "test": {"accuracy": 71.0}},
    {"step": 200, "epoch": 1.04, "dev": {"accuracy": 80.0}, "test": {"accuracy": 74.0}},
    {"step": 300, "epoch": 1.56, "dev": {"accuracy": 80.0}, "test": {"accuracy": 78.0}},
    {"step": 400, "epoch": 2.08, "dev": {"accuracy": 75.0}, "test": {"accuracy": 76.0}},
]


def test_paper_protocol_reports_the_best_test_point_and_clean_the_best_dev_point():
    assert select_point(POINTS, "paper", "accuracy")["step"] == 300
    assert select_point(POINTS, "clean", "accuracy")["step"] == 200  # tie on dev: the earliest point
    reported = report(POINTS, "accuracy")
    assert reported["paper"] == {
        "step": 300,
        "epoch": 1.56,
        "selected_on": "test",
        "dev": {"accuracy": 80.0},
        "test": {"accuracy": 78.0},
    }
    assert reported["clean"]["test"] == {"accuracy": 74.0}
    with_nan = [dict(POINTS[0], dev={"accuracy": math.nan})] + POINTS[1:]
    assert select_point(with_nan, "clean", "accuracy")["step"] == 200
    with pytest.raises(ValueError):
        select_point(POINTS, "best", "accuracy")


# spec tasks.md, "Which checkpoints": Question Pair, 6,136 training examples, batch 32, 10
# epochs, save_steps 100: 192 steps an epoch, 1,920 in all, checkpoints at 100..1900; NSMC,
# 150,000 examples, batch 32, save_steps 2000: 23 checkpoints in 10 epochs.
def test_save_points_are_the_multiples_of_save_steps_up_to_the_last_step():
    assert save_points("question-pair", 6136, 32, 10, 100) == [100 * k for k in range(1, 20)]
    assert len(save_points("nsmc", 150_000, 32, 10, 2000)) == 23
    assert save_points("korsts", 64, 16, 2, 4) == [4, 8]  # the last step, 8, is a multiple: evaluated
    with pytest.raises(KrelectraError, match=r"task paws: save_steps 9 .* the run's 8 optimizer steps"):
        save_points("paws", 64, 16, 2, 9)


def run_record(task: str, seed: int, paper: float, clean: float, model: str = "m") -> dict:
    return {
        "model": model,
        "task": task,
        "seed": seed,
        "headline_metric": "accuracy",
        "protocols": {
            "paper": {"step": 300, "epoch": 3.0, "test": {"accuracy": paper}},
            "clean": {"step": 200, "epoch": 2.0, "test": {"accuracy": clean}},
        },
    }


def test_summary_gives_mean_and_sample_std_over_seeds():
    runs = [
        run_record("nsmc", 43, 84.0, 80.0),
        run_record("nsmc", 41, 80.0, 79.0),
        run_record("nsmc", 42, 82.0, 81.0),
        run_record("paws", 41, 60.0, 55.0),
    ]
    summary = summarize(runs, "m")
    nsmc = summary["tasks"]["nsmc"]
    assert nsmc["seeds"] == [41, 42, 43]
    assert nsmc["protocols"]["paper"]["test"]["accuracy"] == {
        "mean": 82.0,
        "std": 2.0,
        "n": 3,
        "values": [80.0, 82.0, 84.0],
    }
    assert nsmc["protocols"]["clean"]["test"]["accuracy"]["mean"] == pytest.approx(80.0)
    assert nsmc["protocols"]["clean"]["test"]["accuracy"]["std"] == pytest.approx(1.0)
    assert summary["tasks"]["paws"]["protocols"]["paper"]["test"]["accuracy"] == {
        "mean": 60.0,
        "std": 0.0,
        "n": 1,
        "values": [60.0],
    }
    # Runs without data facts claim nothing: not on the upstream data.
    assert summary["tasks"]["nsmc"]["data"] == {"upstream": False, "subsampled": False}
    with pytest.raises(KrelectraError, match="seed"):
        summarize(runs + [run_record("nsmc", 41, 1.0, 1.0)], "m")
    with pytest.raises(KrelectraError, match="other"):
        summarize([run_record("nsmc", 41, 1.0, 1.0, model="other")], "m")


def test_summary_says_what_data_each_task_was_measured_on():
    def run(task, seed, **data):
        return {**run_record(task, seed, 80.0, 80.0), "data": {"max_train_examples": None, **data}}

    runs = [
        run("nsmc", 41, upstream=True),
        run("nsmc", 42, upstream=True),
        run("paws", 41, upstream=True),
        run("paws", 42, upstream=None),  # the manifest was not available: not claimed
        run("korsts", 41, upstream=True, max_eval_examples=50),
    ]
    tasks = summarize(runs, "m")["tasks"]
    assert tasks["nsmc"]["data"] == {"upstream": True, "subsampled": False}
    assert tasks["paws"]["data"] == {"upstream": False, "subsampled": False}
    assert tasks["korsts"]["data"] == {"upstream": True, "subsampled": True}


# ------------------------------------------------------------------ training runs


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_synthetic_data(tmp_path_factory.mktemp("data"))


def test_korquad_training_skips_only_the_answers_it_cannot_find_and_counts_them(tokenizer):
    from krelectra.finetune.train import prepare_split

    context = "오늘 서울에서 김철수가 친구와 만났다"

    def example(qid, text, start):
        return {"id": qid, "question": "누가", "context": context, "answers": [{"text": text, "answer_start": start}]}

    examples = [
        example("right", "서울", context.index("서울")),
        example("off-by-one", "김철수", context.index("김철수") + 1),  # inside "김철수가": kept
        example("lost", "부산", 0),  # "부산" is not in "오늘": skipped, as the reference does
    ]
    hp = resolve_hyperparameters(TASKS["korquad"], FAST, seed=1)
    split = prepare_split(TASKS["korquad"], tokenizer, "train", examples, hp, with_labels=True)
    assert split.info["examples"] == 3 and split.info["skipped_answer_not_found"] == 1
    with pytest.raises(KrelectraError, match="task korquad: no train example left"):
        prepare_split(TASKS["korquad"], tokenizer, "train", examples[2:], hp, with_labels=True)


@pytest.mark.parametrize("task_name", ["nsmc", "paws", "korsts", "naver-ner", "korquad"])
def test_a_short_training_run_writes_its_results_and_lowers_the_loss(task_name, model_dir, data_dir, tmp_path):
    from krelectra.finetune.train import finetune

    task = TASKS[task_name]
    overrides = dict(FAST, max_seq_length=40) if task_name == "korquad" else FAST
    result = finetune(
        task, str(model_dir), data_dir, 5, tmp_path, model_name="tiny", overrides=overrides, dev_fraction=0.2, threads=1
    )
    written = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    assert written == json.loads(json.dumps(result))
    assert written["task"] == task_name and written["model"] == "tiny" and written["seed"] == 5
    assert written["hyperparameters"]["learning_rate"] == 2e-3 and written["hyperparameters"]["seed"] == 5
    assert written["hyperparameters"]["adam_epsilon"] == task.hyperparameters["adam_epsilon"]
    points = written["points"]
    # every 9th optimizer step (FAST's save_steps) of 4 epochs of ceil(features / 16) steps
    features = written["data"]["train"].get("windows", written["data"]["train"]["examples"])
    assert written["steps_per_epoch"] == math.ceil(features / 16)
    assert [p["step"] for p in points] == list(range(9, 4 * math.ceil(features / 16) + 1, 9))
    epochs = [p["step"] / written["steps_per_epoch"] for p in points]
    assert [p["epoch"] for p in points] == pytest.approx(epochs, abs=1e-4)  # recorded to 4 decimals
    for entry in points:
        assert set(entry["dev"]) == set(entry["test"]) == set(task.metrics)
    assert points[-1]["train_loss"] < points[0]["train_loss"]
    headline = task.metrics[0]
    assert written["protocols"]["paper"]["test"][headline] == max(p["test"][headline] for p in points)
    clean = written["protocols"]["clean"]
    assert clean["dev"][headline] == max(p["dev"][headline] for p in points)
    assert clean["test"] == next(p["test"] for p in points if p["step"] == clean["step"])
    assert written["timing"]["train_seconds"] > 0 and written["timing"]["eval_seconds"] > 0
    lines = (tmp_path / "predictions.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == written["data"]["test"]["examples"]
    first = json.loads(lines[0])
    assert set(first["prediction"]) == {"paper", "clean"}
    # Synthetic files are not the upstream ones: the tables will not compare this run.
    assert written["data"]["upstream"] is False
    assert set(written["data"]["git_blob_sha1"]) == set(task.file_names)
    if task_name == "korquad":  # every synthetic answer_start points at its answer
        assert written["data"]["train"]["skipped_answer_not_found"] == 0
    if task.files["dev"] is None:  # carved from train, which shrinks accordingly
        assert written["data"]["dev_source"] == "carved from train"
        assert written["data"]["dev"]["examples"] > 0


def test_the_single_sentence_task_is_learned(model_dir, data_dir, tmp_path):
    from krelectra.finetune.train import finetune

    result = finetune(
        TASKS["nsmc"], str(model_dir), data_dir, 3, tmp_path, overrides=dict(FAST, num_train_epochs=8), threads=1
    )
    assert result["protocols"]["clean"]["test"]["accuracy"] >= 90.0  # a 50/50 task


def test_the_same_seed_gives_the_same_run_and_another_seed_another(model_dir, data_dir, tmp_path):
    from krelectra.finetune.train import finetune

    def run(seed, name):
        result = finetune(
            TASKS["naver-ner"],
            str(model_dir),
            data_dir,
            seed,
            tmp_path / name,
            overrides=dict(FAST, num_train_epochs=2),
            threads=1,
        )
        return [{k: v for k, v in e.items() if not k.endswith("seconds")} for e in result["points"]]

    first = run(7, "a")
    assert run(7, "b") == first
    assert run(8, "c") != first
    assert (tmp_path / "a/predictions.jsonl").read_bytes() == (tmp_path / "b/predictions.jsonl").read_bytes()


def test_command_line_trains_and_summarizes(model_dir, data_dir, tmp_path):
    from krelectra.cli import main

    outputs = []
    for seed in (1, 2):
        out = tmp_path / f"seed{seed}"
        argv = [
            "finetune",
            "train",
            "--task",
            "korsts",
            "--seed",
            str(seed),
            "--model",
            str(model_dir),
            "--model-name",
            "tiny",
            "--data",
            str(data_dir),
            "--hyperparameters",
            json.dumps(dict(FAST, num_train_epochs=2, save_steps=3)),  # 3 steps an epoch
            "--max-train-examples",
            "40",
            "--threads",
            "1",
            "--output-dir",
            str(out),
        ]
        assert main(argv) == 0
        outputs.append(out / "metrics.json")
    metrics = json.loads(outputs[0].read_text(encoding="utf-8"))
    assert metrics["data"]["train"]["examples"] == 40 and metrics["data"]["max_train_examples"] == 40
    assert [p["step"] for p in metrics["points"]] == [3, 6]
    assert (
        main(
            [
                "finetune",
                "summarize",
                "--model-name",
                "tiny",
                "--output",
                str(tmp_path / "summary.json"),
                *map(str, outputs),
            ]
        )
        == 0
    )
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    spearman = summary["tasks"]["korsts"]["protocols"]["clean"]["test"]["spearman"]
    assert spearman["n"] == 2 and summary["tasks"]["korsts"]["seeds"] == [1, 2]
    assert (
        main(
            [
                "finetune",
                "train",
                "--task",
                "nope",
                "--seed",
                "1",
                "--model",
                str(model_dir),
                "--output-dir",
                str(tmp_path),
            ]
        )
        == 1
    )


# ------------------------------------------------------------------ speed settings


def test_padding_collator_pads_like_the_transformers_collators(tokenizer):
    from transformers import DataCollatorForTokenClassification, DataCollatorWithPadding

    from krelectra.finetune.train import PaddingCollator

    collate = PaddingCollator(tokenizer.pad_token_id)
    pairs = [
        {"text": "김철수가 서울에서", "text_pair": "정말 재미있다", "label": 3.5},
        {"text": "오늘", "text_pair": "너무 지루했다 최악의 영화", "label": 0.25},
    ]
    words = [
        {"words": ["김철수가", "서울에서", "만났다"], "tags": ["PER-B", "LOC-B", "O"]},
        {"words": ["오늘"], "tags": ["O"]},
    ]
    batches = [
        (feats.encode_sequences(tokenizer, pairs, 32, None, True), DataCollatorWithPadding(tokenizer)),
        (
            feats.encode_words(tokenizer, words, 32, {"O": 0, "PER-B": 1, "LOC-B": 2}, True).features,
            DataCollatorForTokenClassification(tokenizer),
        ),
    ]
    for features, reference in batches:
        expected, got = reference(features), collate(features)
        assert set(got) == set(expected)
        for key in expected:
            assert got[key].dtype == expected[key].dtype and got[key].tolist() == expected[key].tolist(), key


def test_padding_share_and_the_automatic_numerics(monkeypatch):
    from krelectra.finetune import train

    # Lengths 1 and 3, batches of 2 drawn with replacement: the longest is 1 with
    # probability 1/4, else 3, so 2.5 on average against a mean length of 2.
    assert train.padding_share([1, 3], 2) == pytest.approx(0.2)
    assert train.padding_share([7] * 50, 16) == pytest.approx(0.0)
    varied = [10, 12, 30, 15, 40, 11, 25] * 20

    monkeypatch.setattr(train, "native_bf16", lambda: True)
    auto = train.speed_settings("auto", "auto", varied, 16)
    # bf16 where native; random batches even with much padding: grouping is opt-in (issue 25)
    assert (auto["precision"], auto["train_sampling"]) == ("bf16", "random")
    assert auto["random_batch_padding_share"] == pytest.approx(train.padding_share(varied, 16))
    assert train.speed_settings("fp32", "group_by_length", varied, 16)["train_sampling"] == "group_by_length"
    monkeypatch.setattr(train, "native_bf16", lambda: False)
    assert train.speed_settings("auto", "random", varied, 16)["precision"] == "fp32"
    assert train.speed_settings("bf16", "auto", varied, 16)["precision"] == "bf16"
    with pytest.raises(KrelectraError, match=r"finetune\.precision: .* got 'fp16'"):
        train.speed_settings("fp16", "auto", varied, 16)
    with pytest.raises(KrelectraError, match=r"finetune\.train_sampling: .* got 'on'"):
        train.speed_settings("auto", "on", varied, 16)


@pytest.mark.parametrize("bf16_cpu", [False, True])
def test_on_a_cpu_finetuning_asks_the_same_bf16_question_as_pretraining(monkeypatch, bf16_cpu):
    import torch

    from krelectra import kernels
    from krelectra.finetune import train

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(kernels, "cpu_has_bf16", lambda: bf16_cpu)
    assert train.native_bf16() is bf16_cpu


def test_predictions_in_length_order_come_back_in_feature_order():
    import numpy as np

    from krelectra.finetune.train import predict_in_length_order

    class Recorder:  # a Trainer stand-in: predicts each feature's own length, in the order given
        def predict(self, features):
            self.order = [len(f["input_ids"]) for f in features]
            lengths = np.array(self.order)
            return type("Output", (), {"predictions": (lengths, -lengths)})()

    features = [{"input_ids": [0] * n} for n in (5, 2, 9, 2, 7)]
    trainer = Recorder()
    start, end = predict_in_length_order(trainer, features)
    assert trainer.order == [2, 2, 5, 7, 9]  # batches of similar lengths
    assert start.tolist() == [5, 2, 9, 2, 7] and end.tolist() == [-5, -2, -9, -2, -7]


def test_bf16_training_gives_the_fp32_losses_and_scores_within_tolerance(model_dir, data_dir, tmp_path):
    from krelectra.finetune.train import finetune

    for task_name, metric, tolerance in (("nsmc", "accuracy", 5.0), ("korsts", "spearman", 5.0)):
        runs = {
            precision: finetune(
                TASKS[task_name],
                str(model_dir),
                data_dir,
                3,
                tmp_path / f"{task_name}-{precision}",
                overrides=dict(FAST, num_train_epochs=3),
                threads=1,
                precision=precision,
                train_sampling="random",
            )
            for precision in ("fp32", "bf16")
        }
        assert runs["bf16"]["training_speed_settings"]["precision"] == "bf16"
        fp32_losses = [p["train_loss"] for p in runs["fp32"]["points"]]
        bf16_losses = [p["train_loss"] for p in runs["bf16"]["points"]]
        assert bf16_losses != fp32_losses  # the autocast really ran
        assert bf16_losses == pytest.approx(fp32_losses, rel=0.01)
        for fp32_point, bf16_point in zip(runs["fp32"]["points"], runs["bf16"]["points"]):
            # Predictions stay in fp32: scores (KorSTS's from real-valued outputs) move
            # only as far as the slightly different weights move them.
            assert bf16_point["test"][metric] == pytest.approx(fp32_point["test"][metric], abs=tolerance)


def test_length_grouped_training_learns_as_well_and_predicts_in_example_order(model_dir, data_dir, tmp_path):
    from krelectra.finetune.train import finetune

    accuracy = {}
    for grouping in ("group_by_length", "random"):
        result = finetune(
            TASKS["nsmc"],
            str(model_dir),
            data_dir,
            3,
            tmp_path / grouping,
            overrides=dict(FAST, num_train_epochs=8),
            threads=1,
            train_sampling=grouping,
        )
        assert result["training_speed_settings"]["train_sampling"] == grouping
        accuracy[grouping] = result["protocols"]["clean"]["test"]["accuracy"]
        lines = [json.loads(line) for line in (tmp_path / grouping / "predictions.jsonl").read_text().splitlines()]
        clean_step = result["protocols"]["clean"]["step"]
        correct = sum(line["prediction"]["clean"] == line["gold"] for line in lines)
        assert correct / len(lines) * 100 == pytest.approx(accuracy[grouping])
        assert {line["step"]["clean"] for line in lines} == {clean_step}
    assert accuracy["group_by_length"] >= 90.0 and accuracy["random"] >= 90.0  # a 50/50 task, learned either way
    assert accuracy["group_by_length"] == pytest.approx(accuracy["random"], abs=5.0)


# ------------------------------------------------------------------ save points


def reference_checkpoint_steps(train_examples: int, batch_size: int, epochs: int, save_steps: int) -> list[int]:
    """The steps KR-ELECTRA's finetuning loop saves (and later evaluates) a checkpoint at,
    written as the spec states the rule (tasks.md, "Which checkpoints"): after each
    optimizer step, `if save_steps > 0 and global_step % save_steps == 0`; nothing at
    epoch ends or the last step otherwise. One step per batch, the last batch of an epoch
    smaller (a DataLoader without drop_last)."""
    saved, global_step = [], 0
    for _epoch in range(epochs):
        for _batch in range(0, train_examples, batch_size):
            global_step += 1
            if save_steps > 0 and global_step % save_steps == 0:
                saved.append(global_step)
    return saved


def test_a_run_on_a_fixture_evaluates_where_the_reference_saved_its_checkpoints(tmp_path):
    from krelectra.finetune.train import finetune

    fixtures = FIXTURES / "question-pair"
    texts = [path.read_text(encoding="utf-8") for path in sorted(fixtures.glob("*.tsv"))]
    (tmp_path / "model").mkdir()
    model = make_tiny_model(tmp_path / "model", texts)
    # 200 training examples in batches of 32: 7 steps an epoch, 21 in 3 epochs; every 5th:
    # 5, 10, 15, 20 (neither the epoch ends 7, 14 nor the last step 21).
    hyper = dict(FAST, num_train_epochs=3, train_batch_size=32, save_steps=5)
    result = finetune(
        TASKS["question-pair"],
        str(model),
        FIXTURES,
        41,
        tmp_path / "out",
        overrides=hyper,
        max_train_examples=200,
        max_eval_examples=40,
        threads=1,
    )
    expected = reference_checkpoint_steps(200, 32, 3, 5)
    assert expected == [5, 10, 15, 20]
    assert [p["step"] for p in result["points"]] == expected
    assert [p["epoch"] for p in result["points"]] == pytest.approx([5 / 7, 10 / 7, 15 / 7, 20 / 7], abs=1e-4)
    assert all(p["train_loss"] > 0 for p in result["points"])
    paper, clean = result["protocols"]["paper"], result["protocols"]["clean"]
    assert paper["step"] in expected and clean["step"] in expected
    assert paper["test"]["accuracy"] == max(p["test"]["accuracy"] for p in result["points"])
    assert clean["dev"]["accuracy"] == max(p["dev"]["accuracy"] for p in result["points"])

    # No multiple of save_steps up to the last step: an error naming task, save_steps and steps.
    with pytest.raises(KrelectraError, match=r"task question-pair: save_steps 22 .* the run's 21 optimizer steps"):
        finetune(
            TASKS["question-pair"],
            str(model),
            FIXTURES,
            41,
            tmp_path / "none",
            overrides=dict(hyper, save_steps=22),
            max_train_examples=200,
            max_eval_examples=40,
            threads=1,
        )
    assert not (tmp_path / "none" / "metrics.json").exists()


def test_where_the_points_lie_does_not_change_training(model_dir, data_dir, tmp_path):
    """Scoring leaves the training RNG alone (a prediction's DataLoader draws from it, and
    the next epoch's random order would follow): a run scoring every 10 steps and one
    scoring only at its last step, 40 (two epochs of the synthetic KorSTS's 20), give the
    same real-valued scores there."""
    from krelectra.finetune.train import finetune

    runs = {
        save_steps: finetune(
            TASKS["korsts"],
            str(model_dir),
            data_dir,
            3,
            tmp_path / str(save_steps),
            overrides=dict(FAST, num_train_epochs=2, save_steps=save_steps),
            threads=1,
        )["points"]
        for save_steps in (10, 40)
    }
    assert [p["step"] for p in runs[10]] == [10, 20, 30, 40] and [p["step"] for p in runs[40]] == [40]
    assert (runs[10][-1]["dev"], runs[10][-1]["test"]) == (runs[40][0]["dev"], runs[40][0]["test"])
