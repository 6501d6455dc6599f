"""Typesetting paper/main.tex (which \\inputs the generated tables and includes the
figures) with latexmk and XeLaTeX; Korean text goes through kotex."""

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


def build_pdf(tex: str | os.PathLike, output: str | os.PathLike, engine: str = "xelatex") -> Path:
    tex, output = Path(tex), Path(output)
    if not tex.is_file():
        raise KrelectraError(f"{tex}: no such file")
    latexmk = shutil.which("latexmk")
    if latexmk is None:
        raise KrelectraError(f"latexmk not found on PATH: {INSTALL_HINT}")
    if shutil.which(engine) is None:
        raise KrelectraError(f"{engine} not found on PATH: {INSTALL_HINT}")
    # A fixed date in the PDF, so an unchanged manuscript gives an identical file.
    env = dict(os.environ, SOURCE_DATE_EPOCH=os.environ.get("SOURCE_DATE_EPOCH", "0"), FORCE_SOURCE_DATE="1")
    with tempfile.TemporaryDirectory(prefix="krelectra-latex-") as build:
        command = [
            latexmk,
            f"-{engine}",
            "-interaction=nonstopmode",
            "-halt-on-error",
            "-file-line-error",
            f"-outdir={build}",
            tex.name,
        ]
        result = subprocess.run(command, cwd=tex.parent, env=env, capture_output=True, text=True)
        pdf = Path(build) / (tex.stem + ".pdf")
        if result.returncode != 0 or not pdf.is_file():
            log = Path(build) / (tex.stem + ".log")
            lines = log.read_text(encoding="utf-8", errors="replace").splitlines() if log.is_file() else []
            errors = [line for line in lines if line.startswith("!") or re.match(r"^\S+:\d+: ", line)]
            detail = "\n".join(errors[:10] or lines[-20:] or result.stdout.splitlines()[-20:])
            raise KrelectraError(f"{tex}: latexmk -{engine} failed (exit {result.returncode}):\n{detail}")
        with atomic_open(output, "wb") as handle, open(pdf, "rb") as source:
            shutil.copyfileobj(source, handle)
    return output
