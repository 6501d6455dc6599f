# Finetuning: one job per model x task x seed (metrics.json, predictions.jsonl), then
# one summary per model (mean and standard deviation over seeds, both protocols).
# Data files come from finetune_data.smk (FINETUNE_DATA, FINETUNE_DATA_FILES).

import os
import re

from krelectra.convert.layout import LOADED_FILES
from krelectra.convert.mapping import DISCRIMINATOR
from krelectra.finetune.tasks import TASKS, configured_hyperparameters, resolve_seeds

FINETUNE = f"{RESULTS}/finetune"
FINETUNE_CONFIG = config["finetune"]
# "converted" in finetune.models: this workflow's discriminator (convert.smk). Each job
# loads its model from finetune_model_source and depends on finetune_model_files (common.smk).
CONVERTED_DISCRIMINATOR = f"{MODELS}/{DISCRIMINATOR}"
CONVERTED_FILES = LOADED_FILES

# Per task: every hyperparameter its jobs use apart from the seed (KR-ELECTRA's values,
# then finetune.hyperparameters, then finetune.task_hyperparameters.<task>), passed in
# full so that each job's command line shows what it runs; and its seeds.
try:
    FINETUNE_HYPERPARAMETERS = {
        task: configured_hyperparameters(
            TASKS[task],
            FINETUNE_CONFIG["hyperparameters"],
            FINETUNE_CONFIG["task_hyperparameters"].get(task),
        )
        for task in FINETUNE_CONFIG["tasks"]
    }
    FINETUNE_SEEDS = {task: resolve_seeds(TASKS[task], FINETUNE_CONFIG["seeds"]) for task in FINETUNE_CONFIG["tasks"]}
except KrelectraError as error:
    raise WorkflowError(f"config finetune: {error}")
# Per model: the metrics.json of each of its runs (every task with each of its seeds).
FINETUNE_RUNS = {
    model: [
        f"{FINETUNE}/{model}/{task}/seed{seed}/metrics.json"
        for task in FINETUNE_CONFIG["tasks"]
        for seed in FINETUNE_SEEDS[task]
    ]
    for model in FINETUNE_CONFIG["models"]
}
# A job's resume state (docs/finetune.md): not an output, as Snakemake removes a failed
# job's outputs.
FINETUNE_WORK = f"{FINETUNE}/.work/{{model}}/{{task}}/seed{{seed}}"
FINETUNE_LIMITS = {key: as_json(FINETUNE_CONFIG[key]) for key in ("max_train_examples", "max_eval_examples")}


rule finetune_train:
    """Finetune one model on one task with one seed; score dev and test every save_steps steps."""
    input:
        data=finetune_task_data,
        model=finetune_model_files,
    output:
        metrics=f"{FINETUNE}/{{model}}/{{task}}/seed{{seed}}/metrics.json",
        predictions=f"{FINETUNE}/{{model}}/{{task}}/seed{{seed}}/predictions.jsonl",
    log:
        f"{LOGS}/finetune/{{model}}/{{task}}/seed{{seed}}.log",
    benchmark:
        f"{BENCHMARKS}/finetune/{{model}}/{{task}}/seed{{seed}}.tsv"
    wildcard_constraints:
        model="|".join(re.escape(name) for name in FINETUNE_CONFIG["models"]),
        task="|".join(re.escape(name) for name in FINETUNE_CONFIG["tasks"]),
        seed=r"\d+",
    conda:
        "../../envs/finetune.yaml"
    threads: FINETUNE_CONFIG["threads"]
    resources:
        mem_mb=FINETUNE_CONFIG["mem_mb"],
        gpu_slots=1,  # --resources gpu_slots=<finetune.jobs_per_gpu x GPUs>
    params:
        source=finetune_model_source,
        data=FINETUNE_DATA,
        hyperparameters=finetune_hyperparameters,
        protocols=as_json(FINETUNE_CONFIG["protocols"]),
        dev_fraction=FINETUNE_CONFIG["dev_fraction"],
        precision=FINETUNE_CONFIG["precision"],
        train_sampling=FINETUNE_CONFIG["train_sampling"],
        max_train=FINETUNE_LIMITS["max_train_examples"],
        max_eval=FINETUNE_LIMITS["max_eval_examples"],
        output_dir=lambda w, output: os.path.dirname(output.metrics),
        work_dir=finetune_work_dir,
        restart=finetune_restart_flag,
        cpu_kernels=config["cpu_kernels"],
        jobs_per_gpu=FINETUNE_CONFIG["jobs_per_gpu"],
        torch_compile="--torch-compile" if FINETUNE_CONFIG["torch_compile"] else "",
        dataloader_workers=FINETUNE_CONFIG["dataloader_workers"],
    shell:
        "krelectra finetune train --task {wildcards.task} --seed {wildcards.seed}"
        " --model {params.source:q} --model-name {wildcards.model} --data {params.data:q}"
        " --dev-fraction {params.dev_fraction} --hyperparameters {params.hyperparameters}"
        " --precision {params.precision} --train-sampling {params.train_sampling}"
        " --protocols {params.protocols} --max-train-examples {params.max_train}"
        " --max-eval-examples {params.max_eval} --threads {threads}"
        " --cpu-kernels {params.cpu_kernels} --jobs-per-gpu {params.jobs_per_gpu}"
        " --dataloader-workers {params.dataloader_workers} {params.torch_compile}"
        " --output-dir {params.output_dir}"
        " --work-dir {params.work_dir} {params.restart} 2> {log}"


rule finetune_summary:
    """Mean and standard deviation over seeds of one model's test results, per task and protocol."""
    input:
        finetune_model_runs,
    output:
        f"{FINETUNE}/{{model}}/summary.json",
    log:
        f"{LOGS}/finetune/{{model}}/summary.log",
    benchmark:
        f"{BENCHMARKS}/finetune/{{model}}/summary.tsv"
    wildcard_constraints:
        model="|".join(re.escape(name) for name in FINETUNE_CONFIG["models"]),
    conda:
        "../../envs/finetune.yaml"
    params:
        protocols=as_json(FINETUNE_CONFIG["protocols"]),
    shell:
        "krelectra finetune summarize --model-name {wildcards.model}"
        " --protocols {params.protocols} --output {output} {input} 2> {log}"


rule finetune:
    """Target: the finetuning summary of every configured model."""
    input:
        expand(f"{FINETUNE}/{{model}}/summary.json", model=list(FINETUNE_CONFIG["models"])),
