# Paths and input functions shared by every stage. Rules only wire files;
# the work is done by `krelectra <stage> <command>` (src/krelectra).

import json
import os
import shlex
import sys

from snakemake.settings.types import DeploymentMethod

from krelectra.corpus.sources import resolve_sources
from krelectra.errors import KrelectraError

# Rules call `krelectra <stage> <command>`. Without --use-conda it runs with the Python
# that runs Snakemake (where the project is installed); with --use-conda each stage's
# pinned environment provides the dependencies and src/ provides krelectra itself.
if DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method:
    _krelectra = f"PYTHONPATH={shlex.quote(os.path.join(workflow.basedir, 'src'))} python -m krelectra"
else:
    _krelectra = f"{shlex.quote(sys.executable)} -m krelectra"
# (Snakemake formats the prefix like a shell command, hence the doubled braces.)
shell.prefix("set -euo pipefail; krelectra() {{ " + _krelectra + ' "$@"; }}; ')

RESULTS = config["results"]
LOGS = f"{RESULTS}/logs"
BENCHMARKS = f"{RESULTS}/benchmarks"


def as_json(value):
    """A config value as one shell-quoted JSON argument for a krelectra command."""
    return shlex.quote(json.dumps(value, ensure_ascii=False, sort_keys=True))


# Corpus sources are resolved (globs expanded, package paths located) once, when the
# workflow is parsed, so a missing file stops the run before any job starts.
try:
    SOURCES = resolve_sources(config["corpus"]["sources"])
except KrelectraError as error:
    raise WorkflowError(f"config corpus.sources: {error}")

SHARDS = [f"{i:05d}" for i in range(config["corpus"]["num_shards"])]


def source_spec(name):
    """The resolved corpus source called `name` (a wildcard of the partition rule)."""
    return next(s for s in SOURCES if s.name == name)


wildcard_constraints:
    shard=r"\d{5}",
    source=r"[A-Za-z0-9_.-]+",
