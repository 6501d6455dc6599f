"""profiles/slurm on a real SLURM cluster: a one-node cluster on this machine
(scripts/slurm-cluster.sh; needs root and Debian's slurm-wlm and munge), where the
workflow runs with snakemake-executor-plugin-slurm and must give the same files as a
local run. The cluster has no accounting database: `sacct --completion` reads the job
completion log (jobcomp/filetxt) to show the jobs SLURM ran. A cluster that cannot start
fails the test, with the daemons' logs."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pytest
import yaml
from slurm_cluster import SlurmCluster
from workflow_helpers import REPO, copy_workflow, snakemake

PROFILE = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())

# Targets run through SLURM (in one Snakemake run) and compared with a local run: the
# corpus, vocabulary and pretraining stages. pretrain_model asks for a GPU, and the test
# node has two stand-ins for that.
TARGETS = ["vocab", "pretrain"]


# The node declares more than this machine has, so that the profile's requests (sized
# for the published recipe: vocab_train 8 CPUs and 64 GB) are scheduled as they are.
NODE = {"cpus": max(16, os.cpu_count() or 1), "memory_mb": 131072, "gpus": 2}

# What the test cluster lacks, and the test needs to see, beyond the profile:
SLURM_TEST_ARGS = [
    "--slurm-status-command",
    "squeue",  # no accounting database for sacct
    "--slurm-no-account",  # no accounts (sacctmgr needs one too)
    "--slurm-keep-successful-logs",  # which rules ran in which SLURM job
    "--slurm-init-seconds-before-status-checks",
    "2",  # jobs take seconds, not hours
    "--seconds-between-status-checks",
    "2",
]


@pytest.fixture(scope="module")
def cluster():
    # Not under pytest's temporary folders: munged needs a socket folder that others
    # can enter, and those are mode 700.
    directory = Path(tempfile.mkdtemp(prefix="krelectra-slurm-"))
    try:
        started = SlurmCluster.start(directory, **NODE)
    except Exception:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    yield started
    try:
        started.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def run_on_slurm(workdir: Path, cluster: SlurmCluster, *targets: str) -> str:
    """`snakemake --executor slurm --profile profiles/slurm TARGET...`; its output."""
    args = [
        sys.executable,
        "-m",
        "snakemake",
        "--executor",
        "slurm",
        "--profile",
        "profiles/slurm",
        *SLURM_TEST_ARGS,
        *targets,
    ]
    env = dict(os.environ, HF_HUB_OFFLINE="1", SLURM_CONF=str(cluster.conf))
    try:
        result = subprocess.run(args, cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired as error:
        raise AssertionError(f"snakemake on SLURM did not finish in 600 s:\n{error.stderr}\n{cluster.logs()}") from None
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"snakemake on SLURM failed:\n{output[-6000:]}\n{cluster.logs()}"
    return output


def rule_jobs(output: str, kind: str = r"(?:local)?rule") -> Counter:
    """How many jobs of each rule a Snakemake output shows."""
    return Counter(re.findall(rf"^\s*{kind} (\w+):$", output, flags=re.MULTILINE))


# Files that record when and how fast, not what: compared without their timings below.
TIMED = {"logs", "benchmarks", "tensorboard", "metrics.jsonl"}
SPEEDS = {"examples_per_sec", "tokens_per_sec", "steps_per_sec", "elapsed_seconds"}


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not TIMED & set(p.relative_to(folder).parts)
    }


def pretraining_metrics(results: Path) -> list[dict]:
    lines = (results / "pretrain/metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k not in SPEEDS} for line in lines]


@pytest.mark.slow
def test_workflow_runs_through_slurm_and_gives_the_local_results(cluster, embedded_default_run, tmp_path):
    # The local run is the session's (`paper/tables` with 2 cores, which built these
    # targets); the jobs a local run of the targets alone needs come from a dry run.
    local = embedded_default_run
    local_jobs = rule_jobs(snakemake(copy_workflow(tmp_path / "plan"), "-n", "--cores", "2", *TARGETS).stdout)

    work = copy_workflow(tmp_path / "slurm")
    output = run_on_slurm(work, cluster, *TARGETS)

    # SLURM ran exactly the jobs the executor submitted, all to completion on our node.
    run_id = re.search(r"SLURM run ID: (\S+)", output).group(1)
    submitted = set(re.findall(r"has been submitted with SLURM jobid (\d+)", output))
    finished = {i: job for i, job in cluster.finished_jobs().items() if job["JobName"] == run_id}
    assert submitted and set(finished) == submitted, (submitted, finished)
    for job in finished.values():
        assert (job["State"], job["ExitCode"], job["NodeList"]) == ("COMPLETED", "0:0", cluster.node), job

    # Every job of the local run ran inside one of those SLURM jobs, but the target
    # itself (a rule without a command), which Snakemake runs where it is started.
    in_job = {}
    for log in (work / ".snakemake/slurm_logs").rglob("*.log"):
        assert log.stem in finished, log
        in_job[log.stem] = rule_jobs(log.read_text(), kind="localrule")
    assert set(in_job) == submitted
    on_submit_host = rule_jobs(output, kind="localrule")
    assert set(on_submit_host) == set(TARGETS)
    assert sum(in_job.values(), Counter()) + on_submit_host == local_jobs

    # The profile's groups: a shard's finalize and segment jobs share a SLURM job.
    shard_jobs = [rules for rules in in_job.values() if {"corpus_finalize", "vocab_segment"} <= set(rules)]
    assert shard_jobs and len(submitted) < sum(local_jobs.values()) - 1
    # The profile's resources reached SLURM: threads as CPUs, runtime as the time limit.
    for job_id, rules in in_job.items():
        for rule in ("vocab_train", "pretrain_model"):
            if rule in rules:
                assert int(finished[job_id]["AllocCPUS"]) == PROFILE["set-threads"][rule]
        if set(rules) == {"corpus_dedup"}:
            assert int(finished[job_id]["Timelimit"]) == PROFILE["set-resources"]["corpus_dedup"]["runtime"]

    # The same files as the local run, byte for byte (the local run went on to finetune
    # and write tables: its other files are not compared).
    local_files, slurm_files = digest(local / "results"), digest(work / "results")
    assert "vocab/tokenizer/vocab.txt" in slurm_files
    assert "pretrain/final/model.ckpt.data-00000-of-00001" in slurm_files
    assert slurm_files == {path: local_files.get(path) for path in slurm_files}
    assert pretraining_metrics(work / "results") == pretraining_metrics(local / "results")


@pytest.mark.slow
def test_a_second_cluster_does_not_take_over_a_running_one(cluster, tmp_path):
    other = tmp_path / "other"
    result = subprocess.run(
        ["bash", str(REPO / "scripts/slurm-cluster.sh"), "start", str(other)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert f"the test cluster in {cluster.directory} is running" in result.stderr
    assert os.readlink("/etc/slurm/slurm.conf") == str(cluster.conf)
    assert cluster.command("sinfo", "--noheader", "--Node", "--format=%T").strip() in {"idle", "mixed", "allocated"}


def test_the_profile_names_only_rules_of_the_workflow(tmp_path):
    result = snakemake(copy_workflow(tmp_path), "--list-rules")
    rules = set(re.findall(r"^(\w+)", result.stdout, flags=re.MULTILINE))
    named = {*PROFILE["set-threads"], *PROFILE["set-resources"], *PROFILE["groups"]}
    assert named - rules == set()
