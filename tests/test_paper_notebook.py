"""notebooks/audit.ipynb runs from top to bottom against a run's outputs, and its checks
catch a summary that disagrees with the runs it summarises."""

from __future__ import annotations

import pytest
from builders import execute, outputs, write_run

from krelectra.io import read_json, write_json

pytest.importorskip("nbformat")  # `execute` needs both
nbclient = pytest.importorskip("nbclient")


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
