# Manifest: the digests of every rule output the tables are computed from, written once
# the last of those jobs is done (krelectra.manifest): <results>/manifest.json. paper_tables
# lists it in provenance.tsv; `krelectra compare` lines up two runs' manifests.
#
#   snakemake --cores all manifest         the manifest of the run (what paper/tables needs)
#   krelectra compare results other/results
#   krelectra manifest show results --markdown

import shlex

from snakemake.io import apply_wildcards

from krelectra.manifest import MANIFEST_FILE

MANIFEST = f"{RESULTS}/{MANIFEST_FILE}"


def _manifest_jobs():
    """Each rule's jobs (their wildcards), in the workflow's order: the pretraining side
    when the config has one, the downloads of `finetune.data: download`, then the
    finetuning and bootstrap jobs of the models the tables show."""
    jobs = {}
    if PRETRAINING_SIDE:
        shards = [{"shard": shard} for shard in SHARDS]
        jobs.update(
            corpus_partition=[{"source": source.name} for source in SOURCES],
            corpus_clean=shards,
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
    tasks = FINETUNE_CONFIG["tasks"]
    if FINETUNE_CONFIG["data"] == "download":
        jobs["finetune_download"] = [{"task": t, "file": f} for t in tasks for f in TASKS[t].file_names]
    jobs["finetune_train"] = [
        {"model": model, "task": task, "seed": str(seed)}
        for model in PAPER_MODELS
        for task in tasks
        for seed in FINETUNE_SEEDS[task]
    ]
    jobs["finetune_summary"] = [{"model": model} for model in PAPER_MODELS]
    jobs["paper_uncertainty"] = [{"task": task} for task in tasks]
    return jobs


# {rule: the output files of its jobs}, in the workflow's order.
MANIFEST_RULES = {
    name: [apply_wildcards(pattern, job) for job in jobs for pattern in getattr(rules, name).output]
    for name, jobs in _manifest_jobs().items()
}


rule manifest:
    """Path, bytes and SHA-256 of every output of MANIFEST_RULES (with the tensor values of
    checkpoints and safetensors and the test scores of finetuning runs), and the machine and
    packages they were computed with."""
    input:
        [path for paths in MANIFEST_RULES.values() for path in paths],
    output:
        MANIFEST,
    log:
        f"{LOGS}/manifest.log",
    benchmark:
        f"{BENCHMARKS}/manifest.tsv"
    conda:
        "../../envs/convert.yaml"
    params:
        results=RESULTS,
        rules=" ".join(
            f"--rule {name} " + " ".join(shlex.quote(path) for path in paths) for name, paths in MANIFEST_RULES.items()
        ),
        settings=as_json(
            {
                "cpu_kernels": config["cpu_kernels"],
                "finetune_threads": FINETUNE_CONFIG["threads"],
                **({"pretrain_threads": workflow.cores} if PRETRAINING_SIDE else {}),
            }
        ),
    shell:
        "krelectra manifest write --results {params.results:q} --output {output}"
        " --settings {params.settings} {params.rules} 2> {log}"
