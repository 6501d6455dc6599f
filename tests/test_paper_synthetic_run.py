"""The synthetic run of tests/builders.py (`write_run`: every rule output the paper stage
reads, so the paper tests do not need to run the pipeline) agrees with the stages that
produce those files."""

from __future__ import annotations

import json
from pathlib import Path

from builders import MODEL_CONFIG_KEYS, run_files, write_run

from krelectra.io import read_json

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
