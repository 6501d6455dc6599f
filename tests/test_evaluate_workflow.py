"""The evaluation harness on its own, end to end through Snakemake: tiny random encoders
(ELECTRA from a Hugging Face hub id in an offline cache; BERT, RoBERTa and XLM-RoBERTa
from folders) finetuned on the fixtures of all eight tasks with config/evaluate.yaml
(no corpus) pointed at them, then the results table with bootstrap intervals and paired
tests against the ELECTRA model. (BERT with a SentencePiece tokenizer, KoBERT's kind,
runs every task head in tests/test_finetune_families.py.) Every job is one epoch on 64
training and 48 test examples: nearly all of a job's time is the process start-up."""

from __future__ import annotations

import csv
import json
import re
import shutil

import pytest
import yaml
from encoder_families import build_encoder
from workflow_helpers import copy_workflow, snakemake

from krelectra.finetune.tasks import TASKS

HUB_ID = "tiny-org/tiny-electra"
REVISION = "0123456789abcdef0123456789abcdef01234567"
FOLDERS = {"bert": "bert", "roberta": "roberta", "xlm-roberta": "xlm-roberta"}
MODEL_TYPES = {"electra": "electra", "bert": "bert", "roberta": "roberta", "xlm-roberta": "xlm-roberta"}
RESULTS = "results-eval"


def fake_hub_cache(root, folder):
    """A Hugging Face hub cache holding `folder` as HUB_ID at REVISION (the layout `hf download` writes)."""
    repo = root / f"models--{HUB_ID.replace('/', '--')}"
    shutil.copytree(folder, repo / "snapshots" / REVISION)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(REVISION)
    return root


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    root = tmp_path_factory.mktemp("evaluate_harness")
    work = copy_workflow(root / "work")
    models = {"electra": HUB_ID}
    for name, family in FOLDERS.items():
        models[name] = str(build_encoder(family, root / "encoders" / name))
    hub = fake_hub_cache(root / "hub", build_encoder("electra", root / "encoders" / "electra"))
    # The shipped config for released encoders (a named config is the whole config), with
    # the tiny models, the fixtures and one cheap epoch instead of the upstream data.
    config = yaml.safe_load((work / "config" / "evaluate.yaml").read_text(encoding="utf-8"))
    config["results"] = RESULTS
    config["finetune"].update(
        data="fixtures",
        models=models,
        seeds=[1],
        hyperparameters={
            "num_train_epochs": 1,
            "learning_rate": 1e-3,
            "train_batch_size": 16,
            "eval_batch_size": 64,
            "max_seq_length": 64,
            "save_steps": 4,  # 64 examples in batches of 16: 4 steps, one save point
        },
        task_hyperparameters={"korquad": {"doc_stride": 16, "max_query_length": 16}},
        max_train_examples=64,
        max_eval_examples=48,
        threads=1,
        mem_mb=2000,
    )
    config["paper"]["labels"] = {}
    config["paper"]["uncertainty"].update(reference_model="electra", resamples=200, threads=1)
    (work / "eval.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    result = snakemake(work, "--cores", "2", "--configfile", "eval.yaml", env={"HF_HUB_CACHE": str(hub)})
    return work, result, hub


@pytest.mark.slow
def test_only_finetuning_and_paper_jobs_run(evaluated):
    work, result, _ = evaluated
    log = result.stdout + result.stderr
    rules = set(re.findall(r"^rule (\w+):", log, re.M)) | set(re.findall(r"^localrule (\w+):", log, re.M))
    assert rules == {
        "finetune_train",
        "finetune_summary",
        "paper_uncertainty",
        "manifest",
        "paper_tables",
        "paper_figures",
        "all",
    }
    for stage in ("corpus", "vocab", "pretrain", "models"):
        assert not (work / RESULTS / stage).exists(), stage
    tables = work / RESULTS / "paper/tables"
    assert sorted(p.stem for p in tables.glob("*.md")) == ["finetuning", "results"]
    figures = work / RESULTS / "paper/figures"
    assert sorted(p.name for p in figures.glob("*.png")) == ["comparison.png", "finetuning.png"]


@pytest.mark.slow
def test_every_family_ran_every_task_from_its_source(evaluated):
    work, _, _ = evaluated
    timings = {}
    for model, model_type in MODEL_TYPES.items():
        for task in TASKS:
            run = json.loads((work / RESULTS / f"finetune/{model}/{task}/seed1/metrics.json").read_text())
            assert run["model_type"] == model_type and run["tokenizer"]["fast"], (model, task)
            assert run["model_revision"] == (REVISION if model == "electra" else None)
            assert run["data"]["test"]["examples"] == 48
            assert [p["step"] for p in run["points"]] == list(range(4, run["steps_per_epoch"] + 1, 4))
            bench = work / RESULTS / f"benchmarks/finetune/{model}/{task}/seed1.tsv"
            with open(bench) as handle:
                timings[(model, task)] = float(next(csv.DictReader(handle, delimiter="\t"))["s"])
    print("\nseconds per finetuning job (tiny models, 1 epoch, 64 train / 48 eval examples):")
    for task in TASKS:
        print(f"  {task:14s}", "  ".join(f"{model} {timings[(model, task)]:5.1f}" for model in MODEL_TYPES))


@pytest.mark.slow
def test_results_table_has_intervals_and_the_computed_significance_marks(evaluated):
    work, _, _ = evaluated
    uncertainty = {task: json.loads((work / RESULTS / f"paper/uncertainty/{task}.json").read_text()) for task in TASKS}
    md = (work / RESULTS / "paper/tables/results.md").read_text(encoding="utf-8")
    lines = md.splitlines()
    marks_expected = 0
    widths = {}
    for protocol, title in (("paper", "paper protocol"), ("clean", "clean protocol")):
        start = next(i for i, line in enumerate(lines) if title in line)
        for model in MODEL_TYPES:
            # every row is marked: the fixtures are not the upstream data, and capped
            row_index = next(i for i in range(start, len(lines)) if lines[i].startswith(f"| {model} [other data"))
            assert ("(reference)" in lines[row_index]) == (model == "electra")
            interval_row = lines[row_index + 1]
            assert interval_row.startswith("| 95% CI |")
            # one interval per score: 9 (KorQuAD has EM and F1), each holding the row's value
            # (a column is printed to 2 or 3 decimals: NSMC to 3, as its published 91.168)
            values = [float(v) for v in re.findall(r"(-?\d+\.\d+)", lines[row_index])]
            intervals = [(float(a), float(b)) for a, b in re.findall(r"\[(-?\d+\.\d+), (-?\d+\.\d+)\]", interval_row)]
            assert len(intervals) == 9 and len(values) == 9, (model, interval_row)
            for value, (low, high) in zip(values, intervals):
                assert low <= value <= high, (model, protocol, value, low, high)
            for task, data in uncertainty.items():
                entry = data["protocols"][protocol]
                metrics = entry["models"][model]["metrics"]
                widths.setdefault(task, {})[(model, protocol)] = {
                    name: score["high"] - score["low"] for name, score in metrics.items() if score["low"] is not None
                }
                if model != "electra":
                    for name, test in entry["comparisons"][model]["metrics"].items():
                        assert set(test) == {"difference", "low", "high", "p_value", "significant"}
                        shown = name in ("accuracy", "f1", "exact_match", "macro_f1", "spearman")
                        marks_expected += shown and test["significant"]
                else:
                    assert model not in entry["comparisons"]
    assert md.count("†") == marks_expected + 1  # and once in the note
    assert "paired bootstrap test" in md and "percentile bootstrap interval" in md
    print("\n95% interval widths on the fixtures (points; 48 test examples, one seed), clean protocol:")
    for task in TASKS:
        print(f"  {task:14s}", "  ".join(f"{m} {widths[task][(m, 'clean')]}" for m in MODEL_TYPES))


@pytest.mark.slow
def test_a_second_run_has_nothing_to_do(evaluated):
    work, _, hub = evaluated
    again = snakemake(work, "-n", "--configfile", "eval.yaml", env={"HF_HUB_CACHE": str(hub)})
    assert "Nothing to be done" in again.stdout + again.stderr
