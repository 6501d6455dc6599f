"""A run's manifest: each rule's outputs with their digests, in the workflow's order.

    {"format": "krelectra-manifest/1",
     "machine": {"cpu", "isa_flags", "caches", "cpus", "system"},
     "packages": {name: version},
     "settings": {...what the workflow passed: cpu_kernels, threads},
     "rules": [{"rule": "corpus_partition", "files": [<entry>, ...]}, ...]}

Entries are those of `digests.file_entry`, paths relative to the results folder (where the
manifest itself is written), so a manifest describes a run wherever its folder lies.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

from krelectra.errors import KrelectraError
from krelectra.io import write_json
from krelectra.manifest import FORMAT, MANIFEST_FILE
from krelectra.manifest.digests import SHORT, file_entry
from krelectra.manifest.machine import describe_machine, package_versions


def _files(path: Path) -> list[Path]:
    """A declared output: the file, or every file under a directory output (sorted)."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file())
    if not path.is_file():
        raise KrelectraError(f"{path}: a rule output named for the manifest is not there")
    return [path]


def build_manifest(rules: Sequence[tuple[str, Sequence[str | os.PathLike]]], results: Path, settings: dict) -> dict:
    """The manifest of `rules` ((rule name, its output files), in the workflow's order)
    under the results folder `results`. Raises KrelectraError for a rule named twice or a
    missing output."""
    names = [name for name, _ in rules]
    if len(set(names)) != len(names):
        raise KrelectraError(f"manifest: a rule is named twice ({', '.join(names)})")
    return {
        "format": FORMAT,
        "machine": describe_machine(),
        "packages": package_versions(),
        "settings": settings,
        "rules": [
            {"rule": name, "files": [file_entry(f, results) for path in paths for f in _files(Path(path))]}
            for name, paths in rules
        ],
    }


def write_manifest(path: str | os.PathLike, manifest: dict) -> None:
    write_json(path, manifest)


def read_manifest(path: str | os.PathLike) -> tuple[dict, Path]:
    """(manifest, the folder its paths are relative to) of a manifest file or of a results
    folder holding `manifest.json`. Raises KrelectraError naming the file when it is missing
    or not a manifest."""
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST_FILE
    if not path.is_file():
        raise KrelectraError(
            f"{path}: no manifest (a run writes <results>/{MANIFEST_FILE}: snakemake --cores all manifest)"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise KrelectraError(f"{path}: not a JSON manifest ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise KrelectraError(f'{path}: not a krelectra manifest (expected "format": "{FORMAT}")')
    for position, rule in enumerate(manifest.get("rules", [])):
        if not isinstance(rule, dict) or "rule" not in rule or not isinstance(rule.get("files"), list):
            raise KrelectraError(f'{path}: rules[{position}] lacks "rule" or a "files" list')
        for entry in rule["files"]:
            if not isinstance(entry, dict) or not {"path", "bytes", "sha256"} <= entry.keys():
                raise KrelectraError(f"{path}: rule {rule['rule']}: an entry lacks path, bytes or sha256")
    return manifest, path.parent


def comparable_digest(entry: dict) -> str:
    """The digest two runs' entries are compared by: the content digest where the file
    holds run records (times, environment), else the byte digest."""
    return entry.get("content_sha256", entry["sha256"])


def rule_digest(rule: dict) -> str:
    """SHA-256 over a rule's (path, comparable digest) pairs in path order: equal for two
    runs exactly when `krelectra compare` finds the rule's outputs equal."""
    digest = hashlib.sha256()
    for entry in sorted(rule["files"], key=lambda e: e["path"]):
        digest.update(f"{entry['path']}\0{comparable_digest(entry)}\n".encode())
    return digest.hexdigest()


def machine_line(manifest: dict) -> str:
    """One line: CPU, ISA flags, caches, CPUs, kernels and threads of the manifest's run."""
    machine, settings = manifest.get("machine", {}), manifest.get("settings", {})
    caches = ", ".join(f"{k} {v}" for k, v in machine.get("caches", {}).items())
    parts = [
        machine.get("cpu", "unknown CPU"),
        f"{machine.get('cpus', '?')} CPUs",
        "flags " + " ".join(machine.get("isa_flags", [])),
    ]
    if caches:
        parts.append(f"caches {caches}")
    parts += [f"{key} {value}" for key, value in settings.items()]
    return "; ".join(parts)


def _values_cell(rule: dict) -> str:
    cells = []
    for entry in rule["files"]:
        if "values_sha256" in entry:
            cells.append(f"`{entry['path']}` values `{entry['values_sha256'][:SHORT]}`")
    return "; ".join(cells)


def markdown(manifest: dict, files: bool = False) -> str:
    """The manifest as Markdown: the machine, then one row per rule (its files, the digest
    of its outputs and, for checkpoints and safetensors, the digest of their tensor values),
    or with `files` one row per file (bytes, SHA-256 and values, first 16 hex digits)."""
    lines = [f"Machine: {machine_line(manifest)}.", ""]
    if files:
        lines += ["| rule | output | bytes | sha256 | tensor values |", "|---|---|---|---|---|"]
        for rule in manifest["rules"]:
            for entry in rule["files"]:
                values = entry.get("values_sha256", "")[:SHORT]
                lines.append(
                    f"| {rule['rule']} | `{entry['path']}` | {entry['bytes']:,} | "
                    f"`{comparable_digest(entry)[:SHORT]}` | {f'`{values}`' if values else ''} |"
                )
    else:
        lines += ["| rule | files | outputs digest | tensor values |", "|---|---|---|---|"]
        for rule in manifest["rules"]:
            lines.append(
                f"| {rule['rule']} | {len(rule['files'])} | `{rule_digest(rule)[:SHORT]}` | {_values_cell(rule)} |"
            )
    return "\n".join(lines) + "\n"
