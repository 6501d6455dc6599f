"""notebooks/audit.ipynb runs from top to bottom against a run's outputs, and its checks
catch a summary that disagrees with the runs it summarises."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_paper_synthetic_run import write_run

from krelectra.io import read_json, write_json

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "audit.ipynb"


def execute(results: Path, tables: Path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    env = {
        "KRELECTRA_RESULTS": str(results),
        "KRELECTRA_TABLES": str(tables),
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
        "MPLBACKEND": "Agg",
    }
    old = {key: os.environ.get(key) for key in env}
    os.environ.update(env)  # the kernel inherits the environment
    try:
        client = nbclient.NotebookClient(
            notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
        )
        client.execute()
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return notebook


def outputs(notebook) -> str:
    text = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            text.append(output.get("text", "") + str(output.get("data", {}).get("text/markdown", "")))
    return "\n".join(text)


@pytest.mark.slow
def test_audit_notebook_runs_against_a_run_and_catches_a_wrong_summary(tmp_path):
    results = write_run(tmp_path, models=("krelectra-ours",), seeds=(41, 42))
    notebook = execute(results, tmp_path / "no-tables")
    text = outputs(notebook)
    assert "summaries agree with the runs: krelectra-ours" in text
    assert "| KR-ELECTRA | **91.168** |" in text  # the regenerated results table
    assert "no generated tables yet" in text
    assert any(
        o.get("output_type") == "display_data" and "image/png" in o.get("data", {})
        for cell in notebook.cells
        for o in cell.get("outputs", [])
    )

    summary_path = results / "finetune/krelectra-ours/summary.json"
    summary = read_json(summary_path)
    summary["tasks"]["paws"]["protocols"]["clean"]["test"]["accuracy"]["mean"] += 1.0
    write_json(summary_path, summary)
    with pytest.raises(nbclient.exceptions.CellExecutionError, match="paws"):
        execute(results, tmp_path / "no-tables")
