"""Typesetting paper/main.tex (which \\inputs the generated tables and includes the
figures of one run) with latexmk and XeLaTeX; Korean text goes through kotex."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from krelectra.errors import KrelectraError
from krelectra.io import atomic_open

INSTALL_HINT = (
    "install latexmk and XeLaTeX with Korean support "
    "(Debian/Ubuntu: apt-get install latexmk texlive-xetex texlive-lang-korean)"
)


def build_pdf(
    tex: str | os.PathLike,
    output: str | os.PathLike,
    tables_dir: str | os.PathLike,
    figures_dir: str | os.PathLike,
    engine: str = "xelatex",
) -> Path:
    """Typeset `tex` into `output` with latexmk. The manuscript inputs `tables/*.tex` and
    includes `figures/*.pdf` relative to itself: it is typeset in a scratch folder that
    holds a copy of it beside copies of `tables_dir` and `figures_dir` (the generated
    outputs of one run, wherever its config put them). Raises KrelectraError naming the
    missing file or tool, or latexmk's first errors."""
    tex, output = Path(tex), Path(output)
    for path, kind in ((tex, "file"), (Path(tables_dir), "folder"), (Path(figures_dir), "folder")):
        if not (path.is_file() if kind == "file" else path.is_dir()):
            raise KrelectraError(f"{path}: no such {kind}")
    latexmk = shutil.which("latexmk")
    if latexmk is None:
        raise KrelectraError(f"latexmk not found on PATH: {INSTALL_HINT}")
    if shutil.which(engine) is None:
        raise KrelectraError(f"{engine} not found on PATH: {INSTALL_HINT}")
    # A fixed date in the PDF, so an unchanged manuscript gives an identical file.
    env = dict(os.environ, SOURCE_DATE_EPOCH=os.environ.get("SOURCE_DATE_EPOCH", "0"), FORCE_SOURCE_DATE="1")
    with tempfile.TemporaryDirectory(prefix="krelectra-latex-") as scratch:
        source, build = Path(scratch) / "source", Path(scratch) / "build"
        source.mkdir()
        build.mkdir()
        shutil.copy2(tex, source / tex.name)
        shutil.copytree(tables_dir, source / "tables")
        shutil.copytree(figures_dir, source / "figures")
        command = [
            latexmk,
            f"-{engine}",
            "-interaction=nonstopmode",
            "-halt-on-error",
            "-file-line-error",
            f"-outdir={build}",
            tex.name,
        ]
        result = subprocess.run(command, cwd=source, env=env, capture_output=True, text=True)
        pdf = build / (tex.stem + ".pdf")
        if result.returncode != 0 or not pdf.is_file():
            log = build / (tex.stem + ".log")
            lines = log.read_text(encoding="utf-8", errors="replace").splitlines() if log.is_file() else []
            errors = [line for line in lines if line.startswith("!") or re.match(r"^\S+:\d+: ", line)]
            detail = "\n".join(errors[:10] or lines[-20:] or result.stdout.splitlines()[-20:])
            raise KrelectraError(f"{tex}: latexmk -{engine} failed (exit {result.returncode}):\n{detail}")
        with atomic_open(output, "wb") as handle, open(pdf, "rb") as typeset:
            shutil.copyfileobj(typeset, handle)
    return output
