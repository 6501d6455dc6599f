#!/usr/bin/env bash
# Install the project with its test extra into .venv, cffconvert into its own
# .venv-tools (it pins an old jsonschema that Snakemake cannot use), and run the tests:
# the fast lane, then the slow lane (or pytest with the arguments given).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version'
# System packages: SLURM + munge (tests/test_slurm.py starts a one-node cluster) and
# latexmk + XeLaTeX + kotex (the paper PDF test), both in the slow lane. Installed when
# missing and we may, just before tests that may use them run: the fast lane needs only
# the Python install.
PACKAGES="slurm-wlm munge latexmk texlive-xetex texlive-lang-korean poppler-utils"
system_packages() {
    if ! command -v slurmctld >/dev/null || ! command -v latexmk >/dev/null || ! command -v xelatex >/dev/null; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            echo "== installing $PACKAGES (apt-get) for the SLURM and PDF tests" >&2
            DEBIAN_FRONTEND=noninteractive apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $PACKAGES > /dev/null
        else
            echo "warning: install $PACKAGES (Debian names) for the SLURM and PDF tests" >&2
        fi
    fi
}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
[ -x .venv-tools/bin/python ] || "$PYTHON" -m venv .venv-tools
.venv-tools/bin/python -m pip install --quiet cffconvert==2.0.0
export HF_HUB_OFFLINE=1 CFFCONVERT="$PWD/.venv-tools/bin/cffconvert" PATH="$PWD/.venv/bin:$PATH"
# With arguments: pytest with those arguments (and pyproject's addopts), with the system
# packages unless they select the fast lane only (-m "not slow"). Without: the two lanes,
# the fast lane first (unit tests and linters, about 2 minutes on 2 cores: a broken import
# or a lint error fails in seconds), then the system packages and the slow lane (real
# Snakemake runs and training); a failing lane stops the script before the next one starts.
if [ "$#" -gt 0 ]; then
    case " $* " in
    *"not slow"*) ;;
    *) system_packages ;;
    esac
    exec .venv/bin/python -m pytest "$@"
fi
echo "== fast lane: pytest -m 'not slow'" >&2
.venv/bin/python -m pytest -m "not slow"
system_packages
echo "== slow lane: pytest -m slow" >&2
exec .venv/bin/python -m pytest -m slow
