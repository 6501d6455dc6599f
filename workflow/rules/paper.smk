# Paper: the tables, the figures and the manuscript, computed from the rule outputs of
# the other stages and the published numbers in paper/published.yaml; the bootstrap
# intervals and tests of the results table, one job per task.
#
#   snakemake --cores all paper_tables     the tables (LaTeX, Markdown, HTML) + provenance.tsv
#   snakemake --cores all paper_figures    the figures (PDF, PNG) + provenance.tsv
#   snakemake --cores all paper_pdf        the manuscript (needs latexmk, XeLaTeX, kotex)
#   snakemake --report report.html         figures and tables with their captions
#
# Each config's outputs have their own place, PAPER_OUTPUT (krelectra.paper.outputs):
# paper/ for the embedded default (`snakemake --cores all paper/tables`, paper/main.pdf),
# <results>/paper/ for any other results folder (config/paper.yaml: results-paper/paper/).
#
# A config that evaluates released encoders only (no converted model) gets the results and
# finetuning tables and the finetuning and comparison figures: the model, pretraining and
# corpus tables and the pretraining and vocabulary figures describe this workflow's own
# pretraining (inputs and options: common.smk).
#
# The tables folder is a directory() output: Snakemake accepts a directory as a target only
# when a rule declares that directory itself; a directory that merely holds the declared
# files of a rule is not a target (MissingRuleException, Snakemake 9).

import os
import re

from krelectra.paper.figures import FIGURES
from krelectra.paper.outputs import DEFAULT_RESULTS, paper_output_dir

PAPER = config["paper"]
PAPER_OUTPUT = paper_output_dir(RESULTS)
DEFAULT_PAPER_OUTPUT = paper_output_dir(DEFAULT_RESULTS)
PAPER_MODELS = PAPER["models"] or list(FINETUNE_CONFIG["models"])
# The pretraining and vocabulary figures describe this workflow's own pretraining.
PAPER_FIGURES = [f for f in FIGURES if EVALUATES_CONVERTED or f not in ("pretraining", "vocabulary")]
PAPER_UNCERTAINTY_CONFIG = PAPER["uncertainty"]
# The model every other shown model is tested against (the first shown by default).
PAPER_REFERENCE_MODEL = PAPER_UNCERTAINTY_CONFIG["reference_model"] or PAPER_MODELS[0]
PAPER_UNCERTAINTY = expand(f"{RESULTS}/paper/uncertainty/{{task}}.json", task=FINETUNE_CONFIG["tasks"])

_unknown = [m for m in PAPER_MODELS if m not in FINETUNE_CONFIG["models"]]
if _unknown:
    raise WorkflowError(
        f"config paper.models: {', '.join(_unknown)} not in finetune.models "
        f"({', '.join(FINETUNE_CONFIG['models'])})"
    )
_unknown = [p for p in PAPER["protocols"] if p not in FINETUNE_CONFIG["protocols"]]
if _unknown:
    raise WorkflowError(
        f"config paper.protocols: {', '.join(_unknown)} not in finetune.protocols "
        f"({', '.join(FINETUNE_CONFIG['protocols'])})"
    )

if PAPER_REFERENCE_MODEL not in PAPER_MODELS:
    raise WorkflowError(
        f"config paper.uncertainty.reference_model: {PAPER_REFERENCE_MODEL} is not a model shown "
        f"({', '.join(PAPER_MODELS)})"
    )

PAPER_SUMMARIES = expand(f"{FINETUNE}/{{model}}/summary.json", model=PAPER_MODELS)
PAPER_RUNS = [run for model in PAPER_MODELS for run in FINETUNE_RUNS[model]]


rule paper_uncertainty:
    """Bootstrap confidence intervals of one task's test scores (every shown model, pooled
    over seeds) and paired bootstrap tests against the reference model."""
    input:
        runs=paper_task_runs,
        predictions=paper_task_predictions,
    output:
        f"{RESULTS}/paper/uncertainty/{{task}}.json",
    log:
        f"{LOGS}/paper/uncertainty/{{task}}.log",
    benchmark:
        f"{BENCHMARKS}/paper/uncertainty/{{task}}.tsv"
    wildcard_constraints:
        task="|".join(re.escape(name) for name in FINETUNE_CONFIG["tasks"]),
    conda:
        "../../envs/paper.yaml"
    threads: PAPER_UNCERTAINTY_CONFIG["threads"]
    params:
        protocols=as_json(PAPER["protocols"]),
        reference=PAPER_REFERENCE_MODEL,
        resamples=PAPER_UNCERTAINTY_CONFIG["resamples"],
        level=PAPER_UNCERTAINTY_CONFIG["confidence_level"],
        seed=PAPER_UNCERTAINTY_CONFIG["seed"],
        cpu_kernels=config["cpu_kernels"],
    shell:
        "krelectra paper uncertainty --task {wildcards.task} --runs {input.runs} --protocols {params.protocols}"
        " --reference-model {params.reference:q} --resamples {params.resamples} --confidence-level {params.level}"
        " --seed {params.seed} --threads {threads} --cpu-kernels {params.cpu_kernels} --output {output} 2> {log}"


rule paper_tables:
    """Results (published rows and this run's, both protocols, bootstrap intervals and tests),
    model, pretraining, corpus and finetuning tables as LaTeX, Markdown and HTML, with the
    inputs' SHA-256 in provenance.tsv."""
    input:
        unpack(paper_tables_inputs),
    output:
        report(
            directory(f"{PAPER_OUTPUT}/tables"),
            patterns=["{table}.html"],
            caption="../report/tables.rst",
            category="Tables",
            labels={"table": "{table}"},
        ),
    log:
        f"{LOGS}/paper/tables.log",
    benchmark:
        f"{BENCHMARKS}/paper/tables.tsv"
    conda:
        "../../envs/paper.yaml"
    params:
        config=as_json(PAPER),
        pretraining=pretraining_options,
        contamination_models=contamination_models_option,
    shell:
        "krelectra paper tables --published {input.published} {params.pretraining} {params.contamination_models}"
        " --summaries {input.summaries} --runs {input.runs} --uncertainty {input.uncertainty}"
        " --manifest {input.manifest} --config {params.config} --output-dir {output} 2> {log}"


rule paper_figures:
    """Finetuning curves per task, scores against the published ones and, for the converted
    model, pretraining curves and vocabulary statistics, as PDF and PNG, with the inputs'
    SHA-256 in provenance.tsv."""
    input:
        unpack(paper_figures_inputs),
    output:
        pdf=expand(f"{PAPER_OUTPUT}/figures/{{figure}}.pdf", figure=PAPER_FIGURES),
        png=[
            report(f"{PAPER_OUTPUT}/figures/{figure}.png", caption=f"../report/{figure}.rst", category="Figures")
            for figure in PAPER_FIGURES
        ],
        provenance=f"{PAPER_OUTPUT}/figures/provenance.tsv",
    log:
        f"{LOGS}/paper/figures.log",
    benchmark:
        f"{BENCHMARKS}/paper/figures.tsv"
    conda:
        "../../envs/paper.yaml"
    params:
        config=as_json(PAPER),
        pretraining=pretraining_options,
        output_dir=lambda w, output: os.path.dirname(output.provenance),
    shell:
        "MPLBACKEND=Agg krelectra paper figures --published {input.published} {params.pretraining}"
        " --summaries {input.summaries} --runs {input.runs}"
        " --config {params.config} --output-dir {params.output_dir} 2> {log}"


# `paper/tables`, the README's main target, is the embedded default's folder. With another
# results folder no rule makes it, and Snakemake would only say MissingRuleException: this
# rule claims it instead and stops the plan with the target to use. (Snakemake parses the
# Snakefile before it knows the targets, so the message cannot come earlier.)
if PAPER_OUTPUT != DEFAULT_PAPER_OUTPUT:

    rule paper_tables_of_the_default:
        """Not a job: stops a request for the embedded default's paper/tables under another
        config with the name of this config's tables folder and target."""
        input:
            paper_tables_of_another_config,
        output:
            directory(f"{DEFAULT_PAPER_OUTPUT}/tables"),
        shell:
            "false"


rule paper_pdf:
    """Typeset paper/main.tex with this config's generated tables and figures, with latexmk and
    XeLaTeX + kotex. latexmk and TeX Live come from the system (Debian: latexmk texlive-xetex
    texlive-lang-korean)."""
    input:
        tex="paper/main.tex",
        tables=f"{PAPER_OUTPUT}/tables",
        figures=expand(f"{PAPER_OUTPUT}/figures/{{figure}}.pdf", figure=PAPER_FIGURES),
    output:
        f"{PAPER_OUTPUT}/main.pdf",
    log:
        f"{LOGS}/paper/pdf.log",
    benchmark:
        f"{BENCHMARKS}/paper/pdf.tsv"
    conda:
        "../../envs/paper.yaml"
    params:
        figures_dir=lambda w, input: os.path.dirname(input.figures[0]),
    shell:
        "krelectra paper pdf --tex {input.tex} --tables-dir {input.tables} --figures-dir {params.figures_dir}"
        " --output {output} 2> {log}"
