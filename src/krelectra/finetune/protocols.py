"""Which evaluation point's test numbers a run reports.

A run scores dev and test at its save points (save_points.py: every `save_steps`
optimizer steps, where the reference saved and evaluated its checkpoints).

- `paper`: what the reference code did (KR-ELECTRA finetuned with KoELECTRA's scripts):
  the test file is evaluated at every saved checkpoint and the best test value is
  reported (spec tasks.md, "Which checkpoints"). This selects on the test set, so it is
  optimistic; it is recorded to compare with the published table.
- `clean`: the point is chosen on the dev split (carved out of train where the task has
  no dev file) and the test value at that point is reported.

Both take the headline metric (the task's first metric); ties go to the earliest point.
"""

from __future__ import annotations

PROTOCOLS = ("paper", "clean")
_SELECT_ON = {"paper": "test", "clean": "dev"}


def select_point(points: list[dict], protocol: str, headline: str) -> dict:
    """The entry of `points` (each {"step", "epoch", "dev": {metric: value}, "test": {...}},
    in step order) that `protocol` reports. Raises ValueError for an unknown protocol or
    no points."""
    if protocol not in _SELECT_ON:
        raise ValueError(f"unknown protocol {protocol!r} (known: {', '.join(PROTOCOLS)})")
    if not points:
        raise ValueError("no evaluated points to select from")
    split = _SELECT_ON[protocol]

    def score(entry: dict) -> float:
        value = entry[split][headline]
        return float("-inf") if value != value else value  # NaN (e.g. constant predictions) ranks last

    best = points[0]
    for entry in points[1:]:
        if score(entry) > score(best):
            best = entry
    return best


def report(points: list[dict], headline: str, protocols=PROTOCOLS) -> dict:
    """{protocol: {"step", "epoch", "selected_on", "dev", "test"}} for each protocol."""
    out = {}
    for protocol in protocols:
        entry = select_point(points, protocol, headline)
        out[protocol] = {
            "step": entry["step"],
            "epoch": entry["epoch"],
            "selected_on": _SELECT_ON[protocol],
            "dev": entry["dev"],
            "test": entry["test"],
        }
    return out
