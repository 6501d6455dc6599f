"""Which epoch's test numbers a run reports.

- `paper`: what the reference code did (KR-ELECTRA finetuned with KoELECTRA's scripts):
  the test file is evaluated at every checkpoint and the best test value is reported.
  This selects on the test set, so it is optimistic; it is recorded to compare with the
  published table.
- `clean`: the epoch is chosen on the dev split (carved out of train where the task has
  no dev file) and the test value at that epoch is reported.

Both take the headline metric (the task's first metric); ties go to the earliest epoch.
"""

from __future__ import annotations

PROTOCOLS = ("paper", "clean")
_SELECT_ON = {"paper": "test", "clean": "dev"}


def select_epoch(epochs: list[dict], protocol: str, headline: str) -> dict:
    """The entry of `epochs` (each {"epoch", "dev": {metric: value}, "test": {...}})
    that `protocol` reports."""
    if protocol not in _SELECT_ON:
        raise ValueError(f"unknown protocol {protocol!r} (known: {', '.join(PROTOCOLS)})")
    if not epochs:
        raise ValueError("no evaluated epochs to select from")
    split = _SELECT_ON[protocol]

    def score(entry: dict) -> float:
        value = entry[split][headline]
        return float("-inf") if value != value else value  # NaN (e.g. constant predictions) ranks last

    best = epochs[0]
    for entry in epochs[1:]:
        if score(entry) > score(best):
            best = entry
    return best


def report(epochs: list[dict], headline: str, protocols=PROTOCOLS) -> dict:
    """{protocol: {"epoch", "selected_on", "dev", "test"}} for each protocol."""
    out = {}
    for protocol in protocols:
        entry = select_epoch(epochs, protocol, headline)
        out[protocol] = {
            "epoch": entry["epoch"],
            "selected_on": _SELECT_ON[protocol],
            "dev": entry["dev"],
            "test": entry["test"],
        }
    return out
