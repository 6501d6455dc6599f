"""The finetuning rules in a real Snakemake run: one job per task x seed for a model
folder, then the model's summary over seeds."""

import json

import pytest
import yaml
from builders import make_tiny_model
from workflow_helpers import copy_workflow, snakemake

TASKS = ["hate-speech", "korquad"]


@pytest.mark.slow
def test_finetune_jobs_and_summary_for_a_model_folder(tmp_path):
    work = copy_workflow(tmp_path / "work")
    texts = [(work / "resources/finetune" / task).glob("*") for task in TASKS]
    (tmp_path / "tiny").mkdir()
    model = make_tiny_model(tmp_path / "tiny", [path.read_text(encoding="utf-8") for paths in texts for path in paths])
    overrides = {
        "finetune": {
            "tasks": TASKS,
            "models": {"tiny": str(model)},
            "seeds": [1, 2],
            "hyperparameters": {"num_train_epochs": 2, "max_seq_length": 48, "learning_rate": 1e-3},
            # 64 examples in batches of 16: 4 steps an epoch (korquad: one per window)
            "task_hyperparameters": {
                "hate-speech": {"save_steps": 4},
                "korquad": {"num_train_epochs": 2, "doc_stride": 16, "max_query_length": 8, "save_steps": 4},
            },
            "max_train_examples": 64,
            "max_eval_examples": 24,
            "dataloader_workers": 1,  # reaches each job's Trainer (the same numbers: test_finetune_overhead.py)
        }
    }
    (work / "tiny.yaml").write_text(yaml.safe_dump(overrides), encoding="utf-8")
    target = "results/finetune/tiny/summary.json"
    snakemake(work, "--cores", "2", "--configfile", "config/config.yaml", "tiny.yaml", "--", target)

    summary = json.loads((work / target).read_text(encoding="utf-8"))
    assert sorted(summary["tasks"]) == sorted(TASKS)
    for task in TASKS:
        assert summary["tasks"][task]["seeds"] == [1, 2]
        for protocol in ("paper", "clean"):
            for stats in summary["tasks"][task]["protocols"][protocol]["test"].values():
                assert stats["n"] == 2 and len(stats["values"]) == 2
        for seed in (1, 2):
            run = work / f"results/finetune/tiny/{task}/seed{seed}"
            metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
            assert metrics["seed"] == seed and metrics["model_source"] == str(model)
            assert metrics["data"]["train"]["examples"] == 64
            last = 2 * metrics["steps_per_epoch"]
            assert [p["step"] for p in metrics["points"]] == list(range(4, last + 1, 4))
            assert metrics["hyperparameters"]["learning_rate"] == 1e-3
            assert metrics["training_speed_settings"]["dataloader_workers"] == 1
            assert metrics["training_speed_settings"]["torch_compile"] is False
            assert (run / "predictions.jsonl").stat().st_size > 0
            log = (work / f"results/logs/finetune/tiny/{task}/seed{seed}.log").read_text(encoding="utf-8")
            assert f"step {metrics['points'][-1]['step']} (epoch " in log
    korquad = json.loads((work / "results/finetune/tiny/korquad/seed1/metrics.json").read_text(encoding="utf-8"))
    assert korquad["hyperparameters"]["doc_stride"] == 16 and korquad["hyperparameters"]["max_query_length"] == 8
    assert korquad["data"]["test"]["windows"] > korquad["data"]["test"]["examples"]  # contexts span several windows
    # a second run has nothing to do
    assert (
        "Nothing to be done"
        in snakemake(work, "-n", "--configfile", "config/config.yaml", "tiny.yaml", "--", target).stdout
    )
