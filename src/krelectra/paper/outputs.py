"""Where a run's generated paper outputs go, derived from the config's `results` folder,
so that runs of different configs never overwrite each other's tables and figures.

The embedded default (`results: results`, also the schema default) keeps them beside
the manuscript: `paper/tables`, `paper/figures`, `paper/main.pdf` (the README's main
command `snakemake --cores all paper/tables`). Any other results folder R gets them
inside it: `R/paper/tables`, `R/paper/figures`, `R/paper/main.pdf` (config/paper.yaml:
`results-paper/paper/...`). The rule names `paper_tables`, `paper_figures` and
`paper_pdf` are targets that work for every config.
"""

from __future__ import annotations

import os

DEFAULT_RESULTS = "results"
MANUSCRIPT_DIR = "paper"  # main.tex and published.yaml; the default's outputs beside them


def paper_output_dir(results: str | os.PathLike) -> str:
    """The folder of the generated tables/, figures/ and main.pdf of a run whose results
    go to `results` (a path relative to the working directory, or absolute)."""
    results = os.path.normpath(os.fspath(results))
    if results == DEFAULT_RESULTS:
        return MANUSCRIPT_DIR
    return os.path.join(results, MANUSCRIPT_DIR)
