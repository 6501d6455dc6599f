"""The paper's tables, computed from rule outputs only:

- results:     the KR-ELECTRA README's results table (published rows from
               paper/published.yaml) plus one row per model x protocol of this run
               (mean ± sample sd over seeds, with n), best value per column computed
               over the rows measured on the upstream data; rows measured on other
               data (stand-in fixtures, subsampled splits, a subset of the tasks) go
               in a second panel of their own, marked, never compared; every column
               printed to the same decimal places, the published ones' (91.168) where
               they have more; with the bootstrap outputs (paper/uncertainty.py), a row
               of 95% confidence intervals under each model and † on scores that
               differ significantly from the reference model's;
- model:       discriminator and generator sizes (pretrain/final/model_config.json),
               with the release notes' table beside them;
- pretraining: the pretraining hyperparameters (pretrain/final/pretrain_config.json);
- corpus:      corpus sizes per register and source, dropped sentences by reason,
               vocabulary size, [UNK] rate and morpheme-boundary agreement;
- contamination: evaluation text found in the pretraining corpus per task and split, and
               the clean-subset scores of the models pretrained on it (paper/contamination.py);
- finetuning:  the finetuning hyperparameters per task as run (the metrics.json files).

The model, pretraining and corpus tables describe this workflow's own pretraining: a run
that evaluates released encoders only (no pretraining outputs given) has none of them.

Each table is written as LaTeX (booktabs), Markdown and HTML, and provenance.tsv lists
the files every table read with their SHA-256.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from krelectra.errors import KrelectraError
from krelectra.io import atomic_open, read_json
from krelectra.paper.config import PROTOCOL_LABELS, PaperConfig
from krelectra.paper.layout import EMPTY, FORMATS, Cell, Column, Panel, Section, Table, Value, render
from krelectra.paper.provenance import write_provenance
from krelectra.paper.published import Published, load_published

TABLES = ("results", "model", "pretraining", "corpus", "contamination", "finetuning")


# -- number formatting -------------------------------------------------------------------


def fmt_score(value: float, decimals: int) -> str:
    return EMPTY if value is None or math.isnan(value) else f"{value:.{decimals}f}"


def published_places(value: float) -> int:
    """The decimal places a published number was written with (91.168: 3; 80.7 read from
    "80.70": 1, the trailing zero is not in the float)."""
    text = repr(float(value))
    return len(text.split(".")[1]) if "." in text and "e" not in text else 0


def fmt_published(value: float, decimals: int) -> str:
    """At least `decimals` places, and every place that was published (91.168)."""
    return f"{value:.{max(decimals, published_places(value))}f}"


def fmt_count(value: int) -> str:
    return f"{int(value):,}"


def fmt_bytes(value: float) -> str:
    """Decimal units, as the corpus size is published (34GB)."""
    size = float(value)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def fmt_number(value) -> str:
    """A hyperparameter: integers with separators, small floats as 2e-4, others as given."""
    if value is None:
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return fmt_count(value) if abs(value) >= 10000 else str(value)
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) < 1e-2:
            mantissa, exponent = f"{value:.4e}".split("e")
            mantissa = mantissa.rstrip("0").rstrip(".")
            return f"{mantissa}e{int(exponent)}"
        return f"{value:g}"
    return str(value)


def fmt_percent(share: float, decimals: int = 2) -> str:
    return f"{100.0 * share:.{decimals}f}%"


def fmt_seeds(seeds) -> str:
    """41, 42, 43 -> "41–43"; gaps are listed."""
    seeds = sorted(set(seeds))
    parts, start = [], None
    for i, seed in enumerate(seeds):
        start = seed if start is None else start
        if i + 1 == len(seeds) or seeds[i + 1] != seed + 1:
            parts.append(str(seed) if seed == start else f"{start}–{seed}" if seed > start + 1 else f"{start}, {seed}")
            start = None
    return ", ".join(parts)


def _read(path: Path, what: str) -> dict:
    try:
        return read_json(path)
    except (OSError, ValueError) as error:
        raise KrelectraError(f"{path}: cannot read {what}: {error}") from None


def _get(data: dict, keys: str, path: Path):
    """data["a"]["b"] for keys "a.b", or an error naming the file and the key."""
    value = data
    for key in keys.split("."):
        if not isinstance(value, dict) or key not in value:
            raise KrelectraError(f"{path}: missing key {keys!r}")
        value = value[key]
    return value


# -- inputs ------------------------------------------------------------------------------


PRETRAINING_INPUTS = ("corpus_stats", "vocab_train", "vocab_report", "model_config", "pretrain_config", "verification")


@dataclass
class TableInputs:
    published: Path
    summaries: list[Path]
    runs: list[Path]  # finetune/{model}/{task}/seed{seed}/metrics.json
    # The pretraining side's outputs: all of them, or none (a run of released encoders only).
    corpus_stats: Path | None = None
    vocab_train: Path | None = None
    vocab_report: Path | None = None
    model_config: Path | None = None
    pretrain_config: Path | None = None
    verification: Path | None = None
    uncertainty: list[Path] = field(default_factory=list)  # paper/uncertainty/{task}.json
    # The corpus's contamination audit, and the models pretrained on that corpus.
    contamination: Path | None = None
    contamination_models: list[str] = field(default_factory=list)
    manifest: Path | None = None  # the run's manifest.json (krelectra.manifest): provenance only

    @property
    def describes_pretraining(self) -> bool:
        """Whether the pretraining side's outputs are given. Raises KrelectraError when only
        some are."""
        given = [name for name in PRETRAINING_INPUTS if getattr(self, name) is not None]
        if given and len(given) < len(PRETRAINING_INPUTS):
            missing = [name for name in PRETRAINING_INPUTS if name not in given]
            raise KrelectraError(
                "paper tables: the pretraining outputs come all together or not at all; missing "
                + ", ".join(f"--{name.replace('_', '-')}" for name in missing)
            )
        return bool(given)

    def pretraining_files(self) -> dict[str, Path]:
        """{name: path} of the pretraining side's outputs ({} for a run of released encoders
        only); raises KrelectraError when only some are given."""
        if not self.describes_pretraining:
            return {}
        return {name: Path(getattr(self, name)) for name in PRETRAINING_INPUTS}

    def used_by(self) -> dict[str, list[Path]]:
        """Which files each table reads (for provenance.tsv)."""
        used = {
            "results": [
                self.published,
                *self.summaries,
                *self.uncertainty,
                *([self.manifest] if self.manifest else []),
            ],
            "finetuning": list(self.runs),
        }
        files = self.pretraining_files()
        if files:
            used.update(
                model=[self.published, files["model_config"], files["verification"]],
                pretraining=[self.published, files["pretrain_config"]],
                corpus=[files["corpus_stats"], files["vocab_train"], files["vocab_report"]],
            )
        if self.contamination is not None:
            used["contamination"] = [Path(self.contamination), *self.runs]
        return used


# -- results -----------------------------------------------------------------------------


def selected_summaries(summaries: list[Path], config: PaperConfig) -> list[tuple[Path, dict]]:
    """The (path, summary) of each model to show, in the config's order (else as given)."""
    loaded = []
    for path in summaries:
        data = _read(Path(path), "a finetuning summary")
        for key in ("model", "protocols", "tasks"):
            _get(data, key, path)
        loaded.append((Path(path), data))
    by_model = {data["model"]: (path, data) for path, data in loaded}
    if len(by_model) != len(loaded):
        raise KrelectraError(f"two finetuning summaries of the same model among {', '.join(map(str, summaries))}")
    if not config.models:
        return loaded
    missing = [m for m in config.models if m not in by_model]
    if missing:
        raise KrelectraError(
            f"config paper.models: no finetuning summary of {', '.join(missing)} "
            f"(summaries of: {', '.join(by_model) or 'none'})"
        )
    return [by_model[m] for m in config.models]


def _score(summary: dict, path: Path, task: str, protocol: str, metric: str) -> dict | None:
    """{"mean", "std", "n"} of one model's test metric, None if the task was not run."""
    if protocol not in summary["protocols"]:
        raise KrelectraError(
            f"{path}: protocol {protocol!r} was not evaluated "
            f"(summary has {', '.join(summary['protocols'])}); set paper.protocols "
            "to a subset of finetune.protocols"
        )
    entry = summary["tasks"].get(task)
    if entry is None:
        return None
    test = _get(entry, f"protocols.{protocol}.test", path)
    if metric not in test:
        raise KrelectraError(f"{path}: task {task} has no test metric {metric!r} (has {', '.join(test)})")
    return test[metric]


def data_caveats(summary: dict, tasks: list[str]) -> list[str]:
    """Why one model's scores were not measured on the data of the published numbers;
    empty when they were (every task in `tasks` run on the upstream files, uncapped).
    "stand-in data": a task's files are not the upstream ones (the fixtures, or files
    that differ); "subsampled": finetune.max_train_examples or max_eval_examples capped
    a split; "k of n tasks": not every published task was run."""
    entries = summary["tasks"]
    ran = [task for task in tasks if task in entries]
    data = [entries[task].get("data") or {} for task in ran]
    caveats = []
    if any(not facts.get("upstream") for facts in data):
        caveats.append("stand-in data")
    if any(facts.get("subsampled") for facts in data):
        caveats.append("subsampled")
    if len(ran) < len(tasks):
        caveats.append(f"{len(ran)} of {len(tasks)} tasks")
    return caveats


def marked_label(label: str, caveats: list[str]) -> str:
    """A model's name in tables and figures, marked when measured on other data."""
    return f"{label} [other data: {', '.join(caveats)}]" if caveats else label


def numerics_note(summaries: list[tuple[Path, dict]], config: PaperConfig) -> str:
    """Which training numerics each model's rows used (summary.json `numerics`, from
    finetune.precision and finetune.train_sampling), beside the reference's (fp32, random
    batches)."""
    parts = []
    for _path, summary in summaries:
        numerics = [task.get("numerics") or {} for task in summary["tasks"].values()]
        precision = sorted({v for n in numerics for v in n.get("precision", ["not recorded"])})
        sampling = sorted({v for n in numerics for v in n.get("train_sampling", ["not recorded"])})
        parts.append(f"{config.label(summary['model'])}: {' and '.join(precision)}, {' and '.join(sampling)} batches")
    return (
        "Training numerics (finetune.precision, finetune.train_sampling; the reference: fp32, random batches): "
        + "; ".join(parts)
        + "."
    )


OTHER_DATA_NOTE = (
    "The second panel holds this run's rows measured on other data than the published numbers (stand-in data: "
    "not the upstream files; subsampled: splits capped by finetune.max_train_examples or max_eval_examples; "
    "k of n tasks: a subset of the tasks), each marked [other data]. They are not compared with the published "
    "rows: they take no part in the best values and are not drawn in the score-difference figure."
)
# The title of the results table's panel of rows measured on other data.
OTHER_DATA_PANEL = "This run on other data than the published numbers: NOT comparable with the rows above"


def column_places(published: Published, decimals: int) -> dict[tuple[str, str], int]:
    """{(task, metric): decimal places} of the results table: `decimals`, or more where a
    published score of the column was published with more places (KR-ELECTRA's NSMC 91.168:
    3), so that every number of a column, this run's included, has the same places."""
    places = {(c.task, m): decimals for c in published.columns for m in c.metrics}
    for row in published.rows:
        for key, score in row.scores.items():
            if key in places and not math.isnan(score.value):
                places[key] = max(places[key], published_places(score.value))
    return places


def places_note(published: Published, places: dict[tuple[str, str], int], decimals: int) -> str | None:
    """The note on columns printed to more than `decimals` places (None when there is none)."""
    wider = []
    for column in published.columns:
        for metric in column.metrics:
            key = (column.task, metric)
            if places[key] <= decimals:
                continue
            name = column.label if len(column.metrics) == 1 else f"{column.label} {metric}"
            sources = [
                f"{row.model}'s {fmt_published(row.scores[key].value, decimals)}"
                for row in published.rows
                if key in row.scores and published_places(row.scores[key].value) == places[key]
            ]
            wider.append(f"{name} to {places[key]} ({', '.join(sources)})")
    if not wider:
        return None
    return (
        f"Published scores keep every decimal place they were published with; a column is printed to the same "
        f"places throughout, this run's rows included: {decimals} decimals, except "
        + "; ".join(wider)
        + ". The other published scores of such a column were published with fewer places: "
        "the places added to them are zeros."
    )


def read_uncertainty(paths: list[Path]) -> dict[str, dict]:
    """{task: the bootstrap output of paper/uncertainty.py} of the given files."""
    by_task = {}
    for path in paths:
        data = _read(Path(path), "bootstrap intervals")
        for key in ("task", "confidence_level", "resamples", "reference_model", "protocols"):
            _get(data, key, path)
        if data["task"] in by_task:
            raise KrelectraError(f"{path}: a second bootstrap file of task {data['task']}")
        by_task[data["task"]] = data
    settings = {(d["confidence_level"], d["resamples"], d["reference_model"], d.get("seed")) for d in by_task.values()}
    if len(settings) > 1:
        raise KrelectraError(
            "paper tables: the bootstrap files were made with different settings "
            f"(confidence level, resamples, reference model, seed): {sorted(settings, key=str)}"
        )
    return by_task


def _interval(uncertainty: dict, task: str, protocol: str, model: str, metric: str) -> tuple[dict, dict] | None:
    """(the model's interval, its test against the reference or {}) of one score, or None."""
    entry = uncertainty.get(task, {}).get("protocols", {}).get(protocol)
    if entry is None or model not in entry["models"]:
        return None
    score = entry["models"][model]["metrics"].get(metric)
    test = entry["comparisons"].get(model, {}).get("metrics", {}).get(metric, {})
    return (score, test) if score is not None else None


def uncertainty_notes(uncertainty: dict, reference_label: str | None) -> list[str]:
    some = next(iter(uncertainty.values()))
    level = some["confidence_level"]
    percent = f"{100 * level:g}%"
    alpha = f"{100 * (1 - level):g}%"
    notes = [
        f"{percent} CI (the row under each model): percentile bootstrap interval of the score, resampling the test "
        f"examples with replacement {some['resamples']:,} times (scipy.stats.bootstrap, seed {some.get('seed')}); on "
        "every resample each seed's predictions are scored with the task's metric (accuracy and KorQuAD's per-question "
        "scores averaged; entity F1, macro F1 and Spearman recomputed with the same library calls) and the seeds "
        "averaged. It covers the sampling of test examples, not the spread over seeds (± sd). Efron and Tibshirani "
        "(1993), An Introduction to the Bootstrap, ch. 13."
    ]
    if reference_label is not None:
        notes.append(
            f"†: differs from {reference_label} (reference) at the {alpha} level, paired bootstrap test: both models "
            f"are scored on the same resamples and the {percent} percentile interval of the difference excludes 0. "
            "Koehn (2004); Berg-Kirkpatrick, Burkett and Klein (2012)."
        )
    return notes


def results_table(
    published: Published,
    summaries: list[tuple[Path, dict]],
    config: PaperConfig,
    uncertainty: dict[str, dict] | None = None,
) -> Table:
    columns = published.columns
    metric_keys = [(c.task, m) for c in columns for m in c.metrics]
    tasks = list(dict.fromkeys(c.task for c in columns))
    uncertainty = uncertainty or {}
    reference_model = next((d["reference_model"] for d in uncertainty.values()), None)
    places = column_places(published, config.decimals)

    # The published values and this run's values on the upstream data compete for the
    # best of each column; rows measured on other data are shown, marked, and not compared.
    rows = []  # (section title, label, {key: (value, spread or None, n)}, n text, compared, model)
    for row in published.rows:
        values: dict[tuple[str, str], tuple[float, float | None, int | None]] = {
            key: (row.scores[key].value, None, None) for key in metric_keys if key in row.scores
        }
        rows.append(("published", row.model, values, EMPTY, True, None))
    for protocol in config.protocols:
        for path, summary in summaries:
            values, ns = {}, set()
            for task, metric in metric_keys:
                score = _score(summary, path, task, protocol, metric)
                if score is not None:
                    values[(task, metric)] = (score["mean"], score["std"], int(score["n"]))
                    ns.add(int(score["n"]))
            n = EMPTY if not ns else str(ns.pop()) if len(ns) == 1 else f"{min(ns)}–{max(ns)}"
            caveats = data_caveats(summary, tasks)
            label = marked_label(config.label(summary["model"]), caveats)
            if summary["model"] == reference_model and len(summaries) > 1:
                label += " (reference)"
            rows.append((protocol, label, values, n, not caveats, summary["model"]))
    other_data = not all(row[4] for row in rows)
    best = {}
    for key in metric_keys:
        candidates = [
            values[key][0]
            for _, _, values, _, compared, _ in rows
            if compared and key in values and not math.isnan(values[key][0])
        ]
        best[key] = max(candidates) if candidates else None

    def cells(values: dict, compared: bool, protocol: str, model: str | None) -> list[Cell]:
        out = []
        for column in columns:
            parts = []
            for metric in column.metrics:
                key = (column.task, metric)
                if key not in values:
                    parts.append(Value(EMPTY))
                    continue
                value, spread, n = values[key]
                if math.isnan(value):
                    parts.append(Value(EMPTY))
                    continue
                text = fmt_score(value, places[key])
                # A single seed has no spread (the summary's 0 is not a measured one).
                spread = None if spread is None or n < 2 else fmt_score(spread, places[key])
                found = None if model is None else _interval(uncertainty, column.task, protocol, model, metric)
                mark = "†" if found is not None and found[1].get("significant") else ""
                best_value = compared and best[key] is not None and value == best[key]
                parts.append(Value(text, spread, best=best_value, mark=mark))
            out.append(Cell(parts))
        return out

    def interval_cells(protocol: str, model: str) -> list[Cell] | None:
        out, found_any = [], False
        for column in columns:
            parts = []
            for metric in column.metrics:
                found = _interval(uncertainty, column.task, protocol, model, metric)
                if found is None or found[0]["low"] is None:
                    parts.append(Value(EMPTY))
                    continue
                found_any = True
                low, high = (fmt_score(found[0][end], places[(column.task, metric)]) for end in ("low", "high"))
                parts.append(Value(f"[{low}, {high}]"))
            out.append(Cell(parts))
        return out if found_any else None

    interval_label = None
    if uncertainty:
        interval_label = f"{100 * next(iter(uncertainty.values()))['confidence_level']:g}% CI"

    def sections(compared_rows: bool) -> list[Section]:
        """The published rows and this run's rows on the upstream data (compared), or this
        run's rows on other data, one section per protocol."""
        out = []
        for title_key in ("published", *config.protocols):
            section_rows = []
            for section, label, values, n, compared, model in rows:
                if section != title_key or compared != compared_rows:
                    continue
                section_rows.append([Cell.of(label), *cells(values, compared, title_key, model), Cell.of(n)])
                intervals = None if model is None else interval_cells(title_key, model)
                if intervals is not None:
                    section_rows.append([Cell.of(interval_label), *intervals, Cell.of(EMPTY)])
            if not section_rows:
                continue
            if title_key == "published":
                title = "Published (sources in the notes)"
            else:
                title = f"This run, {PROTOCOL_LABELS[title_key]}"
            out.append(Section(title, section_rows))
        return out

    table_columns = [Column("Model", align="l"), *[Column(c.label, c.unit) for c in columns], Column("n", "seeds")]
    # Rows measured on other data get a panel of their own under the compared rows, so that
    # they are never read against the published numbers.
    panels = [Panel(None, table_columns, sections(True))]
    if other_data:
        panels.append(Panel(OTHER_DATA_PANEL, table_columns, sections(False)))
    used = sorted({row.source for row in published.rows} | {row.origin for row in published.rows})
    measured: dict[str, list[str]] = {}
    for row in published.rows:
        if row.origin != row.source:
            measured.setdefault(row.origin, []).append(row.model)
    notes = [
        "Published rows: "
        + "; ".join(f"{published.sources[k]['title']}, {published.sources[k]['url']}" for k in used)
        + "."
        + "".join(
            f" {', '.join(models)}: measured by {published.sources[origin]['title']}."
            for origin, models in measured.items()
        ),
        "This run: mean ± sample standard deviation over n seeds of the test score at the save point each "
        "protocol selects (dev and test are scored every save_steps optimizer steps, where the reference "
        "saved and evaluated its checkpoints). The paper protocol picks the point by its test score, as the "
        "reference finetuning code reported it, and is therefore optimistic; the clean protocol picks it on a "
        "dev split (carved out of train where a task has none).",
        numerics_note(summaries, config),
        "KorQuAD and Korean-Hate-Speech are scored on their upstream dev sets, as published. "
        "Bold: the best value of each column, computed over the published rows and this run's rows "
        "measured on the upstream data.",
    ]
    note = places_note(published, places, config.decimals)
    if note is not None:
        notes.append(note)
    if uncertainty:
        reference_label = config.label(reference_model) if reference_model is not None and len(summaries) > 1 else None
        notes += uncertainty_notes(uncertainty, reference_label)
    caption = "Finetuning results on eight Korean benchmarks: published and this run"
    if other_data:
        notes.append(OTHER_DATA_NOTE)
        caption += " (this run's rows on other data, marked [other data], in a separate panel: not compared)"
    return Table("results", caption, panels, notes, wide=True)


# -- model and pretraining hyperparameters ------------------------------------------------


MODEL_KEYS = {  # column -> (discriminator key, generator key) in model_config.json
    "layers": ("num_hidden_layers", "generator_num_hidden_layers"),
    "embedding size": ("embedding_size", "embedding_size"),
    "hidden size": ("hidden_size", "generator_hidden_size"),
    "heads": ("num_attention_heads", "generator_num_attention_heads"),
    "FFN size": ("intermediate_size", "generator_intermediate_size"),
    "vocabulary": ("vocab_size", "vocab_size"),
}
PUBLISHED_MODEL_KEYS = {
    "layers": "num_hidden_layers",
    "embedding size": "embedding_size",
    "hidden size": "hidden_size",
    "heads": "num_attention_heads",
}


def model_table(published: Published, model_config_path: Path, verification_path: Path) -> Table:
    config = _read(model_config_path, "the model config")
    verification = _read(verification_path, "the conversion verification")
    ours = []
    for index, part in enumerate(("Discriminator", "Generator")):
        ours.append(
            [
                Cell.of(part),
                *[Cell.of(fmt_count(_get(config, keys[index], model_config_path))) for keys in MODEL_KEYS.values()],
            ]
        )
    theirs = []
    for part in ("discriminator", "generator"):
        sizes = published.model[part]
        row = [Cell.of(part.capitalize())]
        for column in MODEL_KEYS:
            if column == "vocabulary":
                value = published.model.get("vocab_size")
            else:
                value = sizes.get(PUBLISHED_MODEL_KEYS.get(column, ""))
            row.append(Cell.of(EMPTY if value is None else fmt_count(value)))
        theirs.append(row)
    comparisons = _get(verification, "comparisons", verification_path)
    checks = "; ".join(
        f"{name.replace('_', ' ')}: max |HF − TF| = {c['max_abs_diff']:.1e} (allowed {c['allowed']:.1e})"
        for name, c in sorted(comparisons.items())
    )
    status = "passed" if _get(verification, "passed", verification_path) else "FAILED"
    notes = [
        "This run: heads are hidden size / 64 and the FFN is 4 × hidden size "
        f"(ELECTRA recipe); the generator shares the discriminator's embeddings. "
        f"Hidden activation {config.get('hidden_act', EMPTY)}, "
        f"dropout {fmt_number(config.get('hidden_dropout_prob'))}, "
        f"{fmt_number(config.get('max_position_embeddings'))} positions.",
        f"Conversion to Hugging Face {status}: {checks}.",
        f"Published: {published.source_title(published.model['source'])}.",
    ]
    columns = [Column("Model", align="l"), *[Column(name[0].upper() + name[1:]) for name in MODEL_KEYS]]
    return Table(
        "model",
        "Model sizes: discriminator and generator",
        [Panel(None, columns, [Section("This run", ours), Section("Published", theirs)])],
        notes,
    )


PRETRAIN_COLUMNS = {  # column -> key in pretrain_config.json (dots: nested)
    "Batch size": "train_batch_size",
    "Train steps": "num_train_steps",
    "Learning rate": "learning_rate",
    "Max. sequence length": "max_seq_length",
    "Generator size": "model.generator_hidden_size",
    "Warmup steps": "num_warmup_steps",
    "Mask prob.": "mask_prob",
    "Disc. weight": "disc_weight",
}


def pretraining_table(published: Published, pretrain_config_path: Path) -> Table:
    config = _read(pretrain_config_path, "the pretraining config")
    ours = [Cell.of("This run")] + [
        Cell.of(fmt_number(_get(config, key, pretrain_config_path))) for key in PRETRAIN_COLUMNS.values()
    ]
    theirs = [Cell.of("Published")] + [
        Cell.of(fmt_number(published.pretraining.get(key.split(".")[-1]))) for key in PRETRAIN_COLUMNS.values()
    ]
    g = lambda key: fmt_number(_get(config, key, pretrain_config_path))
    notes = [
        f"This run: {g('strategy')} strategy on {g('num_replicas')} replica(s), "
        f"{fmt_count(_get(config, 'train_examples', pretrain_config_path))} training examples, "
        f"seed {_get(config, 'seed', pretrain_config_path)}; AdamW with weight decay "
        f"{g('weight_decay_rate')}, β1 {g('adam_beta1')}, β2 {g('adam_beta2')}, ε {g('adam_epsilon')}, "
        f"gradient norm clipped at {g('clip_norm')}, linear decay (power {g('lr_decay_power')}); "
        f"at most {g('max_predictions_per_seq')} masked tokens per sequence; generator loss weight "
        f"{g('gen_weight')}. Generator size is the generator's hidden size as a share of the discriminator's.",
        f"Published: {published.source_title(published.pretraining['source'])}.",
    ]
    columns = [Column("", align="l"), *[Column(name) for name in PRETRAIN_COLUMNS]]
    return Table(
        "pretraining",
        "Pretraining hyperparameters",
        [Panel(None, columns, [Section(None, [ours, theirs])])],
        notes,
        wide=True,
    )


# -- corpus and vocabulary -----------------------------------------------------------------


ALPHABETS = {"ks_x_1001_hangul": "KS X 1001 Hangul", "compatibility_jamo": "compatibility jamo", "ascii": "ASCII"}


def corpus_table(stats_path: Path, train_path: Path, report_path: Path) -> Table:
    stats = _read(stats_path, "the corpus statistics")
    train = _read(train_path, "the vocabulary training summary")
    report = _read(report_path, "the vocabulary report")

    registers = _get(stats, "registers", stats_path)
    total_chars = max(1, sum(r.get("characters", 0) for r in registers.values()))
    register_rows = []
    for name, r in sorted(registers.items(), key=lambda item: item[0] != "written"):
        register_rows.append(
            [
                Cell.of(name),
                Cell.of(fmt_count(r.get("documents", 0))),
                Cell.of(fmt_count(r.get("sentences", 0))),
                Cell.of(fmt_count(r.get("characters", 0))),
                Cell.of(fmt_bytes(r.get("bytes", 0))),
                Cell.of(fmt_percent(r.get("characters", 0) / total_chars, 1)),
            ]
        )
    total = [
        Cell.of("total"),
        *[Cell.of(fmt_count(_get(stats, k, stats_path))) for k in ("documents", "sentences", "characters")],
        Cell.of(fmt_bytes(_get(stats, "bytes", stats_path))),
        Cell.of(fmt_percent(1.0, 1)),
    ]
    sizes = Panel(
        "Corpus after cleaning, deduplication and balancing, by register",
        [
            Column("Register", align="l"),
            Column("Documents"),
            Column("Sentences"),
            Column("Characters"),
            Column("Size"),
            Column("Share of characters"),
        ],
        [Section(None, register_rows), Section(None, [total])],
    )

    source_rows = [
        [
            Cell.of(name),
            Cell.of(s["register"]),
            Cell.of(fmt_count(s["documents"])),
            Cell.of(fmt_bytes(s["bytes"])),
            Cell.of(fmt_count(s.get("invalid_utf8_sequences_replaced", 0))),
        ]
        for name, s in sorted(_get(stats, "sources", stats_path).items())
    ]
    sources = Panel(
        "Raw sources",
        [
            Column("Source", align="l"),
            Column("Register", align="l"),
            Column("Documents"),
            Column("Size"),
            Column("Invalid UTF-8 replaced"),
        ],
        [Section(None, source_rows)],
    )

    public = attribution_panel(stats.get("attribution") or [])

    dropped = _get(stats, "dropped_sentences", stats_path)
    cleaning = stats.get("cleaning", {})
    drop_rows = [[Cell.of(reason.replace("_", " ")), Cell.of(fmt_count(n))] for reason, n in sorted(dropped.items())]
    drop_rows.append([Cell.of("total"), Cell.of(fmt_count(sum(dropped.values())))])
    edit_rows = [[Cell.of(kind.replace("_", " ")), Cell.of(fmt_count(n))] for kind, n in sorted(cleaning.items())]
    document_rows = []
    if "near_dedup" in stats:
        near = stats["near_dedup"]
        document_rows += [
            [Cell.of("near-duplicate clusters"), Cell.of(fmt_count(near["clusters"]))],
            [Cell.of("near-duplicates removed"), Cell.of(fmt_count(near["documents_removed"]))],
        ]
    if "decontamination" in stats:
        removed = stats["decontamination"]
        document_rows.append(
            [Cell.of("holding evaluation text, removed"), Cell.of(fmt_count(removed["documents_removed"]))]
        )
        document_rows += [
            [Cell.of(f"holding evaluation text of {task}"), Cell.of(fmt_count(n))]
            for task, n in removed["documents_removed_per_task"].items()
        ]
    drops = Panel(
        "Sentences dropped, by reason, and cleaning edits",
        [Column("Reason", align="l"), Column("Count")],
        [Section("Dropped sentences", drop_rows)]
        + ([Section("Documents removed", document_rows)] if document_rows else [])
        + ([Section("Cleaning edits", edit_rows)] if edit_rows else []),
    )

    vocab_rows = [
        [Cell.of("vocabulary size (requested)"), Cell.of(fmt_count(_get(train, "size_requested", train_path)))],
        [Cell.of("vocabulary size"), Cell.of(fmt_count(_get(report, "vocab_size", report_path)))],
        [Cell.of("minimum merge frequency"), Cell.of(str(_get(train, "min_frequency", train_path)))],
        [
            Cell.of("guaranteed alphabet"),
            Cell.of(", ".join(ALPHABETS.get(a, a) for a in _get(train, "alphabet", train_path))),
        ],
    ]
    for name, held in sorted(_get(report, "heldout", report_path).items()):
        suffix = "" if name == "all" else f" ({name})"
        vocab_rows += [
            [Cell.of(f"held-out sentences{suffix}"), Cell.of(fmt_count(held["sentences"]))],
            [Cell.of(f"held-out eojeols{suffix}"), Cell.of(fmt_count(held["eojeols"]))],
            [Cell.of(f"[UNK] rate{suffix}"), Cell.of(fmt_percent(held["unk_rate"], 3))],
            [Cell.of(f"tokens per eojeol{suffix}"), Cell.of(f"{held['tokens_per_eojeol']:.3f}")],
            [Cell.of(f"morpheme-boundary precision{suffix}"), Cell.of(fmt_percent(held["boundary_precision"], 1))],
            [Cell.of(f"morpheme-boundary recall{suffix}"), Cell.of(fmt_percent(held["boundary_recall"], 1))],
            [
                Cell.of(f"eojeols cut exactly at morpheme boundaries{suffix}"),
                Cell.of(fmt_percent(held["exact_eojeol_agreement"], 1)),
            ],
        ]
    vocab = Panel(
        "Vocabulary (Mecab-Ko morpheme WordPiece) on held-out documents",
        [Column("Quantity", align="l"), Column("Value")],
        [Section(None, vocab_rows)],
    )
    notes = [
        f"Spoken share of characters: target {fmt_percent(_get(stats, 'spoken_ratio_target', stats_path), 1)}, "
        f"achieved {fmt_percent(_get(stats, 'spoken_ratio_achieved', stats_path), 1)}; "
        f"{fmt_count(_get(stats, 'shards', stats_path))} shards. Sizes in decimal units.",
        "Boundary agreement: inside each eojeol (space-separated word), the cuts between WordPiece tokens "
        "against the ends of Mecab-Ko morphemes; precision is the share of token cuts at a morpheme boundary, "
        "recall the share of morpheme boundaries cut.",
    ]
    if public is not None:
        notes.append(
            "Public data sets: downloaded by the workflow and verified (git blob SHA-1 at the pinned commit, or "
            "the SHA-1 in the Wikimedia dump's sha1sums.txt); the SHA-1 of every file is in the corpus statistics. "
            "Text under CC BY-SA 4.0 is used and shared under its terms."
        )
    if document_rows:
        notes.append(
            "Documents removed: near-duplicates by MinHash-LSH over word 5-gram shingles (FineWeb's method), "
            "each cluster keeping its first document; documents holding a character n-gram of a task's dev or "
            "test examples (docs/contamination.md; one document can hold several tasks' text)."
        )
    panels = [sizes, sources, *([public] if public is not None else []), drops, vocab]
    return Table("corpus", "Pretraining corpus and vocabulary", panels, notes)


def attribution_panel(attribution: list[dict]) -> Panel | None:
    """The public data sets of the corpus with what attribution requires: title, the
    sources that use it, licence, version and downloaded size (corpus stats' `attribution`,
    krelectra.corpus.pipeline.public_attribution); None for a corpus without any."""
    if not attribution:
        return None
    rows = [
        [
            Cell.of(entry["title"]),
            Cell.of(", ".join(entry["sources"])),
            Cell.of(entry["licence"]),
            Cell.of(entry["version"]),
            Cell.of(fmt_bytes(entry["bytes"])),
        ]
        for entry in attribution
    ]
    return Panel(
        "Public data sets",
        [
            Column("Data set", align="l"),
            Column("Sources", align="l"),
            Column("Licence", align="l"),
            Column("Version", align="l"),
            Column("Downloaded"),
        ],
        [Section(None, rows)],
    )


# -- finetuning hyperparameters ------------------------------------------------------------


FINETUNE_COLUMNS = {  # column -> key of metrics.json's "hyperparameters"
    "Learning rate": "learning_rate",
    "Epochs": "num_train_epochs",
    "Batch (train)": "train_batch_size",
    "Batch (eval)": "eval_batch_size",
    "Max. length": "max_seq_length",
    "Adam ε": "adam_epsilon",
    "Warmup": "warmup_proportion",
    "Weight decay": "weight_decay",
    "Max. grad. norm": "max_grad_norm",
}
QA_KEYS = ("doc_stride", "max_query_length", "max_answer_length", "n_best_size")


def _reference_hyperparameters(task: str) -> dict | None:
    from krelectra.finetune.tasks import TASKS

    return TASKS[task].hyperparameters if task in TASKS else None


def finetuning_table(runs: list[Path], task_order: list[str]) -> Table:
    groups: dict[str, dict[tuple, dict]] = {}  # task -> hyperparameters (without seed) -> models, seeds
    for path in runs:
        run = _read(Path(path), "finetuning metrics")
        task, model, seed = (_get(run, key, path) for key in ("task", "model", "seed"))
        hp = dict(_get(run, "hyperparameters", path))
        hp.pop("seed", None)
        key = tuple(sorted(hp.items()))
        entry = groups.setdefault(task, {}).setdefault(key, {"hp": hp, "models": set(), "seeds": set(), "runs": 0})
        entry["models"].add(model)
        entry["seeds"].add(seed)
        entry["runs"] += 1
    if not groups:
        raise KrelectraError("paper tables: no finetuning runs (metrics.json) given")
    ordered = [t for t in task_order if t in groups] + sorted(t for t in groups if t not in task_order)
    rows, differs, qa_notes = [], False, []
    for task in ordered:
        reference = _reference_hyperparameters(task)
        variants = groups[task]
        for entry in variants.values():
            label = task if len(variants) == 1 else f"{task} ({', '.join(sorted(entry['models']))})"
            row = [Cell.of(label)]
            for name in FINETUNE_COLUMNS.values():
                cell = fmt_number(entry["hp"].get(name))
                if reference is not None and name in reference and entry["hp"].get(name) != reference[name]:
                    cell += "*"
                    differs = True
                row.append(Cell.of(cell))
            row += [Cell.of(fmt_seeds(entry["seeds"])), Cell.of(str(entry["runs"]))]
            rows.append(row)
            qa = {k: entry["hp"][k] for k in QA_KEYS if k in entry["hp"]}
            if qa:
                qa_notes.append(f"{label}: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in qa.items()))
    notes = []
    if differs:
        notes.append("*: differs from the value KR-ELECTRA used for the task (src/krelectra/finetune/tasks.py).")
    if qa_notes:
        notes.append("Extractive QA: " + "; ".join(qa_notes) + ".")
    notes.append(
        "All runs: AdamW without weight decay on biases and LayerNorm weights, linear decay after the "
        "warmup; runs counts models × seeds."
    )
    columns = [Column("Task", align="l"), *[Column(c) for c in FINETUNE_COLUMNS], Column("Seeds"), Column("Runs")]
    return Table(
        "finetuning",
        "Finetuning hyperparameters per task, as run",
        [Panel(None, columns, [Section(None, rows)])],
        notes,
        wide=True,
    )


# -- all tables ----------------------------------------------------------------------------


def build_tables(inputs: TableInputs, config: PaperConfig) -> dict[str, Table]:
    """Every table the inputs allow: results and finetuning always; model, pretraining and
    corpus with the pretraining side's outputs."""
    published = load_published(inputs.published)
    uncertainty = read_uncertainty(inputs.uncertainty)
    tables = {"results": results_table(published, selected_summaries(inputs.summaries, config), config, uncertainty)}
    files = inputs.pretraining_files()
    if files:
        tables["model"] = model_table(published, files["model_config"], files["verification"])
        tables["pretraining"] = pretraining_table(published, files["pretrain_config"])
        tables["corpus"] = corpus_table(files["corpus_stats"], files["vocab_train"], files["vocab_report"])
    if inputs.contamination is not None:
        from krelectra.paper.contamination import contamination_table

        tables["contamination"] = contamination_table(
            inputs.contamination, inputs.runs, inputs.contamination_models, config
        )
    tables["finetuning"] = finetuning_table(inputs.runs, [c.task for c in published.columns])
    return {name: tables[name] for name in TABLES if name in tables}


def write_tables(inputs: TableInputs, config: PaperConfig, output_dir: str | os.PathLike) -> dict[str, Table]:
    """Write `{name}.{tex,md,html}` for every table and provenance.tsv into `output_dir`."""
    tables = build_tables(inputs, config)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        for fmt in FORMATS:
            with atomic_open(output_dir / f"{name}.{fmt}") as handle:
                handle.write(render(table, fmt))
    write_provenance(output_dir / "provenance.tsv", inputs.used_by(), config.to_dict())
    return tables
