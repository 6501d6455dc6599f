"""Where each config's generated paper outputs go, and the manuscript typeset from one
run's tables and figures wherever they are (latexmk replaced by a stand-in that records
what it saw, so this runs without TeX)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from krelectra.cli import main
from krelectra.errors import KrelectraError
from krelectra.paper.manuscript import build_pdf
from krelectra.paper.outputs import paper_output_dir


def test_the_default_results_keep_paper_and_every_other_folder_gets_its_own():
    assert paper_output_dir("results") == "paper"
    assert paper_output_dir("./results/") == "paper"
    assert paper_output_dir("results-paper") == os.path.join("results-paper", "paper")
    assert paper_output_dir("/scratch/run1") == "/scratch/run1/paper"
    assert paper_output_dir("runs/results") == "runs/results/paper"  # only the default itself is special


@pytest.fixture
def fake_tex(tmp_path, monkeypatch):
    """`latexmk` and `xelatex` stand-ins: latexmk lists the working folder's tables/ and
    figures/ into the PDF it writes to -outdir."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    latexmk = bin_dir / "latexmk"
    latexmk.write_text(
        "#!/bin/sh\n"
        'for a in "$@"; do case "$a" in -outdir=*) out="${a#-outdir=}";; esac; done\n'
        '{ echo "%PDF-stand-in"; ls tables figures; cat main.tex; } > "$out/main.pdf"\n'
    )
    (bin_dir / "xelatex").write_text("#!/bin/sh\nexit 0\n")
    for script in bin_dir.iterdir():
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return tmp_path


def run_outputs(root: Path) -> tuple[Path, Path]:
    tables, figures = root / "results-paper/paper/tables", root / "results-paper/paper/figures"
    tables.mkdir(parents=True)
    figures.mkdir(parents=True)
    (tables / "results.tex").write_text("% results\n")
    (figures / "comparison.pdf").write_bytes(b"%PDF")
    return tables, figures


def test_the_manuscript_is_typeset_beside_the_runs_own_tables_and_figures(fake_tex):
    tex = fake_tex / "paper/main.tex"
    tex.parent.mkdir()
    tex.write_text("\\input{tables/results.tex}\n")
    tables, figures = run_outputs(fake_tex)
    output = fake_tex / "results-paper/paper/main.pdf"
    assert build_pdf(tex, output, tables, figures) == output
    text = output.read_text()
    assert text.startswith("%PDF-stand-in") and "results.tex" in text and "comparison.pdf" in text
    assert not (tex.parent / "tables").exists()  # the manuscript's folder is left as it was
    again = fake_tex / "again.pdf"
    argv = ["paper", "pdf", "--tex", str(tex), "--tables-dir", str(tables), "--figures-dir", str(figures)]
    assert main([*argv, "--output", str(again)]) == 0
    assert again.read_text() == text


def test_missing_tables_are_named(fake_tex):
    tex = fake_tex / "main.tex"
    tex.write_text("x")
    with pytest.raises(KrelectraError, match="nothing/tables: no such folder"):
        build_pdf(tex, fake_tex / "out.pdf", fake_tex / "nothing/tables", fake_tex)


def test_show_finds_the_tables_of_a_results_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    tables = tmp_path / "results-paper/paper/tables"
    tables.mkdir(parents=True)
    (tables / "results.md").write_text("**Table: Finetuning results**\n")
    assert main(["paper", "show", "--results", "results-paper", "results"]) == 0
    assert capsys.readouterr().out.startswith("**Table: Finetuning results")
    assert main(["paper", "show", "results"]) == 1  # the default's paper/tables: not built here
    assert "paper/tables/results.md: no such table" in capsys.readouterr().err
