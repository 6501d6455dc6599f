"""Project-level promises: the citation file is valid, and every stage's conda
environment pins the same versions as pyproject.toml."""

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def test_citation_cff_is_valid():
    cffconvert = os.environ.get("CFFCONVERT") or shutil.which("cffconvert")
    assert cffconvert, "cffconvert not found: run the tests with scripts/test.sh, which installs it"
    result = subprocess.run(
        [cffconvert, "--validate", "-i", str(REPO / "CITATION.cff")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert cff["preferred-citation"]["title"] == "KR-ELECTRA: a KoRean-based ELECTRA model"
    assert [a["family-names"] for a in cff["preferred-citation"]["authors"]] == ["Lee", "Shin"]


def pinned(requirement: str) -> tuple[str, str]:
    name, version = re.split(r"==", requirement.split(";")[0].strip())
    return name.lower().replace("_", "-"), version.strip()


def test_every_env_pins_exactly_and_agrees_with_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    pins = dict(pinned(r) for r in project["project"]["dependencies"])
    envs = sorted((REPO / "envs").glob("*.yaml"))
    assert envs
    for env in envs:
        spec = yaml.safe_load(env.read_text())
        pip = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict))
        assert "python=3.11" in spec["dependencies"]
        for requirement in pip:
            name, version = pinned(requirement)
            assert pins.get(name) == version, f"{env.name}: {requirement} differs from pyproject.toml"


def test_every_rule_declares_log_and_conda_env():
    for smk in (REPO / "workflow/rules").glob("*.smk"):
        text = smk.read_text()
        for rule in re.split(r"\n(?=rule )", text)[1:]:
            name = rule.split(":")[0]
            if "shell:" not in rule:
                continue
            assert "log:" in rule and "conda:" in rule, f"{smk.name}: {name} lacks log: or conda:"
            env = re.search(r'conda:\s*\n\s*"([^"]+)"', rule).group(1)
            assert (smk.parent / env).resolve().is_file(), f"{smk.name}: {name}: {env} missing"
