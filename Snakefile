# KR-ELECTRA reproduction: raw Korean text -> corpus shards -> vocabulary ->
# pretraining -> Hugging Face models -> finetuning -> paper tables.
# Run `snakemake --cores all paper/tables`; see README.md.

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


# The whole config is validated (types, documented keys, unknown keys rejected)
# before any job is planned; defaults come from the schema.
validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/corpus.smk"
include: "workflow/rules/vocab.smk"
include: "workflow/rules/pretrain.smk"
include: "workflow/rules/convert.smk"
include: "workflow/rules/finetune_data.smk"
include: "workflow/rules/finetune.smk"
include: "workflow/rules/paper.smk"


rule all:
    """Default target: the tables and figures of the paper (the main command is
    `snakemake --cores all paper/tables`; this also draws the figures)."""
    default_target: True
    input:
        rules.paper_tables.output,
        rules.paper_figures.output,


rule vocab:
    """Target: the corpus statistics, the WordPiece vocabulary and its report."""
    input:
        rules.corpus_stats.output,
        rules.vocab_report.output,
