"""A one-node SLURM cluster for the tests: scripts/slurm-cluster.sh driven from Python."""

from __future__ import annotations

import os
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from workflow_helpers import REPO

SCRIPT = REPO / "scripts" / "slurm-cluster.sh"
DAEMONS = ("munged", "slurmctld", "slurmd")
# The fields `sacct --completion` reads from the job completion log (jobcomp/filetxt).
JOB_FIELDS = ("JobID", "JobName", "State", "ExitCode", "NodeList", "AllocCPUS", "Timelimit")


class ClusterError(RuntimeError):
    pass


@dataclass
class SlurmCluster:
    directory: Path

    @classmethod
    def start(cls, directory: Path, *, cpus: int, memory_mb: int, gpus: int) -> SlurmCluster:
        """Start munged, slurmctld and slurmd in `directory`; the node is idle on return."""
        result = subprocess.run(
            [
                "bash",
                str(SCRIPT),
                "start",
                str(directory),
                "--cpus",
                str(cpus),
                "--memory",
                str(memory_mb),
                "--gpus",
                str(gpus),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            # The script has printed the daemons' logs and stopped what it started.
            raise ClusterError(f"the SLURM test cluster did not start:\n{result.stdout}\n{result.stderr}")
        return cls(directory)

    @property
    def conf(self) -> Path:
        return self.directory / "slurm.conf"

    @property
    def node(self) -> str:
        return socket.gethostname().split(".")[0]

    def command(self, *args: str) -> str:
        """Run a SLURM command (sacct, squeue...) against this cluster; its stdout."""
        result = subprocess.run(
            list(args), capture_output=True, text=True, timeout=60, env=dict(os.environ, SLURM_CONF=str(self.conf))
        )
        if result.returncode != 0:
            raise ClusterError(f"{' '.join(args)} failed: {result.stderr}")
        return result.stdout

    def finished_jobs(self) -> dict[str, dict[str, str]]:
        """Every job that has ended, by job id, as `sacct --completion` reports it."""
        out = self.command("sacct", "--completion", "--parsable2", "--noheader", "--format=" + ",".join(JOB_FIELDS))
        rows = (line.split("|") for line in out.splitlines() if line.strip())
        return {row[0]: dict(zip(JOB_FIELDS, row)) for row in rows}

    def logs(self) -> str:
        """The daemons' logs and the queue, for a failure message."""
        parts = []
        for log in sorted((self.directory / "log").glob("*.log")):
            lines = log.read_text(errors="replace").splitlines()[-40:]
            parts.append(f"----- {log}\n" + "\n".join(lines))
        try:
            parts.append("----- squeue\n" + self.command("squeue", "--states=all"))
        except (ClusterError, subprocess.TimeoutExpired) as error:
            parts.append(f"----- squeue: {error}")
        return "\n".join(parts)

    def running_daemons(self) -> dict[str, int]:
        """This cluster's daemons that are still running, with their pids."""
        running = {}
        for name in DAEMONS:
            pidfile = self.directory / "run" / f"{name}.pid"
            if not pidfile.is_file():
                continue
            pid = pidfile.read_text().strip()
            try:
                comm = Path(f"/proc/{pid}/comm").read_text().strip()
                state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
            except (FileNotFoundError, ValueError):
                continue
            if comm == name and state != "Z":
                running[name] = int(pid)
        return running

    def stop(self) -> None:
        """Cancel the jobs and stop the daemons; fail if any daemon is left."""
        result = subprocess.run(
            ["bash", str(SCRIPT), "stop", str(self.directory)], capture_output=True, text=True, timeout=120
        )
        left = self.running_daemons()
        if result.returncode != 0 or left:
            raise ClusterError(f"stopping the SLURM test cluster left {left}:\n{result.stdout}\n{result.stderr}")
