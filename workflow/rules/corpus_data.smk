# Public corpus data (config corpus.sources[].public, krelectra/corpus/public.py): every
# file downloaded by its own job and verified before anything reads it, then turned into
# plain text where it is not (Wikimedia dumps: articles; reviews: the text field).
# `snakemake corpus_data` only downloads: run it where there is network, the rest offline.

from krelectra.corpus.public import MEDIAWIKI, TEXT_COLUMN, download_path

# Input functions and wildcard constraints of these rules: common.smk.
CORPUS_DOWNLOAD = config["corpus"]["download"]
# Every file to download: the data sets' files and the dumps' checksum lists.
PUBLIC_FILES = [
    download_path(CORPUS, dataset, name)
    for dataset in PUBLIC_DATASETS.values()
    for name in [file.name for file in dataset.files] + ([dataset.checksums[0]] if dataset.checksums else [])
]


rule corpus_download:
    """Fetch one file of a public data set; keep it only if its pinned git blob SHA-1, or
    the SHA-1 in its dump's checksum list, matches, and record where it came from."""
    input:
        manifest=CORPUS_MANIFEST,
        checksums=public_checksums,
    output:
        file=f"{CORPUS}/download/{{dataset}}/{{file}}",
        record=f"{CORPUS}/download/{{dataset}}/{{file}}.json",
    log:
        f"{LOGS}/corpus/download/{{dataset}}/{{file}}.log",
    benchmark:
        f"{BENCHMARKS}/corpus/download/{{dataset}}/{{file}}.tsv"
    wildcard_constraints:
        dataset=alternatives(PUBLIC_DATASETS),
        file=alternatives({f.name for d in PUBLIC_DATASETS.values() for f in d.files}),
    conda:
        "../../envs/corpus.yaml"
    resources:
        network=1,
    params:
        options=public_download_options,
        timeout=CORPUS_DOWNLOAD["timeout"],
    shell:
        "krelectra corpus download --dataset {wildcards.dataset} --file {wildcards.file} {params.options}"
        " --manifest {input.manifest} --timeout {params.timeout} --output {output.file} --record {output.record} 2> {log}"


rule corpus_download_checksums:
    """Fetch the checksum list of a Wikimedia dump (the SHA-1 of each of its files)."""
    output:
        file=f"{CORPUS}/download/{{dataset}}/{{checksums}}",
        record=f"{CORPUS}/download/{{dataset}}/{{checksums}}.json",
    log:
        f"{LOGS}/corpus/download/{{dataset}}/{{checksums}}.log",
    benchmark:
        f"{BENCHMARKS}/corpus/download/{{dataset}}/{{checksums}}.tsv"
    wildcard_constraints:
        dataset=alternatives(public_datasets_of("wikimedia")),
        checksums=alternatives({d.checksums[0] for d in PUBLIC_DATASETS.values() if d.checksums}),
    conda:
        "../../envs/corpus.yaml"
    resources:
        network=1,
    params:
        options=public_download_options,
        timeout=CORPUS_DOWNLOAD["timeout"],
    shell:
        "krelectra corpus download --dataset {wildcards.dataset} --file {wildcards.checksums} {params.options}"
        " --timeout {params.timeout} --output {output.file} --record {output.record} 2> {log}"


rule corpus_extract_wiki:
    """The articles of a Wikimedia pages-articles dump as plain text, one paragraph per line."""
    input:
        f"{CORPUS}/download/{{dataset}}/{{stem}}.xml.bz2",
    output:
        text=f"{CORPUS}/extracted/{{dataset}}/{{stem}}.txt",
        stats=f"{CORPUS}/extracted/{{dataset}}/{{stem}}.json",
    log:
        f"{LOGS}/corpus/extract/{{dataset}}/{{stem}}.log",
    benchmark:
        f"{BENCHMARKS}/corpus/extract/{{dataset}}/{{stem}}.tsv"
    wildcard_constraints:
        dataset=alternatives(public_datasets_of(extraction=MEDIAWIKI)),
    conda:
        "../../envs/corpus.yaml"
    shell:
        "krelectra corpus extract-wiki --output {output.text} --stats {output.stats} {input} 2> {log}"


rule corpus_extract_column:
    """The text field of a tab-separated file (a review's rating or label is not text)."""
    input:
        f"{CORPUS}/download/{{dataset}}/{{file}}",
    output:
        text=f"{CORPUS}/extracted/{{dataset}}/{{file}}",
        stats=f"{CORPUS}/extracted/{{dataset}}/{{file}}.json",
    log:
        f"{LOGS}/corpus/extract/{{dataset}}/{{file}}.log",
    benchmark:
        f"{BENCHMARKS}/corpus/extract/{{dataset}}/{{file}}.tsv"
    wildcard_constraints:
        dataset=alternatives(public_datasets_of(extraction=TEXT_COLUMN)),
        file=alternatives({f.name for d in PUBLIC_DATASETS.values() for f in d.files if f.extraction == TEXT_COLUMN}),
    conda:
        "../../envs/corpus.yaml"
    params:
        column=public_text_column,
    shell:
        "krelectra corpus extract-column --column {params.column} --output {output.text}"
        " --stats {output.stats} {input} 2> {log}"


rule corpus_data:
    """Target: every file of the public data sets, downloaded and verified (nothing else
    runs; run it where there is network)."""
    input:
        PUBLIC_FILES,
