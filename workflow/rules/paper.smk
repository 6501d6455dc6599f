# Paper: the tables, the figures and the manuscript, computed from the rule outputs of
# the other stages and the published numbers in paper/published.yaml.
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
# The tables folder is a directory() output: Snakemake accepts a directory as a target only
# when a rule declares that directory itself; a directory that merely holds the declared
# files of a rule is not a target (MissingRuleException, Snakemake 9).

from krelectra.paper.figures import FIGURES as PAPER_FIGURES
from krelectra.paper.outputs import paper_output_dir

PAPER = config["paper"]
PAPER_OUTPUT = paper_output_dir(RESULTS)
PAPER_MODELS = PAPER["models"] or list(FINETUNE_CONFIG["models"])

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

PAPER_SUMMARIES = expand(f"{FINETUNE}/{{model}}/summary.json", model=PAPER_MODELS)
PAPER_RUNS = [run for model in PAPER_MODELS for run in FINETUNE_RUNS[model]]


report: "../report/workflow.rst"


rule paper_tables:
    """Results (published rows and this run's, both protocols), model, pretraining, corpus and
    finetuning tables as LaTeX, Markdown and HTML, with the inputs' SHA-256 in provenance.tsv."""
    input:
        published="paper/published.yaml",
        corpus_stats=f"{CORPUS}/stats.json",
        vocab_train=f"{VOCAB}/train.json",
        vocab_report=f"{VOCAB}/report.json",
        model_config=f"{PRETRAIN_FINAL}/model_config.json",
        pretrain_config=f"{PRETRAIN_FINAL}/pretrain_config.json",
        verification=f"{MODELS}/{VERIFICATION}",
        summaries=PAPER_SUMMARIES,
        runs=PAPER_RUNS,
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
    shell:
        "krelectra paper tables --published {input.published} --corpus-stats {input.corpus_stats}"
        " --vocab-train {input.vocab_train} --vocab-report {input.vocab_report}"
        " --model-config {input.model_config} --pretrain-config {input.pretrain_config}"
        " --verification {input.verification} --summaries {input.summaries} --runs {input.runs}"
        " --config {params.config} --output-dir {output} 2> {log}"


rule paper_figures:
    """Pretraining curves, finetuning curves per task, scores against the published ones and
    vocabulary statistics, as PDF and PNG, with the inputs' SHA-256 in provenance.tsv."""
    input:
        published="paper/published.yaml",
        metrics=f"{PRETRAIN}/metrics.jsonl",
        summaries=PAPER_SUMMARIES,
        runs=PAPER_RUNS,
        vocab_distributions=rules.vocab_report.output.distributions,
    output:
        pdf=expand(f"{PAPER_OUTPUT}/figures/{{figure}}.pdf", figure=PAPER_FIGURES),
        pretraining=report(
            f"{PAPER_OUTPUT}/figures/pretraining.png", caption="../report/pretraining.rst", category="Figures"
        ),
        finetuning=report(
            f"{PAPER_OUTPUT}/figures/finetuning.png", caption="../report/finetuning.rst", category="Figures"
        ),
        comparison=report(
            f"{PAPER_OUTPUT}/figures/comparison.png", caption="../report/comparison.rst", category="Figures"
        ),
        vocabulary=report(
            f"{PAPER_OUTPUT}/figures/vocabulary.png", caption="../report/vocabulary.rst", category="Figures"
        ),
        provenance=f"{PAPER_OUTPUT}/figures/provenance.tsv",
    log:
        f"{LOGS}/paper/figures.log",
    benchmark:
        f"{BENCHMARKS}/paper/figures.tsv"
    conda:
        "../../envs/paper.yaml"
    params:
        config=as_json(PAPER),
        output_dir=lambda w, output: os.path.dirname(output.provenance),
    shell:
        "MPLBACKEND=Agg krelectra paper figures --published {input.published} --metrics {input.metrics}"
        " --summaries {input.summaries} --runs {input.runs} --vocab-distributions {input.vocab_distributions}"
        " --config {params.config} --output-dir {params.output_dir} 2> {log}"


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
