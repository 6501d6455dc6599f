# Corpus: raw text -> partitions per source -> cleaned shards -> corpus-wide dedup and
# register balance -> final shards (one sentence per line, empty line between documents).

from krelectra.config_checks import combination_errors

# Values that pass the schema but cannot work together stop the run before any job starts.
if _errors := combination_errors(config):
    raise WorkflowError("config: " + "; ".join(_errors))


rule corpus_partition:
    """Cut one source into documents and send each document to a shard by a stable hash."""
    input:
        files=corpus_source_files,
        provenance=corpus_source_provenance,
    output:
        partitions=expand(f"{CORPUS}/partitions/{{source}}/{{shard}}.jsonl", shard=SHARDS, allow_missing=True),
        stats=f"{CORPUS}/partitions/{{source}}.json",
    log:
        f"{LOGS}/corpus/partition/{{source}}.log",
    benchmark:
        f"{BENCHMARKS}/corpus/partition/{{source}}.tsv"
    conda:
        "../../envs/corpus.yaml"
    params:
        register=corpus_source_register,
        documents=corpus_source_documents,
        shards=len(SHARDS),
        outdir=lambda w, output: os.path.dirname(output.partitions[0]),
    shell:
        "krelectra corpus partition --name {wildcards.source} --register {params.register}"
        " --documents {params.documents} --num-shards {params.shards} --output-dir {params.outdir}"
        " --stats {output.stats} --provenance {input.provenance:q} -- {input.files:q} 2> {log}"


rule corpus_clean:
    """Clean the documents of one shard into sentences and hash every sentence."""
    input:
        expand(f"{CORPUS}/partitions/{{source}}/{{shard}}.jsonl", source=[s.name for s in SOURCES], allow_missing=True),
    output:
        cleaned=f"{CORPUS}/cleaned/{{shard}}.jsonl",
        hashes=f"{CORPUS}/cleaned/{{shard}}.npz",
        stats=f"{CORPUS}/cleaned/{{shard}}.json",
    log:
        f"{LOGS}/corpus/clean/{{shard}}.log",
    benchmark:
        f"{BENCHMARKS}/corpus/clean/{{shard}}.tsv"
    conda:
        "../../envs/corpus.yaml"
    params:
        options=as_json(config["corpus"]["cleaning"]),
    shell:
        "krelectra corpus clean --options {params.options} --output {output.cleaned}"
        " --hashes {output.hashes} --stats {output.stats} {input} 2> {log}"


rule corpus_dedup:
    """Corpus-wide exact sentence deduplication, and the down-sampling that balances registers."""
    input:
        expand(f"{CORPUS}/cleaned/{{shard}}.npz", shard=SHARDS),
    output:
        keep=expand(f"{CORPUS}/dedup/{{shard}}.keep.npy", shard=SHARDS),
        plan=f"{CORPUS}/dedup/plan.json",
    log:
        f"{LOGS}/corpus/dedup.log",
    benchmark:
        f"{BENCHMARKS}/corpus/dedup.tsv"
    conda:
        "../../envs/corpus.yaml"
    resources:
        mem_mb=4000,
    params:
        ratio=as_json(config["corpus"]["spoken_ratio"]),
        buckets=config["corpus"]["dedup_buckets"],
        no_dedup="" if config["corpus"]["deduplicate"] else "--no-dedup",
    shell:
        "krelectra corpus dedup --hashes {input} --keep {output.keep} --plan {output.plan}"
        " --buckets {params.buckets} --spoken-ratio {params.ratio} {params.no_dedup} 2> {log}"


rule corpus_finalize:
    """Write one final shard: one sentence per line, an empty line between documents."""
    input:
        cleaned=f"{CORPUS}/cleaned/{{shard}}.jsonl",
        clean_stats=f"{CORPUS}/cleaned/{{shard}}.json",
        keep=f"{CORPUS}/dedup/{{shard}}.keep.npy",
        plan=f"{CORPUS}/dedup/plan.json",
    output:
        shard=f"{CORPUS}/shards/{{shard}}.txt",
        stats=f"{CORPUS}/shards/{{shard}}.json",
    log:
        f"{LOGS}/corpus/finalize/{{shard}}.log",
    benchmark:
        f"{BENCHMARKS}/corpus/finalize/{{shard}}.tsv"
    conda:
        "../../envs/corpus.yaml"
    shell:
        "krelectra corpus finalize --cleaned {input.cleaned} --keep {input.keep} --plan {input.plan}"
        " --clean-stats {input.clean_stats} --output {output.shard} --stats {output.stats} 2> {log}"


rule corpus_stats:
    """Corpus totals: sizes per register, dropped sentences by reason, achieved spoken ratio."""
    input:
        shards=expand(f"{CORPUS}/shards/{{shard}}.json", shard=SHARDS),
        sources=expand(f"{CORPUS}/partitions/{{source}}.json", source=[s.name for s in SOURCES]),
        plan=f"{CORPUS}/dedup/plan.json",
    output:
        f"{CORPUS}/stats.json",
    log:
        f"{LOGS}/corpus/stats.log",
    benchmark:
        f"{BENCHMARKS}/corpus/stats.tsv"
    conda:
        "../../envs/corpus.yaml"
    shell:
        "krelectra corpus summarize --shard-stats {input.shards} --partition-stats {input.sources}"
        " --plan {input.plan} --output {output} 2> {log}"
