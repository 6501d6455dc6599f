# Pretraining: corpus shards -> TFRecord examples (per shard) -> ELECTRA pretraining in
# TensorFlow -> a TF1-format checkpoint in {RESULTS}/pretrain/final.
#
# Working checkpoints live in {RESULTS}/pretrain/checkpoints, which no rule declares:
# Snakemake never deletes them, so rerunning pretrain_model after a crash or a kill
# resumes from the newest one instead of step 0.

PRETRAIN = f"{RESULTS}/pretrain"
PRETRAIN_CKPT_FILES = ["model.ckpt.index", "model.ckpt.data-00000-of-00001", "checkpoint"]


rule pretrain_examples:
    """Tokenise one corpus shard and pack it into [CLS] A [SEP] B [SEP] examples; hold some out."""
    input:
        shard=f"{CORPUS}/shards/{{shard}}.txt",
        tokenizer=expand(f"{VOCAB}/tokenizer/{{file}}", file=TOKENIZER_FILES),
    output:
        train=f"{PRETRAIN}/examples/{{shard}}.tfrecord",
        eval=f"{PRETRAIN}/examples/{{shard}}.eval.tfrecord",
        stats=f"{PRETRAIN}/examples/{{shard}}.json",
    log:
        f"{LOGS}/pretrain/examples/{{shard}}.log",
    benchmark:
        f"{BENCHMARKS}/pretrain/examples/{{shard}}.tsv"
    conda:
        "../../envs/pretrain.yaml"
    threads: 1
    params:
        vocab_dir=lambda w, input: os.path.dirname(input.tokenizer[0]),
        # Only what shapes the examples: changing the training setup keeps them.
        config=as_json({"seed": config["pretrain"]["seed"], "examples": config["pretrain"]["examples"]}),
    shell:
        "RAYON_NUM_THREADS={threads} krelectra pretrain examples --shard {input.shard} --vocab-dir {params.vocab_dir}"
        " --train-out {output.train} --eval-out {output.eval} --stats {output.stats}"
        " --config {params.config} 2> {log}"


rule pretrain_model:
    """Pretrain the generator and discriminator (resuming from the newest working checkpoint)."""
    input:
        train=expand(f"{PRETRAIN}/examples/{{shard}}.tfrecord", shard=SHARDS),
        eval=expand(f"{PRETRAIN}/examples/{{shard}}.eval.tfrecord", shard=SHARDS),
        stats=expand(f"{PRETRAIN}/examples/{{shard}}.json", shard=SHARDS),
        tokenizer=expand(f"{VOCAB}/tokenizer/{{file}}", file=TOKENIZER_FILES),
    output:
        checkpoint=expand(f"{PRETRAIN}/final/{{file}}", file=PRETRAIN_CKPT_FILES),
        model_config=f"{PRETRAIN}/final/model_config.json",
        pretrain_config=f"{PRETRAIN}/final/pretrain_config.json",
        metrics=f"{PRETRAIN}/metrics.jsonl",
    log:
        f"{LOGS}/pretrain/model.log",
    benchmark:
        f"{BENCHMARKS}/pretrain/model.tsv"
    conda:
        "../../envs/pretrain.yaml"
    threads: workflow.cores
    params:
        vocab_dir=lambda w, input: os.path.dirname(input.tokenizer[0]),
        work_dir=lambda w, output: os.path.dirname(output.metrics),
        config=as_json(config["pretrain"]),
        # `srun` when a SLURM profile gives the job an `mpi: srun` resource (one task per
        # worker of pretrain.strategy multiworker, docs/slurm.md); empty otherwise.
        launcher=lambda w, resources: resources.get("mpi", ""),
    shell:
        "{params.launcher} krelectra pretrain train --vocab-dir {params.vocab_dir} --work-dir {params.work_dir}"
        " --train {input.train} --eval {input.eval} --config {params.config}"
        " --threads {threads} 2> {log}"


rule pretrain:
    """Target: the pretrained TF1 checkpoint, its configs and metrics."""
    input:
        rules.pretrain_model.output,
