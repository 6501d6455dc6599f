"""Digests of one rule output: its bytes, and for numeric outputs what the bytes hold.

- every file: size and SHA-256 of its bytes;
- JSON and JSON Lines files that record how long or where a job ran (`RUN_RECORDS`): also
  the SHA-256 of their content without those records, so two runs that computed the same
  thing in different times compare equal;
- TensorFlow checkpoints (on the `.index` file, which names the checkpoint) and safetensors
  files: a digest of the tensor values (name, dtype, shape and little-endian C-order bytes
  of every tensor, sorted by name), and per tensor its digest and L2 norm, so a
  re-serialisation that keeps every value is told apart from a change of values;
- finetuning `metrics.json`: the test scores of each protocol, so two runs can be compared
  score by score.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from krelectra.errors import KrelectraError

SHORT = 16  # hex digits shown in tables and reports; manifests keep all 64
CHUNK = 1 << 20

# Key paths (a "*" step matches every item of a list) of what JSON outputs record about the
# job rather than what it computed: wall-clock times and rates, the process's environment
# (threads, kernels, versions), the absolute path of the data folder.
RUN_RECORDS: tuple[tuple[str, ...], ...] = (
    ("timing",),  # finetune metrics.json (krelectra.finetune.train)
    ("points", "*", "train_seconds"),  # each save point's (krelectra.finetune.train)
    ("points", "*", "eval_seconds"),
    ("environment",),
    ("data", "dir"),
    ("examples_per_sec",),  # pretrain metrics.jsonl (krelectra.pretrain.train)
    ("tokens_per_sec",),
)
JSON_SUFFIXES = (".json", ".jsonl")
SAFETENSORS_SUFFIX = ".safetensors"
CHECKPOINT_INDEX_SUFFIX = ".index"
FINETUNE_METRICS = "metrics.json"


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _drop(value: Any, path: tuple[str, ...]) -> Any:
    """`value` without the key path `path` (a copy where something is removed)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(value, list) and head == "*":
        return [_drop(item, rest) for item in value]
    if isinstance(value, dict) and head in value:
        if not rest:
            return {k: v for k, v in value.items() if k != head}
        return {**value, head: _drop(value[head], rest)}
    return value


def without_run_records(value: Any) -> Any:
    """A JSON document without the `RUN_RECORDS` key paths."""
    for path in RUN_RECORDS:
        value = _drop(value, path)
    return value


def _json_documents(path: Path) -> list[Any] | None:
    """The document of a .json file or the documents of a .jsonl file; None if not JSON."""
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".jsonl":
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        return [json.loads(text)]
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


def content_sha256(path: Path) -> str | None:
    """SHA-256 of a JSON / JSON Lines file's content without run records (canonical JSON:
    sorted keys, no spaces, a document a line), or None when the file holds none (its byte
    digest then says it all) or is not JSON."""
    documents = _json_documents(path)
    if documents is None:
        return None
    kept = [without_run_records(document) for document in documents]
    if kept == documents:
        return None
    text = "\n".join(json.dumps(d, sort_keys=True, ensure_ascii=False, separators=(",", ":")) for d in kept)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _little_endian_bytes(value: np.ndarray) -> bytes:
    if value.dtype.kind in "OSU":  # string tensors (TensorFlow's object arrays of bytes)
        items = [item if isinstance(item, bytes) else str(item).encode("utf-8") for item in value.ravel()]
        return b"".join(len(item).to_bytes(8, "little") + item for item in items)
    return np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<")).tobytes()


def tensor_digests(tensors: Iterable[tuple[str, np.ndarray]]) -> dict:
    """{"values_sha256": digest of all tensors, "tensors": {name: {"sha256" (16 hex),
    "dtype", "shape", "l2"}}} of named arrays. The digest covers each tensor's name, dtype
    name, shape and values (little-endian, C order), in name order, so it does not depend
    on the file format or the order of the tensors in the file. `l2` is the Euclidean norm
    in float64 (None for strings): two runs' norms bound the size of a change from below,
    |‖a‖ − ‖b‖| ≤ ‖a − b‖, where only their manifests are at hand."""
    whole = hashlib.sha256()
    table = {}
    for name, value in sorted(tensors, key=lambda item: item[0]):
        value = np.asarray(value)
        header = json.dumps([name, value.dtype.name, list(value.shape)]).encode("utf-8")
        one = hashlib.sha256(header + b"\0" + _little_endian_bytes(value)).hexdigest()
        whole.update(bytes.fromhex(one))
        numeric = value.dtype.kind in "biuf"
        l2 = float(np.linalg.norm(value.astype(np.float64).ravel())) if numeric and value.size else None
        table[name] = {"sha256": one[:SHORT], "dtype": value.dtype.name, "shape": list(value.shape), "l2": l2}
    return {"values_sha256": whole.hexdigest(), "tensors": table}


def checkpoint_prefix(index: Path) -> Path:
    """The prefix TensorFlow opens a checkpoint by (`model.ckpt` for `model.ckpt.index`)."""
    return index.with_name(index.name.removesuffix(CHECKPOINT_INDEX_SUFFIX))


def is_checkpoint_index(path: Path) -> bool:
    """A TensorFlow checkpoint's `.index` file with its data shard(s) beside it."""
    prefix = checkpoint_prefix(path)
    return path.name.endswith(CHECKPOINT_INDEX_SUFFIX) and any(path.parent.glob(f"{prefix.name}.data-*-of-*"))


def read_tensors(path: Path) -> Iterator[tuple[str, np.ndarray]]:
    """(name, value) of every tensor of a safetensors file or of the TensorFlow checkpoint
    whose `.index` file `path` is. Raises KrelectraError naming the file when it cannot be read."""
    try:
        if path.suffix == SAFETENSORS_SUFFIX:
            from safetensors import safe_open

            with safe_open(str(path), framework="numpy") as handle:
                for name in handle.keys():  # noqa: SIM118 (a safetensors handle, not a dict)
                    yield name, handle.get_tensor(name)
            return
        import tensorflow as tf

        reader = tf.train.load_checkpoint(str(checkpoint_prefix(path)))
        for name in reader.get_variable_to_dtype_map():
            yield name, np.asarray(reader.get_tensor(name))
    except KrelectraError:
        raise
    except Exception as error:  # the libraries' own errors for a damaged or foreign file
        raise KrelectraError(f"{path}: cannot read its tensors ({type(error).__name__}: {error})") from None


def has_tensors(path: Path) -> bool:
    return path.suffix == SAFETENSORS_SUFFIX or is_checkpoint_index(path)


def finetune_scores(path: Path) -> dict | None:
    """{protocol: {metric: test score}} of a finetuning job's metrics.json, else None."""
    if path.name != FINETUNE_METRICS:
        return None
    documents = _json_documents(path)
    if not documents or not isinstance(documents[0], dict):
        return None
    protocols = documents[0].get("protocols")
    if not isinstance(protocols, dict):
        return None
    return {
        name: dict(chosen["test"])
        for name, chosen in protocols.items()
        if isinstance(chosen, dict) and "test" in chosen
    }


def file_entry(path: Path, results: Path) -> dict:
    """The manifest entry of one output file: its path relative to the results folder,
    bytes, SHA-256 and, where they apply, the content digest, tensor digests and scores."""
    entry: dict[str, Any] = {
        "path": Path(os.path.relpath(path, results)).as_posix(),
        "bytes": path.stat().st_size,
        "sha256": sha256_file(path),
    }
    if path.suffix in JSON_SUFFIXES and (content := content_sha256(path)) is not None:
        entry["content_sha256"] = content
    if has_tensors(path):
        entry.update(tensor_digests(read_tensors(path)))
    if (scores := finetune_scores(path)) is not None:
        entry["scores"] = scores
    return entry


def max_abs_difference(a: Path, b: Path) -> tuple[float, str | None, int]:
    """(largest |a − b| over all tensors both files hold with equal shapes, the tensor where
    it is, how many tensors differ in any value) for two tensor files of the same kind."""
    left = dict(read_tensors(a))
    worst, where, differing = 0.0, None, 0
    for name, value in read_tensors(b):
        other = left.get(name)
        if other is None or other.shape != value.shape or value.dtype.kind not in "biuf":
            continue
        delta = np.abs(other.astype(np.float64) - value.astype(np.float64))
        largest = float(delta.max()) if delta.size else 0.0
        if largest > 0 or math.isnan(largest):
            differing += 1
        if largest > worst:
            worst, where = largest, name
    return worst, where, differing
