# Corpus: raw text -> partitions per source -> cleaned shards -> corpus-wide dedup and
# register balance -> final shards (one sentence per line, empty line between documents).

from krelectra.config_checks import combination_errors
from krelectra.corpus.contamination import evaluation_files

CONTAMINATION = f"{CORPUS}/contamination"
NEAR_DEDUP = config["corpus"]["near_dedup"]
# MinHash band hashes per shard, only when near-duplicates are removed.
CLEAN_BANDS = {"bands": f"{CORPUS}/cleaned/{{shard}}.bands.u64"} if NEAR_DEDUP["enabled"] else {}

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


rule corpus_contamination_index:
    """Index the character n-grams of the evaluated splits (dev, test) of the configured tasks."""
    input:
        # relative to the working directory (as data_dir below): Snakemake reruns a job whose
        # set of input paths changed, and here that is the whole corpus stage
        lambda w: [
            os.path.relpath(f"{FINETUNE_DATA}/{task}/{file}")
            for task, files in evaluation_files(config["finetune"]["tasks"]).items()
            for file in files
        ],
    output:
        index=f"{CONTAMINATION}/index.npz",
        examples=f"{CONTAMINATION}/examples.json",
    log:
        f"{LOGS}/corpus/contamination_index.log",
    benchmark:
        f"{BENCHMARKS}/corpus/contamination_index.tsv"
    conda:
        "../../envs/corpus.yaml"
    params:
        data_dir=lambda w: os.path.relpath(FINETUNE_DATA),
        tasks=config["finetune"]["tasks"],
        ngram=config["corpus"]["contamination"]["ngram"],
    shell:
        "krelectra corpus contamination-index --data-dir {params.data_dir:q} --tasks {params.tasks}"
        " --ngram {params.ngram} --index {output.index} --examples {output.examples} 2> {log}"


rule corpus_clean:
    """Clean the documents of one shard into sentences and hash every sentence; find the
    evaluation n-grams in each document and, for near-dedup, its MinHash band hashes."""
    input:
        partitions=expand(
            f"{CORPUS}/partitions/{{source}}/{{shard}}.jsonl", source=[s.name for s in SOURCES], allow_missing=True
        ),
        index=rules.corpus_contamination_index.output.index,
        examples=rules.corpus_contamination_index.output.examples,
    output:
        **CLEAN_BANDS,
        cleaned=f"{CORPUS}/cleaned/{{shard}}.jsonl",
        hashes=f"{CORPUS}/cleaned/{{shard}}.npz",
        stats=f"{CORPUS}/cleaned/{{shard}}.json",
        hits=f"{CORPUS}/cleaned/{{shard}}.hits.npz",
    log:
        f"{LOGS}/corpus/clean/{{shard}}.log",
    benchmark:
        f"{BENCHMARKS}/corpus/clean/{{shard}}.tsv"
    conda:
        "../../envs/corpus.yaml"
    params:
        options=as_json(config["corpus"]["cleaning"]),
        near_dup=lambda w, output: f"--near-dup {as_json(NEAR_DEDUP)} --bands {output.bands}" if CLEAN_BANDS else "",
    shell:
        "krelectra corpus clean --options {params.options} --output {output.cleaned}"
        " --hashes {output.hashes} --stats {output.stats} --index {input.index} --examples {input.examples}"
        " --hits {output.hits} {params.near_dup} {input.partitions} 2> {log}"


rule corpus_dedup:
    """Corpus-wide exact sentence deduplication, documents dropped for evaluation text
    (corpus.decontaminate) and as near-duplicates (corpus.near_dedup), and the
    down-sampling that balances registers."""
    input:
        hashes=expand(f"{CORPUS}/cleaned/{{shard}}.npz", shard=SHARDS),
        hits=expand(f"{CORPUS}/cleaned/{{shard}}.hits.npz", shard=SHARDS),
        index=rules.corpus_contamination_index.output.index,
        bands=expand(CLEAN_BANDS.get("bands", []), shard=SHARDS),
    output:
        keep=expand(f"{CORPUS}/dedup/{{shard}}.keep.npy", shard=SHARDS),
        codes=expand(f"{CORPUS}/dedup/{{shard}}.documents.npy", shard=SHARDS),
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
        decontaminate="--decontaminate" if config["corpus"]["decontaminate"] else "",
        bands=lambda w, input: f"--bands {input.bands}" if input.bands else "",
    shell:
        "krelectra corpus dedup --hashes {input.hashes} --keep {output.keep} --plan {output.plan}"
        " --buckets {params.buckets} --spoken-ratio {params.ratio} {params.no_dedup}"
        " --codes {output.codes} --hits {input.hits} --index {input.index} {params.decontaminate}"
        " {params.bands} 2> {log}"


rule corpus_finalize:
    """Write one final shard: one sentence per line, an empty line between documents."""
    input:
        cleaned=f"{CORPUS}/cleaned/{{shard}}.jsonl",
        clean_stats=f"{CORPUS}/cleaned/{{shard}}.json",
        keep=f"{CORPUS}/dedup/{{shard}}.keep.npy",
        codes=f"{CORPUS}/dedup/{{shard}}.documents.npy",
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
        " --clean-stats {input.clean_stats} --codes {input.codes} --output {output.shard} --stats {output.stats}"
        " 2> {log}"


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


rule corpus_contamination:
    """The audit: per task and evaluated split, the examples whose character n-grams are in
    the cleaned corpus (before dedup, balance and decontamination), with Llama 2's buckets."""
    input:
        index=rules.corpus_contamination_index.output.index,
        examples=rules.corpus_contamination_index.output.examples,
        hits=expand(f"{CORPUS}/cleaned/{{shard}}.hits.npz", shard=SHARDS),
    output:
        f"{CORPUS}/contamination.json",
    log:
        f"{LOGS}/corpus/contamination.log",
    benchmark:
        f"{BENCHMARKS}/corpus/contamination.tsv"
    conda:
        "../../envs/corpus.yaml"
    shell:
        "krelectra corpus contamination-audit --index {input.index} --examples {input.examples}"
        " --hits {input.hits} --output {output} 2> {log}"
