"""`krelectra compare A B`: two runs' manifests side by side, rule by rule in the workflow's
order (the order the manifest lists them), naming the first rule whose outputs differ.

Each file of a rule is one of:

- equal: same bytes;
- equal apart from run records: the bytes differ only in times, rates or the environment
  a JSON output records (digests.RUN_RECORDS);
- same values: a checkpoint or safetensors file written differently, every tensor equal;
- differs: for tensor files with how many tensors differ and the largest |Δ| of a weight
  (computed from both files where both runs' folders hold them unchanged, else bounded from
  below by the change of L2 norms in the manifests); for finetuning metrics the Δ of each
  test score; and files only one run has.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from krelectra.manifest.digests import SHORT, max_abs_difference, sha256_file
from krelectra.manifest.record import comparable_digest

EQUAL = "equal"
RUN_RECORDS = "equal apart from run records"
SAME_VALUES = "same values, other bytes"
DIFFERS = "differs"
ONLY_A = "only in A"
ONLY_B = "only in B"
EQUIVALENT = (EQUAL, RUN_RECORDS, SAME_VALUES)


@dataclasses.dataclass
class FileResult:
    path: str
    status: str
    details: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class RuleResult:
    rule: str
    files: list[FileResult]

    @property
    def differs(self) -> bool:
        return any(f.status not in EQUIVALENT for f in self.files)


def _local(root: Path | None, entry: dict) -> Path | None:
    """The run's file of `entry` when it is still what the manifest recorded."""
    if root is None:
        return None
    path = root / entry["path"]
    return path if path.is_file() and sha256_file(path) == entry["sha256"] else None


def _tensor_details(a: dict, b: dict, a_root: Path | None, b_root: Path | None) -> list[str]:
    ta, tb = a.get("tensors", {}), b.get("tensors", {})
    changed = sorted(n for n in ta.keys() & tb.keys() if ta[n]["sha256"] != tb[n]["sha256"])
    details = [f"tensor values differ: {len(changed)} of {len(ta.keys() | tb.keys())} tensors"]
    if ta.keys() != tb.keys():
        details.append(f"tensors only in A: {len(ta.keys() - tb.keys())}, only in B: {len(tb.keys() - ta.keys())}")
    left, right = _local(a_root, a), _local(b_root, b)
    if left is not None and right is not None:
        worst, where, _ = max_abs_difference(left, right)
        details.append(f"max |Δ| of a weight {worst:.3g} (in {where})")
    else:
        bounds = [
            (abs(ta[n]["l2"] - tb[n]["l2"]), n)
            for n in changed
            if ta[n].get("l2") is not None and tb[n].get("l2") is not None
        ]
        if bounds:
            bound, where = max(bounds)
            details.append(
                f"‖Δ‖₂ of a tensor ≥ {bound:.3g} (change of L2 norm, {where}; give both run folders for max |Δ|)"
            )
    if changed:
        details.append(f"first differing tensor: {changed[0]}")
    return details


def _score_details(a: dict, b: dict) -> list[str]:
    details = []
    for protocol in sorted(a["scores"].keys() & b["scores"].keys()):
        sa, sb = a["scores"][protocol], b["scores"][protocol]
        deltas = []
        for metric in sorted(sa.keys() & sb.keys()):
            va, vb = sa[metric], sb[metric]
            if isinstance(va, int | float) and isinstance(vb, int | float) and va != vb:
                deltas.append(f"{metric} {va:.4g} → {vb:.4g} (Δ {vb - va:+.4g})")
        if deltas:
            details.append(f"{protocol} test: " + ", ".join(deltas))
    return details


def compare_entries(a: dict, b: dict, a_root: Path | None = None, b_root: Path | None = None) -> FileResult:
    """How one file of two runs compares (statuses in the module docstring)."""
    if a["sha256"] == b["sha256"]:
        return FileResult(a["path"], EQUAL)
    if "values_sha256" in a and "values_sha256" in b:
        if a["values_sha256"] == b["values_sha256"]:
            return FileResult(a["path"], SAME_VALUES)
        return FileResult(a["path"], DIFFERS, _tensor_details(a, b, a_root, b_root))
    if comparable_digest(a) == comparable_digest(b) and "content_sha256" in a:
        return FileResult(a["path"], RUN_RECORDS)
    details = [
        f"sha256 {comparable_digest(a)[:SHORT]} → {comparable_digest(b)[:SHORT]}, {a['bytes']:,} → {b['bytes']:,} bytes"
    ]
    if "scores" in a and "scores" in b:
        details += _score_details(a, b)
    return FileResult(a["path"], DIFFERS, details)


def merged_order(a: list[str], b: list[str]) -> list[str]:
    """The rules of two manifests in one workflow order: A's order, with each rule that only
    B has placed right after the rule B lists before it (at the start when it is B's first),
    so that a stage one run has and the other lacks is found where it runs."""
    order = list(a)
    for index, name in enumerate(b):
        if name not in order:
            before = next((b[i] for i in range(index - 1, -1, -1) if b[i] in order), None)
            order.insert(0 if before is None else order.index(before) + 1, name)
    return order


def compare_manifests(a: dict, b: dict, a_root: Path | None = None, b_root: Path | None = None) -> list[RuleResult]:
    """Rule by rule in the workflow's order (`merged_order`), file by file in path order."""
    rules_b = {rule["rule"]: rule for rule in b["rules"]}
    order = merged_order([rule["rule"] for rule in a["rules"]], [rule["rule"] for rule in b["rules"]])
    rules_a = {rule["rule"]: rule for rule in a["rules"]}
    results = []
    for name in order:
        files_a = {e["path"]: e for e in rules_a.get(name, {"files": []})["files"]}
        files_b = {e["path"]: e for e in rules_b.get(name, {"files": []})["files"]}
        files = []
        for path in sorted(files_a.keys() | files_b.keys()):
            if path not in files_b:
                files.append(FileResult(path, ONLY_A))
            elif path not in files_a:
                files.append(FileResult(path, ONLY_B))
            else:
                files.append(compare_entries(files_a[path], files_b[path], a_root, b_root))
        results.append(RuleResult(name, files))
    return results


def first_difference(results: list[RuleResult]) -> RuleResult | None:
    """The first rule, in the workflow's order, whose outputs differ (None: the runs agree)."""
    return next((rule for rule in results if rule.differs), None)


def report(results: list[RuleResult], a_name: str, b_name: str, every_file: bool = False, limit: int = 8) -> str:
    """The comparison as text: the verdict (the first differing rule), then one line per
    rule and the differing files of each (at most `limit` per rule unless `every_file`)."""
    first = first_difference(results)
    lines = [f"A: {a_name}", f"B: {b_name}"]
    if first is None:
        lines.append("The runs agree: every rule's outputs are equal.")
    else:
        lines.append(f"First difference, in the workflow's order: rule {first.rule}.")
    width = max((len(r.rule) for r in results), default=0)
    for rule in results:
        counts: dict[str, int] = {}
        for f in rule.files:
            counts[f.status] = counts.get(f.status, 0) + 1
        summary = ", ".join(f"{n} {status}" for status, n in counts.items())
        lines.append(f"  {rule.rule:<{width}}  {'DIFFERS' if rule.differs else 'equal'}: {summary}")
        shown = [f for f in rule.files if every_file or f.status not in EQUIVALENT]
        for f in shown[: None if every_file else limit]:
            lines.append(f"      {f.path}: {f.status}" + "".join(f"\n        {d}" for d in f.details))
        if not every_file and len(shown) > limit:
            lines.append(f"      ... and {len(shown) - limit} more (--all lists every file)")
    return "\n".join(lines) + "\n"
