"""Checkpoints in the original TF1 name-based format of the ELECTRA recipe.

A checkpoint is `<prefix>.index` + `<prefix>.data-00000-of-00001` written by the SaveV2
op with the reference variable names (`electra/encoder/layer_0/...`, `global_step`,
`<variable>/adam_m`, `<variable>/adam_v`), readable by `tf.train.list_variables` and
`tf.train.load_checkpoint`, and by the TF1 reference code. A folder's `checkpoint` file
(the TF1 "CheckpointState" text) names its latest checkpoint.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np
import tensorflow as tf

from krelectra.errors import KrelectraError
from krelectra.io import atomic_open

log = logging.getLogger(__name__)

DATA_SUFFIX = ".data-00000-of-00001"
INDEX_SUFFIX = ".index"
OPTIMIZER_SUFFIXES = ("/adam_m", "/adam_v")


def checkpoint_variables(model, optimizer=None) -> dict[str, tf.Variable]:
    """{checkpoint name: variable} for the model, plus global_step and slots if given."""
    named = dict(model.named_variables)
    if optimizer is not None:
        named.update(optimizer.named_slots)
        named["global_step"] = optimizer.global_step
    return named


def _write(prefix: Path, tensors: dict[str, tf.Tensor]) -> None:
    """SaveV2 to a temporary prefix beside `prefix`, then rename data, then index: a
    killed process never leaves a truncated checkpoint under the final name."""
    prefix.parent.mkdir(parents=True, exist_ok=True)
    tmp = prefix.parent / f".tmp-{prefix.name}-{os.getpid()}"
    names = sorted(tensors)
    tf.raw_ops.SaveV2(
        prefix=str(tmp),
        tensor_names=names,
        shape_and_slices=[""] * len(names),
        tensors=[tensors[name] for name in names],
    )
    os.replace(f"{tmp}{DATA_SUFFIX}", f"{prefix}{DATA_SUFFIX}")
    os.replace(f"{tmp}{INDEX_SUFFIX}", f"{prefix}{INDEX_SUFFIX}")


def save_tf1(model, optimizer_or_none, prefix: str | os.PathLike, global_step: int) -> str:
    """Write a TF1 checkpoint of the model (+ adam_m/adam_v slots when an optimizer is
    given) with `global_step` = global_step. Returns the prefix."""
    tensors = {name: tf.convert_to_tensor(var) for name, var in model.named_variables.items()}
    if optimizer_or_none is not None:
        tensors.update({name: tf.convert_to_tensor(var) for name, var in optimizer_or_none.named_slots.items()})
    tensors["global_step"] = tf.constant(int(global_step), tf.int64)
    _write(Path(prefix), tensors)
    return str(prefix)


def _reader(prefix: str | os.PathLike):
    """A reader of the checkpoint; its `get_tensor` raises KrelectraError naming the data
    file and the variable when the data file is truncated or corrupt."""
    if not Path(f"{prefix}{INDEX_SUFFIX}").is_file():
        raise KrelectraError(
            f"{prefix}: no TF1 checkpoint here (expected {prefix}{INDEX_SUFFIX} and {prefix}{DATA_SUFFIX})"
        )
    try:
        return _CheckedReader(tf.train.load_checkpoint(str(prefix)), str(prefix))
    except (tf.errors.OpError, ValueError) as error:
        reason = error.message if isinstance(error, tf.errors.OpError) else str(error)
        raise KrelectraError(f"{prefix}{INDEX_SUFFIX}: not a readable TF checkpoint index ({reason})") from None


class _CheckedReader:
    def __init__(self, reader, prefix: str) -> None:
        self._reader, self._prefix = reader, prefix

    def get_variable_to_shape_map(self) -> dict:
        return self._reader.get_variable_to_shape_map()

    def get_tensor(self, name: str):
        try:
            return self._reader.get_tensor(name)
        except (tf.errors.OpError, IndexError, ValueError) as error:
            reason = error.message if isinstance(error, tf.errors.OpError) else str(error)
            raise KrelectraError(
                f"{self._prefix}{DATA_SUFFIX}: cannot read variable {name} (truncated or corrupt file: {reason})"
            ) from None


def open_checkpoint(prefix: str | os.PathLike):
    """A reader of a TF1 checkpoint (`get_variable_to_shape_map`, `get_tensor`) whose errors
    are KrelectraErrors naming the file: no index, an unreadable index, a truncated or
    corrupt data file (found when a variable is read)."""
    return _reader(prefix)


def _assign_all(variables: dict[str, tf.Variable], prefix) -> set[str]:
    """Assign every variable from the checkpoint; error on any missing or misshapen one.
    Returns the checkpoint's names that were not used."""
    reader = _reader(prefix)
    shapes = reader.get_variable_to_shape_map()
    missing = [name for name in variables if name not in shapes]
    if missing:
        raise KrelectraError(
            f"{prefix}: the checkpoint lacks {len(missing)} variable(s) this model needs, "
            f"e.g. {', '.join(missing[:5])} (is it a checkpoint of another model size?)"
        )
    for name, var in variables.items():
        if list(shapes[name]) != var.shape.as_list():
            raise KrelectraError(
                f"{prefix}: variable {name} has shape {list(shapes[name])} in the checkpoint "
                f"but {var.shape.as_list()} in this model (model config differs)"
            )
    for name, var in variables.items():
        var.assign(np.asarray(reader.get_tensor(name)).astype(var.dtype.as_numpy_dtype))
    return set(shapes) - set(variables)


def restore_tf1(model, checkpoint_prefix: str | os.PathLike) -> None:
    """Load every model weight from a TF1 checkpoint (optimizer slots and global_step in
    it are ignored). A weight the checkpoint lacks is an error, never silently skipped."""
    unused = _assign_all(model.named_variables, checkpoint_prefix)
    other = sorted(name for name in unused if name != "global_step" and not name.endswith(OPTIMIZER_SUFFIXES))
    if other:
        log.warning(
            "%s: %d checkpoint variable(s) are not part of this model and were not loaded: %s",
            checkpoint_prefix,
            len(other),
            ", ".join(other[:10]),
        )


def restore_training_state(model, optimizer, checkpoint_prefix: str | os.PathLike) -> int:
    """Load model weights, adam slots and global_step (to resume a run). Returns the step."""
    _assign_all(checkpoint_variables(model, optimizer), checkpoint_prefix)
    return int(optimizer.global_step.numpy())


def checkpoint_step(prefix: str | os.PathLike) -> int:
    return int(_reader(prefix).get_tensor("global_step"))


# -- the folder's `checkpoint` state file ------------------------------------------------


def write_checkpoint_state(directory: str | os.PathLike, latest: str, all_names: list[str]) -> None:
    """Write `<directory>/checkpoint` (paths relative to the folder, as TF1 did)."""
    lines = [f'model_checkpoint_path: "{latest}"']
    lines += [f'all_model_checkpoint_paths: "{name}"' for name in all_names]
    with atomic_open(Path(directory) / "checkpoint") as handle:
        handle.write("\n".join(lines) + "\n")


def read_checkpoint_state(directory: str | os.PathLike) -> tuple[str | None, list[str]]:
    """(latest checkpoint name, all names) from `<directory>/checkpoint`, or (None, [])."""
    path = Path(directory) / "checkpoint"
    if not path.is_file():
        return None, []
    latest, names = None, []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r'\s*(model_checkpoint_path|all_model_checkpoint_paths):\s*"(.*)"\s*', line)
        if match and match.group(1) == "model_checkpoint_path":
            latest = match.group(2)
        elif match:
            names.append(match.group(2))
    return latest, names


class CheckpointRotation:
    """Working checkpoints `model.ckpt-<step>` in one folder, keeping the newest `keep_max`."""

    def __init__(self, directory: str | os.PathLike, keep_max: int):
        self.directory = Path(directory)
        self.keep_max = max(1, keep_max)
        self.directory.mkdir(parents=True, exist_ok=True)
        for leftover in self.directory.glob(".tmp-*"):  # from a killed save
            leftover.unlink()

    def latest(self) -> Path | None:
        latest, _ = read_checkpoint_state(self.directory)
        if latest is None:
            return None
        prefix = self.directory / latest
        return prefix if Path(f"{prefix}{INDEX_SUFFIX}").is_file() else None

    def save(self, model, optimizer, step: int) -> Path:
        name = f"model.ckpt-{step}"
        save_tf1(model, optimizer, self.directory / name, step)
        _, names = read_checkpoint_state(self.directory)
        names = [n for n in names if n != name and Path(f"{self.directory / n}{INDEX_SUFFIX}").is_file()] + [name]
        names.sort(key=lambda n: int(n.rsplit("-", 1)[1]))
        keep, drop = names[-self.keep_max :], names[: -self.keep_max]
        write_checkpoint_state(self.directory, name, keep)
        for old in drop:
            for suffix in (INDEX_SUFFIX, DATA_SUFFIX):
                Path(f"{self.directory / old}{suffix}").unlink(missing_ok=True)
        return self.directory / name
