#!/usr/bin/env bash
# Install the project into .venv and run the workflow on the embedded default
# (a small corpus and model; minutes on a 2-core laptop CPU). Arguments are passed to
# snakemake; without any, it builds the tables and the figures (paper_tables
# paper_figures: paper/tables/ and paper/figures/) and ends by saying where they are.
# Ctrl-C stops every running job within seconds; running it again resumes.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version' 
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
export HF_HUB_OFFLINE=1
if [ $# -gt 0 ]; then
    exec .venv/bin/snakemake --cores all "$@"
fi
.venv/bin/snakemake --cores all paper_tables paper_figures
cat <<'EOF'

Done. The results of the embedded default:
  paper/tables/    results, model, pretraining, corpus, contamination and finetuning tables (.tex, .md, .html)
  paper/figures/   pretraining and finetuning curves, scores against the published ones, vocabulary (.pdf, .png)
  results/         every rule's output, with its log under results/logs/
Look at them:
  .venv/bin/krelectra paper show               the tables, on this terminal
  .venv/bin/snakemake --report report.html     report.html: the tables and figures with their captions
EOF
