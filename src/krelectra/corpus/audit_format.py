"""The contamination audit's file (results/corpus/contamination.json): its constants and
its reader, apart from the scan so that the paper stage reads it without the corpus
stage's dependencies. The audit itself: `krelectra.corpus.contamination.audit`."""

from __future__ import annotations

from pathlib import Path

from krelectra.errors import KrelectraError
from krelectra.io import read_json

# Llama 2's buckets (Touvron et al. 2023, arXiv 2307.09288, appendix A.6): clean under 20%
# of the example contaminated, dirty at 80% or more.
CLEAN_BELOW = 0.2
DIRTY_FROM = 0.8
# Parts of a task's split in the audit: the text of an example, or KorQuAD's two parts.
TEXT, QUESTION_ANSWERS, CONTEXTS = "text", "question+answers", "contexts"


def read_audit(path: Path) -> dict:
    """An audit written by `audit`; raises KrelectraError naming the file when it is not one."""
    try:
        data = read_json(path)
    except (OSError, ValueError) as error:
        raise KrelectraError(f"{path}: cannot read the contamination audit: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("splits"), list):
        raise KrelectraError(f"{path}: missing key 'splits' (not a contamination audit)")
    return data
