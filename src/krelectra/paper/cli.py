"""`krelectra paper ...`: tables, figures and the manuscript PDF from rule outputs."""

from __future__ import annotations

import argparse
from pathlib import Path

from krelectra import kernels
from krelectra.cli import json_argument
from krelectra.paper.outputs import DEFAULT_RESULTS, paper_output_dir

TABLES_DIR = Path(paper_output_dir(DEFAULT_RESULTS)) / "tables"
FIGURES_DIR = Path(paper_output_dir(DEFAULT_RESULTS)) / "figures"


_config = json_argument(dict)  # the paper: config section
_list = json_argument(list)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _level(text: str) -> float:
    value = float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a level between 0 and 1, got {text}")
    return value


def _tables(args) -> None:
    from krelectra.paper.config import PaperConfig
    from krelectra.paper.tables import TableInputs, write_tables

    inputs = TableInputs(
        published=args.published,
        summaries=args.summaries,
        runs=args.runs,
        corpus_stats=args.corpus_stats,
        vocab_train=args.vocab_train,
        vocab_report=args.vocab_report,
        model_config=args.model_config,
        pretrain_config=args.pretrain_config,
        verification=args.verification,
        uncertainty=args.uncertainty,
        contamination=args.contamination,
        contamination_models=args.contamination_models,
        manifest=args.manifest,
    )
    write_tables(inputs, PaperConfig.from_dict(args.config), args.output_dir)


def _figures(args) -> None:
    from krelectra.paper.config import PaperConfig
    from krelectra.paper.figures import write_figures

    write_figures(
        args.published,
        args.metrics,
        args.runs,
        args.summaries,
        args.vocab_distributions,
        PaperConfig.from_dict(args.config),
        args.output_dir,
    )


def _uncertainty(args) -> None:
    kernels.use(args.cpu_kernels)  # before numpy is imported
    from krelectra.paper.uncertainty import write_task_uncertainty

    write_task_uncertainty(
        args.task,
        args.runs,
        args.output,
        args.protocols,
        args.reference_model,
        args.resamples,
        args.confidence_level,
        args.seed,
        args.threads,
    )


def _pdf(args) -> None:
    from krelectra.paper.manuscript import build_pdf

    build_pdf(args.tex, args.output, args.tables_dir, args.figures_dir, engine=args.engine)


def _show(args) -> None:
    from krelectra.errors import KrelectraError
    from krelectra.paper.tables import TABLES

    tables_dir = args.tables_dir or Path(paper_output_dir(args.results)) / "tables"
    # Default: every table the run made (a run of released encoders has no pretraining tables).
    names = args.tables or [name for name in TABLES if (tables_dir / f"{name}.md").is_file()] or list(TABLES)
    for i, name in enumerate(names):
        path = tables_dir / f"{name}.md"
        if not path.is_file():
            raise KrelectraError(f"{path}: no such table (build it with `snakemake --cores all paper_tables`)")
        print(("\n" if i else "") + path.read_text(encoding="utf-8"), end="")


def register(stages) -> None:
    parser = stages.add_parser("paper", help="tables, figures and the manuscript from the rule outputs")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser(
        "tables",
        help="results, model, pretraining, corpus and finetuning tables (LaTeX, Markdown, HTML) and provenance.tsv; "
        "without the pretraining outputs only results and finetuning",
    )
    p.add_argument("--published", type=Path, required=True, help="paper/published.yaml")
    # The pretraining side's outputs: all six for the model, pretraining and corpus tables,
    # or none (a run that evaluates released encoders only).
    p.add_argument("--corpus-stats", type=Path, help="{RESULTS}/corpus/stats.json")
    p.add_argument("--vocab-train", type=Path, help="{RESULTS}/vocab/train.json")
    p.add_argument("--vocab-report", type=Path, help="{RESULTS}/vocab/report.json")
    p.add_argument("--model-config", type=Path, help="{RESULTS}/pretrain/final/model_config.json")
    p.add_argument("--pretrain-config", type=Path, help="{RESULTS}/pretrain/final/pretrain_config.json")
    p.add_argument("--verification", type=Path, help="{RESULTS}/models/verification.json")
    p.add_argument("--summaries", type=Path, nargs="+", required=True, help="{RESULTS}/finetune/{model}/summary.json")
    p.add_argument(
        "--runs", type=Path, nargs="+", required=True, help="{RESULTS}/finetune/{model}/{task}/seed{seed}/metrics.json"
    )
    p.add_argument(
        "--uncertainty",
        type=Path,
        nargs="*",
        default=[],
        help="{RESULTS}/paper/uncertainty/{task}.json (bootstrap intervals and tests; default: none)",
    )
    p.add_argument("--contamination", type=Path, help="{RESULTS}/corpus/contamination.json (the contamination table)")
    p.add_argument(
        "--contamination-models",
        nargs="*",
        default=[],
        help="models pretrained on the audited corpus: their clean-subset scores (default: none)",
    )
    p.add_argument(
        "--manifest", type=Path, help="{RESULTS}/manifest.json, listed in provenance.tsv (krelectra.manifest)"
    )
    p.add_argument("--config", type=_config, default={}, help="the paper: config section as JSON")
    p.add_argument(
        "--output-dir", type=Path, default=TABLES_DIR, help=f"the tables folder to write (default: {TABLES_DIR})"
    )
    p.set_defaults(func=_tables)

    p = commands.add_parser("figures", help="pretraining, finetuning, comparison and vocabulary figures (PDF, PNG)")
    p.add_argument("--published", type=Path, required=True, help="paper/published.yaml")
    # The pretraining side's outputs (metrics, vocabulary): for the pretraining and vocabulary
    # figures; without them (a run of released encoders) only finetuning and comparison.
    p.add_argument("--metrics", type=Path, help="{RESULTS}/pretrain/metrics.jsonl")
    p.add_argument("--summaries", type=Path, nargs="+", required=True, help="{RESULTS}/finetune/{model}/summary.json")
    p.add_argument(
        "--runs", type=Path, nargs="+", required=True, help="{RESULTS}/finetune/{model}/{task}/seed{seed}/metrics.json"
    )
    p.add_argument("--vocab-distributions", type=Path, help="{RESULTS}/vocab/distributions.json (vocab report)")
    p.add_argument("--config", type=_config, default={}, help="the paper: config section as JSON")
    p.add_argument(
        "--output-dir", type=Path, default=FIGURES_DIR, help=f"the figures folder to write (default: {FIGURES_DIR})"
    )
    p.set_defaults(func=_figures)

    p = commands.add_parser(
        "uncertainty",
        help="bootstrap confidence intervals of one task's test scores and paired tests against a reference model",
    )
    p.add_argument("--task", required=True, help="nsmc, naver-ner, paws, kornli, korsts, question-pair, korquad, ...")
    p.add_argument(
        "--runs",
        type=Path,
        nargs="+",
        required=True,
        help="{RESULTS}/finetune/{model}/{task}/seed{seed}/metrics.json (predictions.jsonl beside each)",
    )
    p.add_argument("--protocols", type=_list, default=["paper", "clean"], help='JSON list, default ["paper", "clean"]')
    p.add_argument("--reference-model", default=None, help="model the others are tested against (default: none)")
    p.add_argument("--resamples", type=_positive, default=1000, help="bootstrap resamples (default 1000)")
    p.add_argument("--confidence-level", type=_level, default=0.95, help="interval level (default 0.95)")
    p.add_argument("--seed", type=int, default=0, help="seed of the resampling (default 0)")
    p.add_argument("--threads", type=_positive, default=1, help="processes scoring the resamples (default 1)")
    p.add_argument(
        "--cpu-kernels",
        choices=kernels.CHOICES,
        default=kernels.NATIVE,
        help="portable: numpy's AVX2 BLAS kernels on every x86-64 CPU (krelectra.kernels); native (default)",
    )
    p.add_argument("--output", type=Path, required=True, help="{RESULTS}/paper/uncertainty/{task}.json")
    p.set_defaults(func=_uncertainty)

    p = commands.add_parser("pdf", help="typeset the manuscript with latexmk (XeLaTeX and kotex)")
    p.add_argument("--tex", type=Path, default=Path("paper/main.tex"), help="the manuscript (default: paper/main.tex)")
    p.add_argument("--tables-dir", type=Path, default=TABLES_DIR, help="the generated tables main.tex inputs")
    p.add_argument("--figures-dir", type=Path, default=FIGURES_DIR, help="the generated figures main.tex includes")
    p.add_argument("--output", type=Path, default=Path("paper/main.pdf"), help="the PDF (default: paper/main.pdf)")
    p.add_argument("--engine", choices=["xelatex", "lualatex"], default="xelatex", help="TeX engine (default: xelatex)")
    p.set_defaults(func=_pdf)

    p = commands.add_parser("show", help="print generated tables (Markdown) to the terminal")
    p.add_argument(
        "tables", nargs="*", help="results, model, pretraining, corpus, contamination, finetuning (default: all)"
    )
    p.add_argument(
        "--results", default=DEFAULT_RESULTS, help="the run's results folder (config `results`; default: results)"
    )
    p.add_argument("--tables-dir", type=Path, default=None, help="the tables folder (default: from --results)")
    p.set_defaults(func=_show)
