"""A small synthetic run: every rule output the paper stage reads, in the exact formats
the other stages write (finetuning summaries and protocol selections are made by the
finetune stage's own functions, the vocabulary report by the vocab stage's), so the
paper tests do not need to run the pipeline. Other test_paper_* modules import
`write_run` from here; the tests below check the synthetic files against their producers.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
from pathlib import Path

from krelectra.finetune import protocols
from krelectra.finetune.summary import summarize
from krelectra.finetune.tasks import TASKS
from krelectra.io import read_json, write_json
from krelectra.vocab.tokenizer import write_tokenizer_dir

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
HELDOUT = [
    ["오늘 택배가 왔는데 포장이 꼼꼼해서 좋았어요.", "배송도 빠르고 가격도 괜찮네요!"],
    ["대한민국은 민주공화국이다.", "모든 국민은 법 앞에 평등하다."],
    ["영화가 생각보다 재밌었는데 결말은 좀 아쉬웠음.", "다음 편도 꼭 볼 거예요."],
]
MORPHEMES = [
    "오늘 택배 ##가 왔 ##는데 포장 ##이 꼼꼼 ##해서 좋 ##았 ##어요 .",
    "대한민국 ##은 민주 ##공화국 ##이 ##다 .",
]
MODEL_CONFIG_KEYS = [
    "vocab_size",
    "embedding_size",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "generator_hidden_size",
    "generator_num_hidden_layers",
    "generator_num_attention_heads",
    "generator_intermediate_size",
    "max_position_embeddings",
    "type_vocab_size",
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
    "layer_norm_eps",
    "hidden_act",
]
TRAIN_METRICS = [
    "loss",
    "generator_loss",
    "discriminator_loss",
    "generator_accuracy",
    "discriminator_accuracy",
    "discriminator_precision",
    "discriminator_recall",
    "replaced_fraction",
]


def _vocab(results: Path) -> None:
    """A character-level WordPiece vocabulary (plain and ## forms of every character of the
    held-out text) and a vocabulary report computed by the vocab stage itself."""
    chars = sorted(
        {ch for doc in HELDOUT for s in doc for ch in s if not ch.isspace()}
        | {ch for line in MORPHEMES for ch in line.replace("#", "") if not ch.isspace()}
    )
    pieces = (
        SPECIAL + chars + [f"##{c}" for c in chars] + ["택배", "##는데", "포장", "대한민국", "##어요", "민주공화국"]
    )
    tokenizer = results / "vocab" / "tokenizer"
    write_tokenizer_dir(pieces, tokenizer)
    write_json(
        results / "vocab" / "train.json",
        {
            "alphabet": ["ks_x_1001_hangul", "compatibility_jamo", "ascii"],
            "min_frequency": 2,
            "size": len(pieces),
            "size_requested": len(pieces),
        },
    )
    for shard, docs in (("00000", HELDOUT[:2]), ("00001", HELDOUT[2:])):
        path = results / "vocab" / "heldout" / f"{shard}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join("\n".join(doc) + "\n\n" for doc in docs), encoding="utf-8")
        morphemes = results / "vocab" / "morphemes" / f"{shard}.txt"
        morphemes.parent.mkdir(parents=True, exist_ok=True)
        morphemes.write_text(MORPHEMES[int(shard)] + "\n", encoding="utf-8")
    from krelectra.vocab.report import vocab_report

    vocab_report(
        tokenizer,
        {"all": sorted((results / "vocab" / "heldout").glob("*.txt"))},
        results / "vocab" / "report.json",
        results / "vocab" / "distributions.json",
    )


def _corpus(results: Path) -> None:
    registers = {
        "spoken": {"bytes": 50427, "characters": 20348, "documents": 696, "sentences": 883},
        "written": {"bytes": 105859, "characters": 45125, "documents": 9, "sentences": 571},
    }
    write_json(
        results / "corpus" / "stats.json",
        {
            **{k: sum(r[k] for r in registers.values()) for k in ("bytes", "characters", "documents", "sentences")},
            "cleaning": {"control_characters_removed": 78, "emails_removed": 8, "urls_removed": 6},
            "dropped_sentences": {
                "balance_written": 46,
                "duplicate": 94,
                "empty_document": 0,
                "too_long": 0,
                "too_short": 39,
            },
            "registers": registers,
            "shards": 2,
            "sources": {
                "kolaw": {"bytes": 45859, "documents": 1, "invalid_utf8_sequences_replaced": 0, "register": "written"},
                "spoken-sample": {
                    "bytes": 52284,
                    "documents": 702,
                    "invalid_utf8_sequences_replaced": 0,
                    "register": "spoken",
                },
            },
            "spoken_ratio_achieved": 20348 / 65473,
            "spoken_ratio_target": 0.3,
        },
    )


def _pretrain(results: Path, vocab_size: int, steps: int = 100) -> None:
    from krelectra.pretrain.config import ModelSize, TrainConfig
    from krelectra.pretrain.examples import ExampleConfig

    final = results / "pretrain" / "final"
    final.mkdir(parents=True)
    values = [vocab_size, 64, 128, 2, 2, 512, 32, 2, 1, 128, 512, 2, 0.1, 0.1, 1e-12, "gelu"]
    write_json(final / "model_config.json", dict(zip(MODEL_CONFIG_KEYS, values)))
    train = dataclasses.replace(
        TrainConfig(),
        train_batch_size=32,
        num_train_steps=steps,
        learning_rate=1e-3,
        num_warmup_steps=10,
        log_every_steps=10,
        eval_every_steps=50,
    )
    # The layout of krelectra.pretrain.train.resolved_hyperparameters.
    write_json(
        final / "pretrain_config.json",
        {
            **dataclasses.asdict(train),
            "max_predictions_per_seq": 10,
            "max_seq_length": 64,
            "seed": 12345,
            "strategy": "default",
            "num_replicas": 1,
            "per_replica_batch_size": 32,
            "xla": False,
            "mixed_precision": False,
            "init_checkpoint": "",
            "train_examples": 1234,
            "eval_examples": 56,
            "examples": dataclasses.asdict(ExampleConfig(max_seq_length=64)),
            "model": dataclasses.asdict(
                dataclasses.replace(
                    ModelSize(), embedding_size=64, hidden_size=128, num_hidden_layers=2, generator_hidden_size=0.25
                )
            ),
        },
    )
    records = []
    for step in range(0, steps + 1, 10):
        decay = math.exp(-step / steps)
        values = {
            "generator_loss": 4 + 3 * decay,
            "discriminator_loss": 0.2 + 0.4 * decay,
            "generator_accuracy": 0.3 - 0.2 * decay,
            "discriminator_accuracy": 0.9 - 0.1 * decay,
            "discriminator_precision": 0.7 - 0.5 * decay,
            "discriminator_recall": 0.5 - 0.4 * decay,
            "replaced_fraction": 0.1,
        }
        values["loss"] = values["generator_loss"] + 50 * values["discriminator_loss"]
        if step % 50 == 0:
            records.append({"split": "eval", "step": step, **values})
        if step > 0:
            lr = 1e-3 * min(step / 10, (steps - step + 1) / (steps - 10))
            records.append(
                {
                    "split": "train",
                    "step": step,
                    **values,
                    "learning_rate": lr,
                    "examples_per_sec": 100.0,
                    "tokens_per_sec": 6400.0,
                }
            )
    records.sort(key=lambda r: (r["step"], r["split"] == "eval"))
    with open(results / "pretrain" / "metrics.jsonl", "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r, sort_keys=True) + "\n" for r in records)
    write_json(
        results / "models" / "verification.json",
        {
            "passed": True,
            "tolerance": 1e-5,
            "comparisons": {
                "discriminator_logits": {
                    "max_abs_diff": 2.1e-6,
                    "max_abs_value": 3.0,
                    "allowed": 3e-5,
                    "shape": [4, 64],
                },
                "generator_logits": {
                    "max_abs_diff": 4.5e-6,
                    "max_abs_value": 9.0,
                    "allowed": 9e-5,
                    "shape": [4, 64, vocab_size],
                },
            },
            "batch": {"batch_size": 4, "seq_length": 64, "seed": 0, "tokens": 200, "padding": 56},
            "loaded_with": ["ElectraModel.from_pretrained"],
            "versions": {"transformers": "5.24.0"},
        },
    )


def _metrics(task, rng: random.Random, epoch: int, epochs: int, level: float) -> dict:
    progress = epoch / epochs
    base = level * (0.6 + 0.4 * min(1.0, 2 * progress)) + rng.uniform(-6, 6)
    if task.name == "korquad":
        return {"exact_match": base * 0.7, "f1": base}
    if task.name == "korsts":
        return {"spearman": base, "pearson": base + 1}
    return {task.metrics[0]: base}


TEST_EXAMPLES = 40


def _gold(task, rng: random.Random) -> list:
    if task.problem == "token_classification":
        return [[rng.choice(["O", "O", "PER-B", "PER-I", "LOC-B"]) for _ in range(5)] for _ in range(TEST_EXAMPLES)]
    if task.problem == "regression":
        return [round(rng.uniform(0, 5), 2) for _ in range(TEST_EXAMPLES)]
    if task.problem == "extractive_qa":
        return [[f"답 {i}"] for i in range(TEST_EXAMPLES)]
    return [rng.choice(task.labels) for _ in range(TEST_EXAMPLES)]


def _predict(task, gold, rng: random.Random, right: float):
    if task.problem == "token_classification":
        return [tag if rng.random() < right else "O" for tag in gold]
    if task.problem == "regression":
        return gold + rng.gauss(0, 2 * (1 - right))
    if task.problem == "extractive_qa":
        return gold[0] if rng.random() < right else "오답"
    return gold if rng.random() < right else rng.choice(task.labels)


def _predictions(path: Path, task, model_index: int, seed: int, protocols_run: dict) -> None:
    """predictions.jsonl of a run in the finetune stage's format: the same test examples
    for every model and seed (gold drawn per task), predictions right more often for
    later models."""
    gold = _gold(task, random.Random(task.name))
    rng = random.Random(f"{task.name}/{model_index}/{seed}")
    with open(path, "w", encoding="utf-8") as handle:
        for index, value in enumerate(gold):
            record = {"index": index, "gold": value, "prediction": {}, "epoch": {}}
            if task.problem == "extractive_qa":
                record["id"] = f"q{index}"
            for protocol, chosen in protocols_run.items():
                record["prediction"][protocol] = _predict(task, value, rng, 0.6 + 0.1 * model_index)
                record["epoch"][protocol] = chosen["epoch"]
            handle.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")


def write_run(
    root: Path,
    models=("krelectra-ours",),
    seeds=(41, 42),
    tasks=tuple(TASKS),
    epochs: int = 3,
    hyperparameters: dict | None = None,
    data: dict | None = None,
) -> Path:
    """Write a synthetic `root/results` and return it. `data`: the runs' data facts
    (default: the upstream files, uncapped, as the published numbers were measured)."""
    data = data or {"upstream": True, "max_train_examples": None, "max_eval_examples": None}
    results = Path(root) / "results"
    _corpus(results)
    _vocab(results)
    vocab_size = len((results / "vocab" / "tokenizer" / "vocab.txt").read_text(encoding="utf-8").split())
    _pretrain(results, vocab_size)
    for m, model in enumerate(models):
        for name in tasks:
            task = TASKS[name]
            for seed in seeds:
                rng = random.Random(f"{model}/{name}/{seed}")
                level = 60 + 5 * m
                history = [
                    {
                        "epoch": e,
                        "train_seconds": 1.0,
                        "eval_seconds": 0.5,
                        "train_loss": 1.0 / e,
                        "dev": _metrics(task, rng, e, epochs, level),
                        "test": _metrics(task, rng, e, epochs, level),
                    }
                    for e in range(1, epochs + 1)
                ]
                hp = {**task.hyperparameters, **(hyperparameters or {}), "seed": seed}
                selected = protocols.report(history, task.metrics[0])
                run_dir = results / "finetune" / model / name / f"seed{seed}"
                run_dir.mkdir(parents=True, exist_ok=True)
                _predictions(run_dir / "predictions.jsonl", task, m, seed, selected)
                write_json(
                    run_dir / "metrics.json",
                    {
                        "task": name,
                        "problem": task.problem,
                        "model": model,
                        "model_source": "results/models/discriminator",
                        "seed": seed,
                        "headline_metric": task.metrics[0],
                        "metrics": list(task.metrics),
                        "hyperparameters": hp,
                        "optimizer": "adamw_torch",
                        "epochs": history,
                        "protocols": selected,
                        "data": data,
                        "model_loading": {},
                        "timing": {},
                        "environment": {},
                    },
                )
        runs = [read_json(p) for p in sorted((results / "finetune" / model).glob("*/seed*/metrics.json"))]
        write_json(results / "finetune" / model / "summary.json", summarize(runs, model))
    return results


def write_uncertainty(results: Path, reference_model: str, resamples: int = 200) -> list[Path]:
    """paper/uncertainty/{task}.json of a run, made by the paper stage's own bootstrap."""
    from krelectra.paper.uncertainty import write_task_uncertainty

    paths = []
    for name in TASKS:
        runs = sorted(results.glob(f"finetune/*/{name}/seed*/metrics.json"))
        if runs:
            path = results / "paper" / "uncertainty" / f"{name}.json"
            write_task_uncertainty(name, runs, path, ["paper", "clean"], reference_model, resamples, 0.95, 0)
            paths.append(path)
    return paths


def run_files(results: Path) -> dict:
    """The rule outputs of a synthetic (or real) run, by role."""
    return {
        "corpus_stats": results / "corpus/stats.json",
        "vocab_train": results / "vocab/train.json",
        "vocab_report": results / "vocab/report.json",
        "model_config": results / "pretrain/final/model_config.json",
        "pretrain_config": results / "pretrain/final/pretrain_config.json",
        "verification": results / "models/verification.json",
        "summaries": sorted(results.glob("finetune/*/summary.json")),
        "runs": sorted(results.glob("finetune/*/*/seed*/metrics.json")),
    }


# -- the synthetic files agree with their producers ----------------------------------------


def test_synthetic_model_config_has_the_keys_of_the_pretraining_model_config(tmp_path):
    import ast

    # ModelConfig lives in a module that imports TensorFlow: read its fields from the source.
    source = (Path(__file__).parents[1] / "src/krelectra/pretrain/model.py").read_text(encoding="utf-8")
    cls = next(n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ClassDef) and n.name == "ModelConfig")
    fields = [n.target.id for n in cls.body if isinstance(n, ast.AnnAssign)]
    assert fields == MODEL_CONFIG_KEYS


def test_synthetic_run_has_summaries_the_finetune_stage_accepts(tmp_path):
    from krelectra.finetune.summary import summarize_files

    results = write_run(tmp_path, seeds=(41, 42, 43))
    files = run_files(results)
    assert len(files["runs"]) == 8 * 3
    again = summarize_files(files["runs"], "krelectra-ours")
    assert again == read_json(files["summaries"][0])
    nsmc = again["tasks"]["nsmc"]["protocols"]["paper"]["test"]["accuracy"]
    assert nsmc["n"] == 3 and nsmc["std"] > 0
    report = read_json(files["vocab_report"])["heldout"]["all"]
    assert report["unk_rate"] == 0.0 and report["eojeols"] > 20
    metrics = [json.loads(line) for line in (results / "pretrain/metrics.jsonl").read_text().splitlines()]
    assert {r["split"] for r in metrics} == {"train", "eval"}
    assert all(set(TRAIN_METRICS) <= set(r) for r in metrics)
