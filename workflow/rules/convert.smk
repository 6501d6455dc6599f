# Conversion: the final TF1 pretraining checkpoint -> Hugging Face discriminator and
# generator folders, loaded back and proven to compute the TF model's logits.

from krelectra.convert.layout import MODEL_FILES, VERIFICATION
from krelectra.convert.mapping import DISCRIMINATOR, GENERATOR


rule convert_checkpoint:
    """Write the discriminator and generator as Hugging Face models with model cards; fail
    unless every checkpoint variable is placed and both models' logits equal the TF model's."""
    input:
        index=f"{PRETRAIN_FINAL}/model.ckpt.index",
        data=f"{PRETRAIN_FINAL}/model.ckpt.data-00000-of-00001",
        model_config=f"{PRETRAIN_FINAL}/model_config.json",
        pretrain_config=f"{PRETRAIN_FINAL}/pretrain_config.json",
        metrics=f"{PRETRAIN}/metrics.jsonl",
        corpus_stats=f"{CORPUS}/stats.json",
        tokenizer=expand(f"{VOCAB}/tokenizer/{{file}}", file=TOKENIZER_FILES),
    output:
        discriminator=expand(f"{MODELS}/{DISCRIMINATOR}/{{file}}", file=MODEL_FILES),
        generator=expand(f"{MODELS}/{GENERATOR}/{{file}}", file=MODEL_FILES),
        verification=f"{MODELS}/{VERIFICATION}",
    log:
        f"{LOGS}/convert/checkpoint.log",
    benchmark:
        f"{BENCHMARKS}/convert/checkpoint.tsv"
    conda:
        "../../envs/convert.yaml"
    threads: config["convert"]["threads"]
    resources:
        mem_mb=config["convert"]["mem_mb"],
    params:
        checkpoint=lambda w, input: input.index.removesuffix(".index"),
        vocab_dir=lambda w, input: os.path.dirname(input.tokenizer[0]),
        output_dir=lambda w, output: os.path.dirname(output.verification),
        model_name=config["convert"]["model_name"],
        tolerance=config["convert"]["tolerance"],
        batch_size=config["convert"]["batch_size"],
        seq_length=config["convert"]["seq_length"],
        seed=config["convert"]["seed"],
        cpu_kernels=config["cpu_kernels"],
    shell:
        "krelectra convert --checkpoint {params.checkpoint} --model-config {input.model_config}"
        " --vocab-dir {params.vocab_dir} --output-dir {params.output_dir}"
        " --pretrain-config {input.pretrain_config} --metrics {input.metrics}"
        " --corpus-stats {input.corpus_stats} --model-name {params.model_name:q}"
        " --tolerance {params.tolerance} --batch-size {params.batch_size}"
        " --seq-length {params.seq_length} --seed {params.seed} --threads {threads}"
        " --cpu-kernels {params.cpu_kernels} 2> {log}"
