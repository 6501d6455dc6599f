"""`krelectra paper ...`: tables, figures and the manuscript PDF from rule outputs."""

from __future__ import annotations

from pathlib import Path

from krelectra.cli import json_argument
from krelectra.paper.outputs import DEFAULT_RESULTS, paper_output_dir

TABLES_DIR = Path(paper_output_dir(DEFAULT_RESULTS)) / "tables"
FIGURES_DIR = Path(paper_output_dir(DEFAULT_RESULTS)) / "figures"


_config = json_argument(dict)  # the paper: config section


def _tables(args) -> None:
    from krelectra.paper.config import PaperConfig
    from krelectra.paper.tables import TableInputs, write_tables

    inputs = TableInputs(
        published=args.published,
        corpus_stats=args.corpus_stats,
        vocab_train=args.vocab_train,
        vocab_report=args.vocab_report,
        model_config=args.model_config,
        pretrain_config=args.pretrain_config,
        verification=args.verification,
        summaries=args.summaries,
        runs=args.runs,
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


def _pdf(args) -> None:
    from krelectra.paper.manuscript import build_pdf

    build_pdf(args.tex, args.output, args.tables_dir, args.figures_dir, engine=args.engine)


def _show(args) -> None:
    from krelectra.errors import KrelectraError
    from krelectra.paper.tables import TABLES

    names = args.tables or list(TABLES)
    tables_dir = args.tables_dir or Path(paper_output_dir(args.results)) / "tables"
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
        help="results, model, pretraining, corpus and finetuning tables (LaTeX, Markdown, HTML) and provenance.tsv",
    )
    p.add_argument("--published", type=Path, required=True, help="paper/published.yaml")
    p.add_argument("--corpus-stats", type=Path, required=True, help="{RESULTS}/corpus/stats.json")
    p.add_argument("--vocab-train", type=Path, required=True, help="{RESULTS}/vocab/train.json")
    p.add_argument("--vocab-report", type=Path, required=True, help="{RESULTS}/vocab/report.json")
    p.add_argument("--model-config", type=Path, required=True, help="{RESULTS}/pretrain/final/model_config.json")
    p.add_argument("--pretrain-config", type=Path, required=True, help="{RESULTS}/pretrain/final/pretrain_config.json")
    p.add_argument("--verification", type=Path, required=True, help="{RESULTS}/models/verification.json")
    p.add_argument("--summaries", type=Path, nargs="+", required=True, help="{RESULTS}/finetune/{model}/summary.json")
    p.add_argument(
        "--runs", type=Path, nargs="+", required=True, help="{RESULTS}/finetune/{model}/{task}/seed{seed}/metrics.json"
    )
    p.add_argument("--config", type=_config, default={}, help="the paper: config section as JSON")
    p.add_argument("--output-dir", type=Path, default=TABLES_DIR)
    p.set_defaults(func=_tables)

    p = commands.add_parser("figures", help="pretraining, finetuning, comparison and vocabulary figures (PDF, PNG)")
    p.add_argument("--published", type=Path, required=True, help="paper/published.yaml")
    p.add_argument("--metrics", type=Path, required=True, help="{RESULTS}/pretrain/metrics.jsonl")
    p.add_argument("--summaries", type=Path, nargs="+", required=True)
    p.add_argument("--runs", type=Path, nargs="+", required=True)
    p.add_argument(
        "--vocab-distributions", type=Path, required=True, help="{RESULTS}/vocab/distributions.json (vocab report)"
    )
    p.add_argument("--config", type=_config, default={}, help="the paper: config section as JSON")
    p.add_argument("--output-dir", type=Path, default=FIGURES_DIR)
    p.set_defaults(func=_figures)

    p = commands.add_parser("pdf", help="typeset the manuscript with latexmk (XeLaTeX and kotex)")
    p.add_argument("--tex", type=Path, default=Path("paper/main.tex"))
    p.add_argument("--tables-dir", type=Path, default=TABLES_DIR, help="the generated tables main.tex inputs")
    p.add_argument("--figures-dir", type=Path, default=FIGURES_DIR, help="the generated figures main.tex includes")
    p.add_argument("--output", type=Path, default=Path("paper/main.pdf"))
    p.add_argument("--engine", choices=["xelatex", "lualatex"], default="xelatex")
    p.set_defaults(func=_pdf)

    p = commands.add_parser("show", help="print generated tables (Markdown) to the terminal")
    p.add_argument("tables", nargs="*", help="results, model, pretraining, corpus, finetuning (default: all)")
    p.add_argument(
        "--results", default=DEFAULT_RESULTS, help="the run's results folder (config `results`; default: results)"
    )
    p.add_argument("--tables-dir", type=Path, default=None, help="the tables folder (default: from --results)")
    p.set_defaults(func=_show)
