"""The paper rules in the real workflow, on the synthetic rule outputs of a run:
`snakemake paper/tables`, the figures, `snakemake --report` and, where latexmk is
installed, the manuscript PDF."""

from __future__ import annotations

import re
import shutil

import pytest
from builders import write_run
from workflow_helpers import copy_workflow, snakemake

# (The synthetic run's manifest.json is taken as it is too: write_run writes it.)
PAPER_RULES = ["--allowed-rules", "paper_uncertainty", "paper_tables", "paper_figures", "paper_pdf"]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """The workflow with the outputs of an embedded-default run (one model, seed 41) in
    results/; only the paper rules may run, so the synthetic files are taken as they are."""
    work = copy_workflow(tmp_path_factory.mktemp("paper_workflow"))
    write_run(work, models=("krelectra-ours",), seeds=(41,))
    return work


def test_dry_run_of_paper_tables_plans_the_whole_pipeline(tmp_path):
    out = snakemake(copy_workflow(tmp_path), "-n", "--cores", "2", "paper/tables").stdout
    for rule in (
        "corpus_partition",
        "vocab_train",
        "pretrain_model",
        "convert_checkpoint",
        "finetune_train",
        "finetune_summary",
        "paper_tables",
    ):
        assert re.search(rf"^{rule}\s+\d+", out, re.M), rule


@pytest.mark.slow
def test_snakemake_builds_tables_figures_and_report(work):
    result = snakemake(work, "--cores", "1", *PAPER_RULES, "--", "paper/tables", "paper_figures")
    tables = work / "paper" / "tables"
    for name in ("results", "model", "pretraining", "corpus", "finetuning"):
        for fmt in ("tex", "md", "html"):
            assert (tables / f"{name}.{fmt}").is_file(), f"{name}.{fmt}"
    provenance = (tables / "provenance.tsv").read_text()
    assert "results/finetune/krelectra-ours/summary.json" in provenance  # relative paths, as the rule gives them
    assert "\tresults/manifest.json\t" in provenance
    results = (tables / "results.md").read_text()
    assert "| KR-ELECTRA (this run) |" in results  # the label from config/config.yaml
    for name in ("pretraining", "finetuning", "comparison", "vocabulary"):
        assert (work / "paper/figures" / f"{name}.pdf").is_file() and (work / "paper/figures" / f"{name}.png").is_file()

    again = snakemake(work, "--cores", "1", *PAPER_RULES, "--", "paper/tables", "paper_figures")
    assert "Nothing to be done" in again.stdout + again.stderr, result.stdout

    report = snakemake(
        work, "--cores", "1", "--report", "report.html", *PAPER_RULES, "--", "paper/tables", "paper_figures"
    )
    html = (work / "report.html").read_text(encoding="utf-8", errors="replace")
    assert report.returncode == 0 and len(html) > 10000
    for caption in ("Finetuning results", "Pretraining curves", "Vocabulary statistics", "Corpus and vocabulary"):
        assert caption in html, caption


@pytest.mark.slow
def test_another_config_gets_its_own_tables_figures_and_report(tmp_path):
    """A config with another results folder writes its paper outputs inside it, never
    over the embedded default's paper/tables, and its report finds them."""
    work = copy_workflow(tmp_path)
    write_run(work, models=("krelectra-ours",), seeds=(41,))
    (work / "results").rename(work / "results-other")
    (work / "other.yaml").write_text("results: results-other\n")
    targets = ["--", "paper_tables", "paper_figures"]
    snakemake(work, "--cores", "1", *PAPER_RULES, "--configfile", "config/config.yaml", "other.yaml", *targets)
    assert (work / "results-other/paper/tables/results.md").is_file()
    assert (work / "results-other/paper/figures/comparison.png").is_file()
    assert not (work / "paper/tables").exists() and not (work / "paper/figures").exists()
    provenance = (work / "results-other/paper/tables/provenance.tsv").read_text()
    assert "results-other/finetune/krelectra-ours/summary.json" in provenance
    snakemake(
        work, "--cores", "1", "--report", "report.html", *PAPER_RULES,
        "--configfile", "config/config.yaml", "other.yaml", *targets,
    )  # fmt: skip
    html = (work / "report.html").read_text(encoding="utf-8", errors="replace")
    assert "Finetuning results" in html and "results-other/paper/" in html


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("latexmk") is None or shutil.which("xelatex") is None,
    reason="latexmk/xelatex not installed (apt-get install latexmk texlive-xetex texlive-lang-korean)",
)
def test_snakemake_builds_the_manuscript_pdf(work):
    snakemake(work, "--cores", "1", *PAPER_RULES, "--", "paper/main.pdf")
    pdf = (work / "paper/main.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 50000
    if shutil.which("pdftotext"):
        import subprocess

        text = subprocess.run(["pdftotext", str(work / "paper/main.pdf"), "-"], capture_output=True, text=True).stdout
        assert "원문 텍스트에서 평가 점수까지" in text  # Korean through kotex
        assert "91.168" in text and "KR-ELECTRA (this run)" in text  # the generated results table


def test_paper_config_errors_name_the_key(tmp_path):
    work = copy_workflow(tmp_path)
    (work / "bad.yaml").write_text("paper:\n  modles: [krelectra-ours]\n")
    result = snakemake(work, "-n", "--configfile", "config/config.yaml", "bad.yaml", check=False)
    assert result.returncode != 0 and "modles" in result.stdout + result.stderr
    (work / "bad.yaml").write_text("paper:\n  models: [koelectra]\n")
    result = snakemake(work, "-n", "--configfile", "config/config.yaml", "bad.yaml", check=False)
    assert result.returncode != 0
    assert "config paper.models: koelectra not in finetune.models" in result.stdout + result.stderr


def test_the_default_tables_folder_under_another_config_names_the_target_to_use(tmp_path):
    """`snakemake paper/tables` (the README's main command) with a config whose results
    folder is another: one message naming that config's tables folder and paper_tables,
    not Snakemake's MissingRuleException (issue 22)."""
    work = copy_workflow(tmp_path)
    (work / "other.yaml").write_text("results: results-other\n")
    result = snakemake(
        work, "-n", "--cores", "2", "paper/tables", "--configfile", "config/config.yaml", "other.yaml", check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "MissingRuleException" not in output
    message = "this config's results folder is results-other, so its tables go to results-other/paper/tables"
    assert message in output and "ask for the target paper_tables" in output


def test_a_config_can_finetune_another_runs_converted_model(tmp_path):
    """A finetune.models entry naming the converted discriminator of another results folder
    (README, Configuration): the plan in the new folder finetunes that folder and has no
    corpus, vocabulary, pretraining or conversion job."""
    work = copy_workflow(tmp_path)
    model = work / "results/models/discriminator"
    model.mkdir(parents=True)
    (model / "config.json").write_text("{}\n")
    (work / "seeds.yaml").write_text(
        "results: results-seeds\n"
        "finetune:\n  models: {krelectra-ours: results/models/discriminator}\n  seeds: [41, 42, 43]\n"
    )
    args = ("-n", "-p", "--cores", "2", "paper_tables", "--configfile", "config/config.yaml", "seeds.yaml")
    out = snakemake(work, *args).stdout
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", out, re.M))
    assert int(jobs["finetune_train"]) == 8 * 3 and "paper_tables" in jobs
    assert not [rule for rule in jobs if rule.split("_")[0] in ("corpus", "vocab", "pretrain", "convert")]
    commands = [line for line in out.splitlines() if "finetune train" in line]
    assert len(commands) == 8 * 3
    assert all("--model results/models/discriminator " in line for line in commands)
    assert all("results-seeds/finetune/krelectra-ours/" in line for line in commands)
