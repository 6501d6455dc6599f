# Finetuning data: where the eight tasks' files come from (config `finetune.data`):
#   fixtures  - the small stand-in datasets shipped in resources/finetune (the default)
#   download  - the upstream files, fetched from their pinned address and verified
#   <folder>  - a folder laid out like upstream finetune/data/<task>/<file>
# Finetuning rules take their inputs from FINETUNE_DATA_FILES[task].

import re

from krelectra.finetune.tasks import TASKS, data_dir_for

FINETUNE_DATA = str(data_dir_for(config["finetune"]["data"], RESULTS, workflow.basedir))
FINETUNE_DOWNLOADS = f"{RESULTS}/finetune/data/download"
FINETUNE_MANIFEST = f"{workflow.basedir}/resources/finetune/manifest.tsv"


# {task: its files (train, then dev and test where it has them) under FINETUNE_DATA};
# with `download`, these are outputs of finetune_download.
FINETUNE_DATA_FILES = {
    name: [f"{FINETUNE_DATA}/{name}/{file}" for file in task.file_names] for name, task in TASKS.items()
}


rule finetune_download:
    """Fetch one upstream task file from its pinned address; keep it only if its git blob SHA-1 matches the manifest."""
    input:
        manifest=FINETUNE_MANIFEST,
    output:
        f"{FINETUNE_DOWNLOADS}/{{task}}/{{file}}",
    log:
        f"{LOGS}/finetune/download/{{task}}/{{file}}.log",
    benchmark:
        f"{BENCHMARKS}/finetune/download/{{task}}/{{file}}.tsv"
    wildcard_constraints:
        task="|".join(re.escape(name) for name in TASKS),
        file="|".join(sorted({re.escape(name) for task in TASKS.values() for name in task.file_names})),
    retries: 2
    conda:
        "../../envs/finetune.yaml"
    resources:
        network=1,
    shell:
        "krelectra finetune download --task {wildcards.task} --file {wildcards.file}"
        " --manifest {input.manifest} --output {output} 2> {log}"


rule finetune_data:
    """Target: the data files of all eight tasks for the configured `finetune.data`."""
    input:
        [path for files in FINETUNE_DATA_FILES.values() for path in files],
