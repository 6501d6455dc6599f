"""Project-level promises: the citation file is valid, and every stage's conda
environment pins the same versions as pyproject.toml and holds every library its code imports."""

import ast
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
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


def test_the_version_is_written_once_and_citation_cff_repeats_it():
    """src/krelectra/__init__.py holds the version; the built package's metadata takes it
    from there (pyproject's dynamic version, resolved here as setuptools resolves it at
    build time), and CITATION.cff, which citers read, states the same version."""
    from setuptools.config.pyprojecttoml import read_configuration

    import krelectra

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert read_configuration(REPO / "pyproject.toml")["project"]["version"] == krelectra.__version__
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert str(cff["version"]) == krelectra.__version__


def test_pyproject_reads_without_setuptools_warnings():
    """The license is an SPDX expression (PEP 639): the table form `{ text = ... }` made
    every `pip install` print a 13-line SetuptoolsDeprecationWarning (issue 22). The build
    requires a setuptools that reads the SPDX form (77 or later), and reading the file as
    setuptools does at build time raises no warning."""
    import warnings

    from setuptools.config.pyprojecttoml import read_configuration

    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert data["project"]["license"] == "Apache-2.0"
    assert "setuptools>=77" in data["build-system"]["requires"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_configuration(REPO / "pyproject.toml")["project"]["license"] == "Apache-2.0"


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


STAGE_ENVS = {
    "corpus": "corpus",
    "vocab": "vocab",
    "pretrain": "pretrain",
    "convert": "convert",
    "finetune": "finetune",
    "paper": "paper",
    "manifest": "convert",  # the manifest reads TensorFlow checkpoints and safetensors
}


def _imports(path: Path, inside_functions: bool) -> set[str]:
    """The module names a file imports: at import time only, or also inside functions."""
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            if inside_functions or not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return names


def _module_file(name: str) -> Path | None:
    parts = name.split(".")
    base = REPO / "src" / Path(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _third_party_imports(stage: str) -> set[str]:
    """Top-level names of the non-stdlib libraries that `krelectra <stage> ...` can import:
    everything the stage's own modules reach (imports inside functions included), and what
    the CLI entry point imports when it starts (it registers every stage's cli module)."""
    package = REPO / "src/krelectra"
    start = [(path, True) for path in (package / stage).rglob("*.py")]
    start += [(path, False) for path in [*package.glob("*.py"), *package.glob("*/cli.py")]]
    seen: set[tuple[Path, bool]] = set()
    queue, outside = list(start), set()
    while queue:
        path, deep = queue.pop()
        if (path, deep) in seen:
            continue
        seen.add((path, deep))
        for name in _imports(path, inside_functions=deep):
            top = name.split(".")[0]
            if top == "krelectra":
                found = _module_file(name)
                if found is not None:
                    queue.append((found, deep))
            elif top not in sys.stdlib_module_names:
                outside.add(top)
    return outside


def test_every_stage_env_holds_the_libraries_its_code_imports():
    distributions = importlib.metadata.packages_distributions()
    for stage, env in STAGE_ENVS.items():
        spec = yaml.safe_load((REPO / "envs" / f"{env}.yaml").read_text())
        pip = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict))
        pinned_names = {pinned(r)[0] for r in pip}
        for module in sorted(_third_party_imports(stage)):
            provided_by = {d.lower().replace("_", "-") for d in distributions.get(module, [])}
            assert provided_by, f"{stage}: imports {module}, which no installed distribution provides"
            assert provided_by & pinned_names, (
                f"envs/{env}.yaml: the {stage} stage imports {module} ({', '.join(sorted(provided_by))}) "
                "but the environment does not pin it"
            )


def _run_test_script(tmp_path: Path, *args: str) -> list[str]:
    """scripts/test.sh run in a copy of the repository as root, with every command it
    calls replaced by one that logs its arguments (python, pip, pytest, apt-get) and none
    of the system packages on PATH; returns the log."""
    (tmp_path / "repo/scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts/test.sh", tmp_path / "repo/scripts/test.sh")
    log = tmp_path / "log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    logging_command = f'#!/bin/sh\necho "$(basename "$0") $*" >> {log}\n'
    for name in ("apt-get", "python"):
        (bin_dir / name).write_text(logging_command)
    (bin_dir / "id").write_text("#!/bin/sh\necho 0\n")
    for folder in (".venv", ".venv-tools"):
        (tmp_path / "repo" / folder / "bin").mkdir(parents=True)
        os.symlink(bin_dir / "python", tmp_path / "repo" / folder / "bin/python")
    for path in bin_dir.iterdir():
        path.chmod(0o755)
    for name in ("dirname", "basename"):
        os.symlink(shutil.which(name), bin_dir / name)
    env = {"PATH": str(bin_dir), "PYTHON": sys.executable, "HOME": str(tmp_path)}
    result = subprocess.run(
        [shutil.which("bash"), "scripts/test.sh", *args],
        cwd=tmp_path / "repo",
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return [line for line in log.read_text().splitlines() if " pip install " not in line]


def test_test_script_installs_system_packages_only_for_the_slow_lane(tmp_path):
    """scripts/test.sh (the README's test command, CI's .ci/run) installs TeX and SLURM
    only when tests that may use them run: after the fast lane, before the slow one, and
    not at all for a run of the fast lane alone (issue 22: 239 packages for the fast lane)."""
    log = _run_test_script(tmp_path / "both")
    assert [line.split()[0] for line in log] == ["python", "apt-get", "apt-get", "python"]
    assert log[0].endswith("-m pytest -m not slow") and log[-1].endswith("-m pytest -m slow")
    assert "install" in log[2] and "texlive-xetex" in log[2] and "slurm-wlm" in log[2]

    assert _run_test_script(tmp_path / "fast", "-m", "not slow", "-q") == ["python -m pytest -m not slow -q"]
    log = _run_test_script(tmp_path / "one", "tests/test_slurm.py")
    assert [line.split()[0] for line in log] == ["apt-get", "apt-get", "python"]
