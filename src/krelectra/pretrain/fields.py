"""One way to build the pretraining config classes (`PretrainConfig`, `ModelConfig`,
`OptimizerConfig`, `Objective`): from a mapping, every key checked in one place.

As google-research/electra's `PretrainingConfig.update()` does, a key that is not a field
of the class is an error that names it, rather than a value silently dropped; here a
missing required field and a value of the wrong type are errors too, and a field that is
itself a dataclass is built from a nested mapping the same way."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from krelectra.errors import KrelectraError

T = TypeVar("T")


def from_mapping(cls: type[T], data: object, where: str) -> T:
    """`cls(**data)` for the dataclass `cls`, checked key by key.

    `where` names the mapping in errors ("config pretrain", a file's path); a nested
    dataclass field `name` is reported as `{where}.{name}`. Integers are accepted for
    float fields (and converted). Raises KrelectraError for a non-mapping, unknown keys,
    missing required keys, or a value of the wrong type."""
    if not isinstance(data, Mapping):
        raise KrelectraError(f"{where}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {field.name: field for field in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise KrelectraError(f"{where}: unknown key(s) {', '.join(unknown)}")
    missing = [
        name
        for name, field in fields.items()
        if name not in data and field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise KrelectraError(f"{where}: missing key(s) {', '.join(missing)}")
    values: dict[str, Any] = {}
    for name, value in data.items():
        hint = hints[name]
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            values[name] = from_mapping(hint, value, f"{where}.{name}")
        else:
            values[name] = _checked(value, hint, where, name)
    return cls(**values)


def from_fields(cls: type[T], source: object, where: str, **extra: Any) -> T:
    """The dataclass `cls` built (by `from_mapping`) from the attributes of `source` that
    are fields of `cls`, with `extra` added: a smaller config taken from a larger one
    (an `OptimizerConfig` from the `pretrain.train` section) without copying field by field."""
    names = [field.name for field in dataclasses.fields(cls)]  # type: ignore[arg-type]
    taken = {name: getattr(source, name) for name in names if name not in extra and hasattr(source, name)}
    return from_mapping(cls, {**taken, **extra}, where)


def _checked(value: object, hint: Any, where: str, name: str) -> object:
    allowed = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    if value is None and type(None) in allowed:
        return None
    if float in allowed and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    for kind in allowed:
        base = typing.get_origin(kind) or kind  # tuple[int, ...] is checked as a tuple
        if base is type(None) or not isinstance(base, type):
            continue
        if isinstance(value, base) and not (base is int and isinstance(value, bool)):
            return value
    expected = hint.__name__ if isinstance(hint, type) else str(hint)  # "int", "int | None"
    raise KrelectraError(f"{where}: {name}={value!r} is not of type {expected}")
