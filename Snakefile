# KR-ELECTRA reproduction: raw Korean text -> corpus shards -> vocabulary ->
# pretraining -> Hugging Face models -> finetuning -> paper tables.
# Run `snakemake --cores all paper/tables`; see README.md.

from snakemake.utils import min_version, validate

from krelectra.config_errors import schema_error_line
from krelectra.snakemake_stop import forward_to_jobs as forward_stop_to_jobs

min_version("9.0")


# The config: a config file named on the command line (`--configfile my.yaml`) is the
# whole config; without one, the embedded default config/config.yaml is. Either way
# `--config KEY=VALUE` applies on top, and the schema fills in what the config leaves
# out. (A `configfile:` line alone would make Snakemake merge --configfile into it key
# by key, so the published recipe would inherit the default's overrides.)
if not workflow.config_settings.configfiles:

    configfile: "config/config.yaml"


# The whole config is validated (types, documented keys, unknown keys rejected) before
# any job is planned. Each stage section is then validated against its own schema file,
# which fills that section's defaults: inside a $ref to another file that declares its
# own $schema, jsonschema validates with the plain validator, which sets no defaults.
# `corpus` has no defaults: a config that evaluates released encoders only has none.
# A bad value stops the run with one line naming the key (not jsonschema's whole report):
# _where is the part being validated, its place in the config and its schema.
_where = ((), "workflow/schemas/config.schema.yaml")
try:
    validate(config, _where[1])
    for _section in ("corpus", "vocab", "pretrain", "convert", "finetune", "paper"):
        if _section in config:
            _where = ((_section,), f"workflow/schemas/{_section}.schema.yaml")
            validate(config[_section], _where[1])
except WorkflowError as _error:
    raise WorkflowError(schema_error_line(_error, *_where)) from None


include: "workflow/rules/common.smk"


# A stop request (Ctrl-C, kill -INT or kill -TERM on Snakemake) stops the running jobs
# within seconds, resumable, instead of waiting for them to end (krelectra.snakemake_stop).
onstart:
    forward_stop_to_jobs()


report: "workflow/report/workflow.rst"


# The pretraining side (corpus, vocabulary, pretraining, conversion) only for a config with
# a corpus (PRETRAINING_SIDE, common.smk): config/evaluate.yaml plans none of its jobs.
if PRETRAINING_SIDE:

    include: "workflow/rules/corpus_data.smk"
    include: "workflow/rules/corpus.smk"
    include: "workflow/rules/vocab.smk"
    include: "workflow/rules/pretrain.smk"
    include: "workflow/rules/convert.smk"


include: "workflow/rules/finetune_data.smk"
include: "workflow/rules/finetune.smk"
include: "workflow/rules/paper.smk"
include: "workflow/rules/manifest.smk"


rule all:
    """Default target: the tables and figures of the paper (the main command is
    `snakemake --cores all paper/tables`; this also draws the figures)."""
    default_target: True
    input:
        rules.paper_tables.output,
        rules.paper_figures.output,


if PRETRAINING_SIDE:

    rule vocab:
        """Target: the corpus statistics and contamination audit, the WordPiece vocabulary and its report."""
        input:
            rules.corpus_stats.output,
            rules.corpus_contamination.output,
            rules.vocab_report.output,
