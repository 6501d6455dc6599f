#!/usr/bin/env bash
# Install the project into .venv and run the workflow on the embedded default
# (a small corpus and model; minutes on a 2-core laptop CPU). Arguments are passed to
# snakemake; without any, it builds the main target paper/tables.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version' 
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
export HF_HUB_OFFLINE=1
if [ $# -eq 0 ]; then set -- paper/tables; fi
exec .venv/bin/snakemake --cores all "$@"
