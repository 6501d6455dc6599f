"""The workflow's `manifest` rule lists every output of every job the tables are computed
from, under the rule that makes it: checked against Snakemake's own plan (a dry run) of the
embedded default and of config/evaluate.yaml (no pretraining side, downloaded data)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from workflow_helpers import copy_workflow, snakemake

# Jobs the manifest does not describe: itself, and what is made from it.
NOT_DESCRIBED = {"manifest", "paper_tables"}


def planned_outputs(work, *args: str) -> tuple[set[tuple[str, str]], str]:
    """({(rule, output file)} of every planned job but NOT_DESCRIBED, the manifest job's
    shell command) of a dry run of `paper_tables`."""
    result = snakemake(work, "-n", "-p", "--cores", "2", "paper_tables", *args)
    outputs, command, rule = set(), None, None
    for line in (result.stdout + result.stderr).splitlines():
        if match := re.match(r"(?:local)?rule (\w+):$", line):
            rule = match.group(1)
        elif line.startswith("    output: ") and rule not in NOT_DESCRIBED:
            outputs |= {(rule, path) for path in line.removeprefix("    output: ").split(", ")}
        elif line.startswith("Shell command: ") and rule == "manifest":
            command = line.removeprefix("Shell command: ")
    assert command is not None, "no manifest job planned for paper_tables"
    return outputs, command


def manifest_listing(command: str) -> tuple[list[str], set[tuple[str, str]]]:
    """(the rules in the order the command names them, {(rule, file)}) of `manifest write`."""
    tokens = shlex.split(command)
    args = tokens[tokens.index("write") + 1 : tokens.index("2>")]
    order, listed, rule, i = [], set(), None, 0
    while i < len(args):
        if args[i] == "--rule":
            rule = args[i + 1]
            order.append(rule)
            i += 2
        elif args[i].startswith("--"):  # --results, --output, --settings and their values
            rule, i = None, i + 2
        else:
            assert rule is not None, args[i]
            listed.add((rule, args[i]))
            i += 1
    return order, listed


@pytest.mark.parametrize("configfile", [None, "config/evaluate.yaml"])
def test_the_manifest_lists_every_planned_output_under_its_rule(tmp_path, configfile):
    work = copy_workflow(tmp_path)
    outputs, command = planned_outputs(work, *(["--configfile", configfile] if configfile else []))
    order, listed = manifest_listing(command)
    assert listed == outputs
    assert "--results results" in command or "--results results-evaluate" in command
    if configfile is None:
        corpus = ["corpus_partition", "corpus_contamination_index", "corpus_clean", "corpus_contamination"]
        assert order[:7] == [*corpus, "corpus_dedup", "corpus_finalize", "corpus_stats"]
        assert order.index("pretrain_examples") < order.index("pretrain_model") < order.index("convert_checkpoint")
        assert '"cpu_kernels": "portable"' in command
    else:
        assert order[0] == "finetune_download" and "corpus_partition" not in order
    assert order[-3:] == ["finetune_train", "finetune_summary", "paper_uncertainty"]


def test_the_published_manifest_lists_what_the_embedded_default_writes_today(tmp_path):
    """docs/manifests/embedded-default.json (README: compare your run with it) names the
    same rules and files as this commit's embedded default plans: a new or renamed output
    makes it stale (scripts/publish_manifest.py publishes it anew)."""
    from krelectra.manifest.record import read_manifest

    published, _ = read_manifest(Path(__file__).resolve().parents[1] / "docs/manifests/embedded-default.json")
    _, command = planned_outputs(copy_workflow(tmp_path))
    order, listed = manifest_listing(command)
    assert [rule["rule"] for rule in published["rules"]] == order
    files = {(rule["rule"], f"results/{entry['path']}") for rule in published["rules"] for entry in rule["files"]}
    assert files == listed
