# Vocabulary: shards -> Mecab-Ko morphemes (per shard) -> WordPiece vocabulary -> report.

from krelectra.vocab.tokenizer import TOKENIZER_FILES

VOCAB = f"{RESULTS}/vocab"


rule vocab_segment:
    """Split every word of one shard into Mecab-Ko morphemes; set aside held-out documents."""
    input:
        f"{CORPUS}/shards/{{shard}}.txt",
    output:
        morphemes=f"{VOCAB}/morphemes/{{shard}}.txt",
        heldout=f"{VOCAB}/heldout/{{shard}}.txt",
        stats=f"{VOCAB}/morphemes/{{shard}}.json",
    log:
        f"{LOGS}/vocab/segment/{{shard}}.log",
    benchmark:
        f"{BENCHMARKS}/vocab/segment/{{shard}}.tsv"
    conda:
        "../../envs/vocab.yaml"
    params:
        fraction=config["vocab"]["heldout_fraction"],
    shell:
        "krelectra vocab segment --shard {input} --morphemes {output.morphemes}"
        " --heldout {output.heldout} --stats {output.stats} --heldout-fraction {params.fraction} 2> {log}"


rule vocab_train:
    """Train the WordPiece vocabulary (no lower-casing, no accent stripping) on the morphemes."""
    input:
        expand(f"{VOCAB}/morphemes/{{shard}}.txt", shard=SHARDS),
    output:
        expand(f"{VOCAB}/tokenizer/{{file}}", file=TOKENIZER_FILES),
        summary=f"{VOCAB}/train.json",
    log:
        f"{LOGS}/vocab/train.log",
    benchmark:
        f"{BENCHMARKS}/vocab/train.tsv"
    conda:
        "../../envs/vocab.yaml"
    threads: workflow.cores
    params:
        size=config["vocab"]["size"],
        min_frequency=config["vocab"]["min_frequency"],
        alphabet=" ".join(config["vocab"]["alphabet"]),
        outdir=lambda w, output: os.path.dirname(output[0]),
    shell:
        "RAYON_NUM_THREADS={threads} krelectra vocab train --size {params.size}"
        " --min-frequency {params.min_frequency} --alphabet {params.alphabet}"
        " --output-dir {params.outdir} {input} 2> {log}"


rule vocab_report:
    """[UNK] rate, tokens per eojeol and morpheme-boundary agreement on held-out documents;
    beside it the distributions the paper's vocabulary figure draws."""
    input:
        tokenizer=expand(f"{VOCAB}/tokenizer/{{file}}", file=TOKENIZER_FILES),
        heldout=expand(f"{VOCAB}/heldout/{{shard}}.txt", shard=SHARDS),
    output:
        report=f"{VOCAB}/report.json",
        distributions=f"{VOCAB}/distributions.json",
    log:
        f"{LOGS}/vocab/report.log",
    benchmark:
        f"{BENCHMARKS}/vocab/report.tsv"
    conda:
        "../../envs/vocab.yaml"
    params:
        vocab_dir=lambda w, input: os.path.dirname(input.tokenizer[0]),
    shell:
        "krelectra vocab report --vocab-dir {params.vocab_dir} --output {output.report}"
        " --distributions {output.distributions} {input.heldout} 2> {log}"
