"""scripts/readme_figures.py: the marked blocks of README.md and CONTRIBUTING.md, their
rewriting, and a measurement run in a fresh clone of a commit."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

SAMPLE = """# A project

Some text with `<!-- figures:quickstart begin -->` quoted inside a sentence.

<!-- figures:quickstart begin -->
Old figure: `bash scripts/quickstart.sh` took 3 min 12 s.
<!-- figures:quickstart end -->

Between the blocks.
<!-- figures:workflow begin -->
`python benchmarks/end_to_end.py --cores 2`: 2 min 22 s.
<!-- figures:workflow end -->
The end.
"""


@pytest.fixture(scope="module")
def figures():
    spec = importlib.util.spec_from_file_location("readme_figures", REPO / "scripts" / "readme_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rewriting_one_block_leaves_everything_else_as_it_was(figures):
    new = figures.rewrite_block(SAMPLE, "quickstart", "New: `bash scripts/quickstart.sh` took 6 min 31 s.\n")
    assert "Old figure" not in new and "New: `bash scripts/quickstart.sh` took 6 min 31 s." in new
    before, after = SAMPLE.split("Old figure: `bash scripts/quickstart.sh` took 3 min 12 s.\n")
    assert new == before + "New: `bash scripts/quickstart.sh` took 6 min 31 s.\n" + after
    # rewriting is repeatable: the markers stay
    assert figures.rewrite_block(new, "quickstart", "Third.") == before + "Third.\n" + after


def test_rewriting_refuses_a_missing_or_repeated_block(figures):
    with pytest.raises(ValueError, match="figures:fast-lane: found 0 times"):
        figures.rewrite_block(SAMPLE, "fast-lane", "x")
    twice = SAMPLE + "\n<!-- figures:workflow begin -->\nx\n<!-- figures:workflow end -->\n"
    with pytest.raises(ValueError, match="figures:workflow: found 2 times"):
        figures.rewrite_block(twice, "workflow", "x")


def test_the_check_names_unknown_unpaired_and_commandless_blocks(figures):
    assert figures.check_blocks(SAMPLE, "sample.md") == []
    bad = SAMPLE.replace("`python benchmarks/end_to_end.py --cores 2`", "the benchmark")
    bad += "<!-- figures:speedup begin -->\n1.2x\n<!-- figures:speedup end -->\n<!-- figures:fast-lane begin -->\n"
    problems = figures.check_blocks(bad, "sample.md")
    assert any(re.fullmatch(r"sample\.md:10: block figures:workflow does not name its command .*", p) for p in problems)
    assert [p for p in problems if "speedup" in p] == [
        "sample.md:14: unknown block figures:speedup (known: quickstart, workflow, fast-lane, slow-lane)"
    ]
    assert "sample.md:17: figures:fast-lane begin has no partner" in problems


def test_every_block_of_the_docs_is_known_and_names_its_command(figures):
    texts = {doc: (REPO / doc).read_text(encoding="utf-8") for doc in ("README.md", "CONTRIBUTING.md")}
    assert [p for doc, text in texts.items() for p in figures.check_blocks(text, doc)] == []
    # the four timings the README states (quickstart, workflow, both test lanes) are blocks
    names = {block.group("name") for block in figures.BLOCK.finditer(texts["README.md"])}
    assert names == {"quickstart", "workflow", "fast-lane", "slow-lane"}


def test_a_measurement_runs_in_a_clone_of_the_commit_and_stamps_the_block(figures, tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "README.md").write_text(
        "Intro\n<!-- figures:echo begin -->\nnot measured\n<!-- figures:echo end -->\nOutro\n", encoding="utf-8"
    )
    (repo / "CONTRIBUTING.md").write_text("nothing measured here\n", encoding="utf-8")
    (repo / "data.txt").write_text("committed\n", encoding="utf-8")

    def git(*args):
        env = {
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@t",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@t",
        }
        return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True, env=env).stdout

    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "one")
    commit = git("rev-parse", "--short", "HEAD").strip()
    seen = []

    def measure(clone: Path) -> str:
        seen.append(clone)
        return f"`cat data.txt` reads {(clone / 'data.txt').read_text().strip()!r} in {clone.name}."

    monkeypatch.setattr(figures, "REPO", repo)
    monkeypatch.setattr(figures, "MEASUREMENTS", {"echo": figures.Measurement("cat data.txt", measure)})
    # an uncommitted change is refused: the figures are a commit's
    (repo / "data.txt").write_text("changed\n", encoding="utf-8")
    with pytest.raises(SystemExit):
        figures.main(["echo"])
    git("checkout", "data.txt")
    assert figures.main(["echo"]) == 0
    text = (repo / "README.md").read_text(encoding="utf-8")
    assert seen and seen[0] != repo and not seen[0].exists()  # a fresh clone, removed afterwards
    assert text.startswith("Intro\n<!-- figures:echo begin -->\n`cat data.txt` reads 'committed' in krelectra.\n")
    assert re.search(
        rf"^Commit {commit}, \d{{4}}-\d\d-\d\d, .+, \d+ cores \(.+\); load average [\d.]+ before", text, re.M
    )
    assert text.endswith("<!-- figures:echo end -->\nOutro\n")
    assert figures.check_blocks(text, "README.md") == []
