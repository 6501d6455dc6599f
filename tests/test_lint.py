"""The linters, formatters and the type checker configured in pyproject.toml, run over the
repository (the fast lane runs them, so a style, import or type error fails in seconds).
mypy checks src/ ([tool.mypy] files); its cache (.mypy_cache) makes a second run take
seconds, a cold one (CI) about a minute on 2 cores."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    path = Path(sys.executable).with_name(name)
    found = str(path) if path.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} not found: install the test extra (pip install -e '.[test]')")
    return found


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["snakefmt", "--check", "Snakefile", "workflow"],
        ["mypy"],
    ],
    ids=["ruff-check", "ruff-format", "snakefmt", "mypy"],
)
def test_repository_is_lint_clean(command):
    result = subprocess.run([_tool(command[0]), *command[1:]], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout[-4000:]}{result.stderr[-4000:]}"
