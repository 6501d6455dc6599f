# Public corpus data (config corpus.sources[].public, krelectra/corpus/public.py): every
# file downloaded by its own job and verified before anything reads it, then turned into
# plain text where it is not (Wikimedia dumps: articles; reviews: the text field).
# `snakemake corpus_data` only downloads: run it where there is network, the rest offline.

import re

from krelectra.corpus.public import MEDIAWIKI, TEXT_COLUMN, download_path

CORPUS_DOWNLOAD = config["corpus"]["download"]
# Every file to download: the data sets' files and the dumps' checksum lists.
PUBLIC_FILES = [
    download_path(CORPUS, dataset, name)
    for dataset in PUBLIC_DATASETS.values()
    for name in [file.name for file in dataset.files] + ([dataset.checksums[0]] if dataset.checksums else [])
]


def _alternatives(names):
    """A wildcard constraint matching exactly `names` (none: nothing)."""
    return "|".join(re.escape(name) for name in sorted(names)) or "(?!)"


def _datasets(kind=None, extraction=None):
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
    if input.get("checksums"):
        options += ["--checksums", input.checksums]
    if dataset.kind == "wikimedia":
        options += ["--wikimedia-dump", CORPUS_DOWNLOAD["wikimedia_dump"]]
    return " ".join(shlex.quote(str(option)) for option in options)


def public_text_column(wildcards):
    dataset = PUBLIC_DATASETS[wildcards.dataset]
    return next(f.text_column for f in dataset.files if f.name == wildcards.file)


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
        dataset=_alternatives(PUBLIC_DATASETS),
        file=_alternatives({f.name for d in PUBLIC_DATASETS.values() for f in d.files}),
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
        dataset=_alternatives(_datasets("wikimedia")),
        checksums=_alternatives({d.checksums[0] for d in PUBLIC_DATASETS.values() if d.checksums}),
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
        dataset=_alternatives(_datasets(extraction=MEDIAWIKI)),
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
        dataset=_alternatives(_datasets(extraction=TEXT_COLUMN)),
        file=_alternatives({f.name for d in PUBLIC_DATASETS.values() for f in d.files if f.extraction == TEXT_COLUMN}),
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
