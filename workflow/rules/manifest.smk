# Manifest: the digests of every rule output the tables are computed from, written once
# the last of those jobs is done (krelectra.manifest): <results>/manifest.json. paper_tables
# lists it in provenance.tsv; `krelectra compare` lines up two runs' manifests.
#
#   snakemake --cores all manifest         the manifest of the run (what paper/tables needs)
#   krelectra compare results other/results
#   krelectra manifest show results          the manifest as Markdown (--files: per file)

import os
import shlex

from snakemake.io import apply_wildcards

from krelectra.manifest import MANIFEST_FILE

MANIFEST = f"{RESULTS}/{MANIFEST_FILE}"


# {rule: the output files of its jobs}, in the workflow's order.
MANIFEST_RULES = {
    name: [apply_wildcards(pattern, job) for job in jobs for pattern in getattr(rules, name).output]
    for name, jobs in manifest_jobs().items()
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
        results=lambda w, output: os.path.dirname(output[0]),
        rules=" ".join(
            f"--rule {name} " + " ".join(shlex.quote(path) for path in paths) for name, paths in MANIFEST_RULES.items()
        ),
        settings=as_json(
            {
                "cpu_kernels": config["cpu_kernels"],
                "finetune_threads": FINETUNE_CONFIG["threads"],
                **({"pretrain_threads": workflow.cores} if EVALUATES_CONVERTED else {}),
            }
        ),
    shell:
        "krelectra manifest write --results {params.results:q} --output {output}"
        " --settings {params.settings} {params.rules} 2> {log}"
