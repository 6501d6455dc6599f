# Paths and input functions shared by every stage. Rules only wire files;
# the work is done by `krelectra <stage> <command>` (src/krelectra).

import json
import os
import re
import shlex
import sys

from snakemake.settings.types import DeploymentMethod

from krelectra.corpus.public import MEDIAWIKI, TEXT_COLUMN, download_path, public_dataset, record_path, text_path
from krelectra.corpus.sources import resolve_sources
from krelectra.errors import KrelectraError
from krelectra.vocab.tokenizer import TOKENIZER_FILES

# Rules call `krelectra <stage> <command>`. Without --use-conda it runs with the Python
# that runs Snakemake (where the project is installed); with --use-conda each stage's
# pinned environment provides the dependencies and src/ provides krelectra itself.
if DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method:
    _krelectra = f"PYTHONPATH={shlex.quote(os.path.join(workflow.basedir, 'src'))} python -m krelectra"
else:
    _krelectra = f"{shlex.quote(sys.executable)} -m krelectra"
# (Snakemake formats the prefix like a shell command, hence the doubled braces; an f-string,
# since Snakemake's linter takes a string added to a name for path composition.)
_open, _close = "{{", "}}"
shell.prefix(f'set -euo pipefail; krelectra() {_open} {_krelectra} "$@"; {_close}; ')

RESULTS = config["results"]
LOGS = f"{RESULTS}/logs"
BENCHMARKS = f"{RESULTS}/benchmarks"
# The converted models (convert.smk); finetuning names the discriminator also for a
# config without the pretraining side.
MODELS = f"{RESULTS}/models"


def as_json(value):
    """A config value as one shell-quoted JSON argument for a krelectra command."""
    return shlex.quote(json.dumps(value, ensure_ascii=False, sort_keys=True))


# -- which parts of the workflow a config uses ------------------------------------------
# "converted" in finetune.models is this workflow's own model, pretrained on the config's
# corpus and converted to Hugging Face. The pretraining side (the corpus, vocabulary,
# pretraining and conversion rules) is part of the workflow only when the config has a
# corpus; the paper describes it (model, pretraining and corpus tables, pretraining and
# vocabulary figures) only when that model is evaluated. A config that evaluates released
# encoders only (config/evaluate.yaml) has no corpus and no job of that side.
CONVERTED = "converted"
PRETRAINING_SIDE = "corpus" in config
EVALUATES_CONVERTED = CONVERTED in config["finetune"]["models"].values()
if EVALUATES_CONVERTED and not PRETRAINING_SIDE:
    _converted = [name for name, source in config["finetune"]["models"].items() if source == CONVERTED]
    raise WorkflowError(
        f"config corpus: missing, but finetune.models evaluates this workflow's own model "
        f"({', '.join(_converted)}: {CONVERTED}), which is pretrained on corpus.sources; add a corpus "
        "section, or list only model folders and Hugging Face hub ids in finetune.models "
        "(config/evaluate.yaml)"
    )

# The corpus stage's outputs (corpus.smk), and the public data it downloads (corpus_data.smk).
CORPUS = f"{RESULTS}/corpus"
# {name: PublicDataset} of every public data set a source names (corpus.sources[].public).
PUBLIC_DATASETS = {}


# The pinned addresses and git blob SHA-1s of the public data sets' GitHub files.
CORPUS_MANIFEST = f"{workflow.basedir}/resources/corpus/manifest.tsv"


def public_text_files(name, where):
    """The text files corpus_partition reads for the public data set `name` (rule outputs)."""
    download = config["corpus"]["download"]
    dataset = public_dataset(
        name, download["wikimedia_dump"], download["wikimedia_base_url"], manifest=CORPUS_MANIFEST, where=where
    )
    PUBLIC_DATASETS[name] = dataset
    return [text_path(CORPUS, dataset, file) for file in dataset.files]


# Corpus sources are resolved (globs expanded, package paths located) once, when the
# workflow is parsed, so a missing file stops the run before any job starts; the files of
# public data sets are the outputs of their download and extraction rules.
if PRETRAINING_SIDE:
    try:
        SOURCES = resolve_sources(config["corpus"]["sources"], public_files=public_text_files)
    except KrelectraError as error:
        raise WorkflowError(f"config corpus.sources: {error}")
    SHARDS = [f"{i:05d}" for i in range(config["corpus"]["num_shards"])]


def source_spec(name):
    """The resolved corpus source called `name` (a wildcard of the partition rule)."""
    return next(s for s in SOURCES if s.name == name)


# -- input functions and wildcard-dependent params of the corpus rules ------------------


def corpus_source_files(wildcards):
    """The raw text files of the source being partitioned."""
    return source_spec(wildcards.source).files


def corpus_source_register(wildcards):
    """written or spoken: the register of the source being partitioned."""
    return source_spec(wildcards.source).register


def corpus_source_documents(wildcards):
    """How the source being partitioned separates documents."""
    return source_spec(wildcards.source).documents


def corpus_source_provenance(wildcards):
    """The download records of the public data sets of the source being partitioned."""
    return [
        record_path(download_path(CORPUS, PUBLIC_DATASETS[name], file.name))
        for name in source_spec(wildcards.source).public
        for file in PUBLIC_DATASETS[name].files
    ]


wildcard_constraints:
    shard=r"\d{5}",
    source=r"[A-Za-z0-9_.-]+",


# -- input functions and wildcard constraints of the public corpus rules (corpus_data.smk) --


def alternatives(names):
    """A wildcard constraint matching exactly `names` (none: nothing)."""
    return "|".join(re.escape(name) for name in sorted(names)) or "(?!)"


def public_datasets_of(kind=None, extraction=None):
    """Names of the public data sets of a kind ("github", "wikimedia") or with a file of an extraction."""
    return [
        name
        for name, dataset in PUBLIC_DATASETS.items()
        if (kind is None or dataset.kind == kind)
        and (extraction is None or any(f.extraction == extraction for f in dataset.files))
    ]


def public_checksums(wildcards):
    """The checksum list a dump file is verified against (none for GitHub files)."""
    dataset = PUBLIC_DATASETS[wildcards.dataset]
    return [download_path(CORPUS, dataset, dataset.checksums[0])] if dataset.checksums else []


def public_download_options(wildcards, input):
    """The address and the check of one download: the pinned git blob SHA-1 of a GitHub
    file, the checksum list of a dump file (and the dump date of a Wikimedia data set)."""
    dataset = PUBLIC_DATASETS[wildcards.dataset]
    name = getattr(wildcards, "file", None) or wildcards.checksums
    options = ["--url", dataset.url(name)]
    file = next((f for f in dataset.files if f.name == name), None)
    if file is not None and file.git_blob_sha1:
        options += ["--git-blob-sha1", file.git_blob_sha1]
    if file is not None and file.bytes is not None:
        options += ["--bytes", file.bytes]
    if input.get("checksums"):
        options += ["--checksums", input.checksums]
    if dataset.kind == "wikimedia":
        options += ["--wikimedia-dump", config["corpus"]["download"]["wikimedia_dump"]]
    return " ".join(shlex.quote(str(option)) for option in options)


def public_text_column(wildcards):
    """The column of a tab-separated file that holds its text."""
    dataset = PUBLIC_DATASETS[wildcards.dataset]
    return next(f.text_column for f in dataset.files if f.name == wildcards.file)


# -- input functions of the finetuning and paper rules ----------------------------------


def finetune_task_data(wildcards):
    """The data files of the task of a finetuning job (finetune_data.smk)."""
    return FINETUNE_DATA_FILES[wildcards.task]


def finetune_model_source(wildcards):
    """What `krelectra finetune train --model` loads for the job's model: the converted
    discriminator's folder, or the configured folder or Hugging Face hub id."""
    source = config["finetune"]["models"][wildcards.model]
    return CONVERTED_DISCRIMINATOR if source == CONVERTED else source


def finetune_model_files(wildcards):
    """The local files a finetuning job depends on: the converted discriminator's, a model
    folder, or none for a hub id (read from the Hugging Face cache; a hub id that is not
    there while HF_HUB_OFFLINE=1 stops the job with how to fetch it)."""
    source = config["finetune"]["models"][wildcards.model]
    if source == CONVERTED:
        return [f"{CONVERTED_DISCRIMINATOR}/{file}" for file in CONVERTED_FILES]
    return [source] if os.path.isdir(os.path.expanduser(source)) else []


def finetune_hyperparameters(wildcards):
    """Every hyperparameter of the job's task (apart from the seed) as one JSON argument."""
    return as_json(FINETUNE_HYPERPARAMETERS[wildcards.task])


def finetune_work_dir(wildcards):
    """The job's resume state folder (not an output: Snakemake removes a failed job's outputs)."""
    return expand(FINETUNE_WORK, **wildcards)[0]


def finetune_restart_flag(wildcards):
    """--restart for a job with a state folder when finetune.restart is on: only a killed
    job has one (it is removed on success), so switching the key reruns no completed job."""
    return "--restart" if FINETUNE_CONFIG["restart"] and os.path.isdir(finetune_work_dir(wildcards)) else ""


def finetune_model_runs(wildcards):
    """The metrics.json of every task and seed of one model."""
    return FINETUNE_RUNS[wildcards.model]


def paper_tables_of_another_config(wildcards):
    """Input function of paper_tables_of_the_default (paper.smk), a rule only under a config
    with another results folder: a request for the embedded default's paper/tables stops
    here with this config's tables folder and the target to use."""
    raise WorkflowError(
        f"{DEFAULT_PAPER_OUTPUT}/tables is where the embedded default (results: {DEFAULT_RESULTS}) "
        f"puts its tables; this config's results folder is {RESULTS}, so its tables go to "
        f"{PAPER_OUTPUT}/tables: ask for the target paper_tables (or {PAPER_OUTPUT}/tables; "
        "paper_figures and paper_pdf likewise)"
    )


def paper_task_runs(wildcards):
    """metrics.json of every run of the shown models on the task of a paper_uncertainty job."""
    return [
        f"{FINETUNE}/{model}/{wildcards.task}/seed{seed}/metrics.json"
        for model in PAPER_MODELS
        for seed in FINETUNE_SEEDS[wildcards.task]
    ]


def paper_task_predictions(wildcards):
    """predictions.jsonl beside each of paper_task_runs (the bootstrap's input)."""
    return [os.path.join(os.path.dirname(path), "predictions.jsonl") for path in paper_task_runs(wildcards)]


def paper_pretraining_tables_inputs():
    """The pretraining side's outputs the model, pretraining and corpus tables read; none
    when the config evaluates no converted model (those tables are then not made)."""
    if not EVALUATES_CONVERTED:
        return {}
    return {
        "corpus_stats": f"{CORPUS}/stats.json",
        "vocab_train": f"{VOCAB}/train.json",
        "vocab_report": f"{VOCAB}/report.json",
        "model_config": f"{PRETRAIN_FINAL}/model_config.json",
        "pretrain_config": f"{PRETRAIN_FINAL}/pretrain_config.json",
        "verification": f"{MODELS}/{VERIFICATION}",
        "contamination": f"{CORPUS}/contamination.json",
    }


def paper_tables_inputs(wildcards):
    return {
        "published": "paper/published.yaml",
        "summaries": PAPER_SUMMARIES,
        "runs": PAPER_RUNS,
        "uncertainty": PAPER_UNCERTAINTY,
        "manifest": MANIFEST,
        **paper_pretraining_tables_inputs(),
    }


def paper_figures_inputs(wildcards):
    inputs = {"published": "paper/published.yaml", "summaries": PAPER_SUMMARIES, "runs": PAPER_RUNS}
    if EVALUATES_CONVERTED:
        inputs["metrics"] = f"{PRETRAIN}/metrics.jsonl"
        inputs["vocab_distributions"] = rules.vocab_report.output.distributions
    return inputs


def contamination_models_option(wildcards):
    """--contamination-models: the shown models pretrained on this workflow's corpus (whose
    clean-subset scores the contamination table shows); none without the pretraining side."""
    converted = [m for m in PAPER_MODELS if config["finetune"]["models"][m] == CONVERTED]
    return f"--contamination-models {' '.join(converted)}" if EVALUATES_CONVERTED and converted else ""


def pretraining_options(wildcards, input):
    """The options naming the pretraining side's outputs among a paper job's inputs (none
    for a config that evaluates released encoders only)."""
    options = []
    for name in (*paper_pretraining_tables_inputs(), "metrics", "vocab_distributions"):
        if name in input.keys():
            paths = getattr(input, name)
            paths = [paths] if isinstance(paths, str) else paths
            options.append(f"--{name.replace('_', '-')} " + " ".join(shlex.quote(path) for path in paths))
    return " ".join(options)


# -- input functions of the manifest rule -------------------------------------------------


def manifest_jobs():
    """Each rule's jobs (their wildcards) that the manifest (manifest.smk) describes, in the
    workflow's order: the downloads of `finetune.data: download` (the contamination audit
    reads them), the pretraining side when the tables describe this workflow's own model
    (public data downloads and extraction, corpus, audit, vocabulary, pretraining,
    conversion), then the finetuning and bootstrap jobs of the models the tables show."""
    jobs = {}
    tasks = FINETUNE_CONFIG["tasks"]
    if FINETUNE_CONFIG["data"] == "download":
        jobs["finetune_download"] = [{"task": t, "file": f} for t in tasks for f in TASKS[t].file_names]
    if EVALUATES_CONVERTED:
        shards = [{"shard": shard} for shard in SHARDS]
        public = PUBLIC_DATASETS.values()
        jobs.update(
            corpus_download_checksums=[{"dataset": d.name, "checksums": d.checksums[0]} for d in public if d.checksums],
            corpus_download=[{"dataset": d.name, "file": f.name} for d in public for f in d.files],
            corpus_extract_wiki=[
                {"dataset": d.name, "stem": f.name.removesuffix(".xml.bz2")}
                for d in public
                for f in d.files
                if f.extraction == MEDIAWIKI
            ],
            corpus_extract_column=[
                {"dataset": d.name, "file": f.name} for d in public for f in d.files if f.extraction == TEXT_COLUMN
            ],
            corpus_partition=[{"source": source.name} for source in SOURCES],
            corpus_contamination_index=[{}],
            corpus_clean=shards,
            corpus_contamination=[{}],
            corpus_dedup=[{}],
            corpus_finalize=shards,
            corpus_stats=[{}],
            vocab_segment=shards,
            vocab_train=[{}],
            vocab_report=[{}],
            pretrain_examples=shards,
            pretrain_model=[{}],
            convert_checkpoint=[{}],
        )
    jobs["finetune_train"] = [
        {"model": model, "task": task, "seed": str(seed)}
        for model in PAPER_MODELS
        for task in tasks
        for seed in FINETUNE_SEEDS[task]
    ]
    jobs["finetune_summary"] = [{"model": model} for model in PAPER_MODELS]
    jobs["paper_uncertainty"] = [{"task": task} for task in tasks]
    return {rule: rule_jobs for rule, rule_jobs in jobs.items() if rule_jobs}
