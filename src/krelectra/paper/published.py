"""The published numbers (paper/published.yaml): the results table of the KR-ELECTRA
README (its baseline rows taken from KoELECTRA) and the release notes' hyperparameters.
Every number carries the key of its source; this module checks the file's shape so a
typo names the file and the key instead of surfacing as a KeyError in a table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from krelectra.errors import KrelectraError


@dataclass(frozen=True)
class ResultColumn:
    task: str
    label: str
    unit: str
    metrics: tuple[str, ...]  # one, or two for KorQuAD (exact_match, f1)


@dataclass(frozen=True)
class Number:
    value: float
    source: str


@dataclass(frozen=True)
class PublishedRow:
    model: str
    source: str
    origin: str
    scores: dict[tuple[str, str], Number]  # (task, metric) -> number


@dataclass(frozen=True)
class Published:
    path: Path
    sources: dict[str, dict]
    columns: tuple[ResultColumn, ...]
    rows: tuple[PublishedRow, ...]
    model: dict
    pretraining: dict

    def row(self, model: str) -> PublishedRow:
        for row in self.rows:
            if row.model == model:
                return row
        raise KrelectraError(
            f"{self.path}: no published results row for model {model!r} (rows: {', '.join(r.model for r in self.rows)})"
        )

    def source_title(self, key: str) -> str:
        return self.sources[key]["title"]


def _need(mapping, key: str, where: str, kind=None):
    if not isinstance(mapping, dict) or key not in mapping:
        raise KrelectraError(f"{where}: missing key {key!r}")
    value = mapping[key]
    if kind is not None and not isinstance(value, kind):
        raise KrelectraError(f"{where}.{key}: expected {getattr(kind, '__name__', kind)}, got {value!r}")
    return value


def _number(value, default_source: str, sources: dict, where: str) -> Number:
    source = default_source
    if isinstance(value, dict):
        source = _need(value, "source", where, str)
        value = _need(value, "value", where)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise KrelectraError(f"{where}: expected a number, got {value!r}")
    if source not in sources:
        raise KrelectraError(f"{where}: unknown source {source!r} (known: {', '.join(sources)})")
    return Number(float(value), source)


def load_published(path: str | Path) -> Published:
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise KrelectraError(f"{path}: cannot read the published numbers: {error}") from None
    where = str(path)
    sources = _need(data, "sources", where, dict)
    for key, entry in sources.items():
        _need(entry, "title", f"{where}: sources.{key}", str)
        _need(entry, "url", f"{where}: sources.{key}", str)

    columns = []
    for i, column in enumerate(_need(data, "columns", where, list)):
        at = f"{where}: columns[{i}]"
        metrics = _need(column, "metrics", at, list)
        if not metrics or not all(isinstance(m, str) for m in metrics):
            raise KrelectraError(f"{at}.metrics: expected a list of metric names")
        columns.append(
            ResultColumn(
                _need(column, "task", at, str),
                _need(column, "label", at, str),
                str(column.get("unit", "")),
                tuple(metrics),
            )
        )

    rows = []
    for i, row in enumerate(_need(data, "results", where, list)):
        at = f"{where}: results[{i}]"
        model = _need(row, "model", at, str)
        at = f"{where}: results[{i}] ({model})"
        source = _need(row, "source", at, str)
        origin = _need(row, "origin", at, str)
        for key in (source, origin):
            if key not in sources:
                raise KrelectraError(f"{at}: unknown source {key!r} (known: {', '.join(sources)})")
        given = _need(row, "scores", at, dict)
        scores = {}
        for column in columns:
            if column.task not in given:
                continue  # not published for this model: shown as a dash
            value = given[column.task]
            if len(column.metrics) == 1:
                scores[(column.task, column.metrics[0])] = _number(value, source, sources, f"{at}.scores.{column.task}")
            else:
                for metric in column.metrics:
                    scores[(column.task, metric)] = _number(
                        _need(value, metric, f"{at}.scores.{column.task}"),
                        source,
                        sources,
                        f"{at}.scores.{column.task}.{metric}",
                    )
        unknown = sorted(set(given) - {c.task for c in columns})
        if unknown:
            raise KrelectraError(f"{at}.scores: unknown task(s) {', '.join(unknown)}")
        rows.append(PublishedRow(model, source, origin, scores))

    model = _need(data, "model", where, dict)
    pretraining = _need(data, "pretraining", where, dict)
    for name, section in (("model", model), ("pretraining", pretraining)):
        key = _need(section, "source", f"{where}: {name}", str)
        if key not in sources:
            raise KrelectraError(f"{where}: {name}.source: unknown source {key!r}")
    for part in ("discriminator", "generator"):
        _need(model, part, f"{where}: model", dict)
    return Published(path, sources, tuple(columns), tuple(rows), model, pretraining)
