"""The paper's figures (matplotlib, Agg), each written as PDF and PNG:

- pretraining: generator and discriminator loss, discriminator precision and recall,
  learning rate, over steps (pretrain/metrics.jsonl; eval records as markers);
- finetuning:  dev and test score at each save point (step) for every task (mean over seeds, ± sd band);
- comparison:  this run's mean score minus the published KR-ELECTRA score, per task,
               for the models measured on the upstream data only: a model measured on
               other data than the published numbers is not drawn (the figure names
               it), and without any model on the upstream data the figure holds only
               a statement saying so;
- vocabulary:  tokens per eojeol on held-out text (WordPiece against Mecab-Ko
  morphemes) and the length of the vocabulary's pieces, as the vocabulary report
  counted them (vocab/distributions.json, krelectra.vocab.report).

The numbers drawn are returned too, so tests and the audit notebook can check them.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from krelectra.errors import KrelectraError
from krelectra.io import read_json
from krelectra.paper.config import PROTOCOL_LABELS, PaperConfig
from krelectra.paper.provenance import write_provenance
from krelectra.paper.published import Published, load_published
from krelectra.paper.tables import data_caveats, marked_label, selected_summaries

FIGURES = ("pretraining", "finetuning", "comparison", "vocabulary")
FORMATS = ("pdf", "png")
# The vocabulary report's piece-length kinds, in drawing order (bottom first), and their labels.
PIECE_LENGTH_LABELS = {"word_initial": "word-initial", "continuation": "continuation (##)"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "font.size": 8,
            "axes.titlesize": 9,
            "legend.fontsize": 7,
            "figure.dpi": 100,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    return plt


def save(figure, output_dir: Path, name: str) -> list[Path]:
    """PDF and PNG, without the creation date so that reruns give identical files."""
    output_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in FORMATS:
        path = output_dir / f"{name}.{fmt}"
        tmp = path.with_name(f".{path.name}.tmp")
        metadata = {"CreationDate": None} if fmt == "pdf" else {}
        figure.savefig(tmp, format=fmt, dpi=200, bbox_inches="tight", metadata=metadata)
        os.replace(tmp, path)
        paths.append(path)
    return paths


# -- pretraining ---------------------------------------------------------------------------


def read_metrics(path: str | os.PathLike) -> dict[str, list[dict]]:
    """metrics.jsonl as {"train": [...], "eval": [...]}, each sorted by step."""
    out: dict[str, list[dict]] = {"train": [], "eval": []}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                out[record["split"]].append(record)
            except (ValueError, KeyError) as error:
                raise KrelectraError(f"{path}:{number}: not a pretraining metrics record ({error})") from None
    if not out["train"]:
        raise KrelectraError(f"{path}: no training records")
    for records in out.values():
        records.sort(key=lambda r: r["step"])
    return out


def pretraining_figure(metrics_path: Path):
    plt = _pyplot()
    metrics = read_metrics(metrics_path)
    train, evaluation = metrics["train"], metrics["eval"]
    figure, axes = plt.subplots(2, 2, figsize=(7.0, 4.8), constrained_layout=True)
    panels = [
        (axes[0, 0], "Generator loss (MLM)", ["generator_loss"]),
        (axes[0, 1], "Discriminator loss (replaced token detection)", ["discriminator_loss"]),
        (axes[1, 0], "Discriminator precision and recall", ["discriminator_precision", "discriminator_recall"]),
    ]
    for ax, title, keys in panels:
        for key, color in zip(keys, ("C0", "C1")):
            label = key.replace("discriminator_", "")
            ax.plot(
                [r["step"] for r in train],
                [r[key] for r in train],
                color=color,
                lw=1.2,
                label=f"{label} (train)" if len(keys) > 1 else "train",
            )
            if evaluation:
                ax.plot(
                    [r["step"] for r in evaluation],
                    [r[key] for r in evaluation],
                    "o",
                    color=color,
                    ms=3.5,
                    mfc="white",
                    label=f"{label} (held-out)" if len(keys) > 1 else "held-out",
                )
        ax.set_title(title)
        ax.legend(frameon=False)
    axes[1, 1].plot([r["step"] for r in train], [r["learning_rate"] for r in train], color="C2", lw=1.2)
    axes[1, 1].set_title("Learning rate")
    axes[1, 1].ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
    for ax in axes.flat:
        ax.set_xlabel("step")
    return figure, metrics


# -- finetuning ----------------------------------------------------------------------------


def _mean_sd(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return mean, sd


def finetuning_curves(runs: list[Path], models: list[str] | None = None) -> dict:
    """{task: {"metric", "models": {model: {split: [(step, mean, sd, n)]}}}} of the headline
    metric at each save point (the optimizer steps where a run scored dev and test)."""
    by_task: dict[str, dict] = {}
    for path in runs:
        run = read_json(path)
        for key in ("task", "model", "headline_metric", "points"):
            if key not in run:
                raise KrelectraError(f"{path}: missing key {key!r} (not a finetuning metrics.json)")
        if models and run["model"] not in models:
            continue
        entry = by_task.setdefault(run["task"], {"metric": run["headline_metric"], "models": {}})
        per_model = entry["models"].setdefault(run["model"], {"dev": {}, "test": {}})
        for point in run["points"]:
            for split in ("dev", "test"):
                per_model[split].setdefault(point["step"], []).append(point[split][run["headline_metric"]])
    for entry in by_task.values():
        for model, splits in entry["models"].items():
            entry["models"][model] = {
                split: [(e, *_mean_sd(v), len(v)) for e, v in sorted(values.items())]
                for split, values in splits.items()
            }
    return by_task


def finetuning_figure(runs: list[Path], task_order: list[str], config: PaperConfig):
    plt = _pyplot()
    curves = finetuning_curves(runs, list(config.models) or None)
    if not curves:
        raise KrelectraError("paper figures: no finetuning runs of the models to show")
    tasks = [t for t in task_order if t in curves] + sorted(t for t in curves if t not in task_order)
    columns = min(4, len(tasks))
    rows = math.ceil(len(tasks) / columns)
    figure, axes = plt.subplots(
        rows, columns, figsize=(1.9 * columns, 1.8 * rows + 0.4), squeeze=False, constrained_layout=True
    )
    models = sorted({m for entry in curves.values() for m in entry["models"]})
    colors = {model: f"C{i}" for i, model in enumerate(models)}
    for ax, task in zip(axes.flat, tasks):
        entry = curves[task]
        for model, splits in sorted(entry["models"].items()):
            for split, style in (("test", "-"), ("dev", "--")):
                points = splits[split]
                steps = [p[0] for p in points]
                mean = [p[1] for p in points]
                ax.plot(steps, mean, style, color=colors[model], lw=1.2, marker="." if len(points) < 8 else None)
                if any(p[3] > 1 for p in points):
                    ax.fill_between(
                        steps,
                        [p[1] - p[2] for p in points],
                        [p[1] + p[2] for p in points],
                        color=colors[model],
                        alpha=0.15,
                        lw=0,
                    )
        ax.set_title(task)
        ax.set_ylabel(entry["metric"].replace("_", " "))
        ax.set_xlabel("step")
    for ax in list(axes.flat)[len(tasks) :]:
        ax.set_visible(False)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=colors[m], label=config.label(m)) for m in models]
    handles += [Line2D([], [], color="grey", ls="-", label="test"), Line2D([], [], color="grey", ls="--", label="dev")]
    figure.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False)
    return figure, curves


# -- comparison with the published scores ---------------------------------------------------


def score_differences(published: Published, summaries: list[tuple[Path, dict]], config: PaperConfig) -> dict:
    """{(model, protocol): [(label, ours mean - published, sd)]} against `config.reference`."""
    reference = published.row(config.reference)
    out = {}
    for protocol in config.protocols:
        for path, summary in summaries:
            if protocol not in summary["protocols"]:
                raise KrelectraError(f"{path}: protocol {protocol!r} was not evaluated")
            bars = []
            for column in published.columns:
                for metric in column.metrics:
                    label = column.label.replace(" (Dev)", "")
                    label = (
                        f"{label} {'EM' if metric == 'exact_match' else metric.upper()}"
                        if len(column.metrics) > 1
                        else label
                    )
                    task = summary["tasks"].get(column.task)
                    if task is None or (column.task, metric) not in reference.scores:
                        continue
                    score = task["protocols"][protocol]["test"][metric]
                    bars.append((label, score["mean"] - reference.scores[(column.task, metric)].value, score["std"]))
            out[(summary["model"], protocol)] = bars
    return out


def comparison_figure(published: Published, summaries: list[tuple[Path, dict]], config: PaperConfig):
    """The score differences of the models measured on the upstream data (see
    `score_differences`); the models measured on other data are left out and named under
    the axes. Without any model on the upstream data, a figure with a statement and no
    axes. Returns (figure, the differences drawn: {} when none)."""
    plt = _pyplot()
    tasks = list(dict.fromkeys(column.task for column in published.columns))
    caveats = {summary["model"]: data_caveats(summary, tasks) for _, summary in summaries}
    compared = [(path, summary) for path, summary in summaries if not caveats[summary["model"]]]
    left_out = [marked_label(config.label(model), found) for model, found in caveats.items() if found]
    not_drawn = (
        "Not drawn, measured on other data than the published numbers (no comparison): " + "; ".join(left_out) + "."
        if left_out
        else None
    )
    if not compared:
        figure = plt.figure(figsize=(5.0, 1.6))
        figure.text(
            0.5,
            0.5,
            f"No model of this run was measured on the upstream data of the published\n"
            f"{config.reference} scores, so no score difference is drawn.\n\n{not_drawn}",
            ha="center",
            va="center",
            wrap=True,
        )
        return figure, {}
    differences = score_differences(published, compared, config)
    labels = list(dict.fromkeys(label for bars in differences.values() for label, _, _ in bars))
    if not labels:
        raise KrelectraError("paper figures: no task of this run has a published score to compare with")
    series = list(differences)
    models = list(dict.fromkeys(model for model, _ in series))
    width = 0.8 / max(1, len(series))
    figure, ax = plt.subplots(figsize=(max(5.0, 0.7 * len(labels) + 1.5), 3.2), constrained_layout=True)
    for i, (model, protocol) in enumerate(series):
        bars = {label: (diff, sd) for label, diff, sd in differences[(model, protocol)]}
        xs = [j + (i - (len(series) - 1) / 2) * width for j, label in enumerate(labels) if label in bars]
        ys = [bars[label][0] for label in labels if label in bars]
        errors = [bars[label][1] for label in labels if label in bars]
        # Colour: the model; hatched and lighter: the (optimistic) paper protocol.
        colour = f"C{models.index(model)}"
        ax.bar(
            xs,
            ys,
            width=width,
            yerr=errors,
            capsize=2,
            color=colour,
            edgecolor=colour,
            alpha=0.5 if protocol == "paper" else 0.9,
            hatch="//" if protocol == "paper" else None,
            label=f"{config.label(model)}, {PROTOCOL_LABELS[protocol]}",
            error_kw={"lw": 0.8},
        )
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_ylabel(f"this run − published {config.reference}\n(points)")
    figure.legend(loc="outside lower center", ncols=min(2, len(series)), frameon=False)
    if not_drawn is not None:
        ax.set_title(not_drawn, fontsize=7, wrap=True)
    return figure, differences


# -- vocabulary ------------------------------------------------------------------------------


def _counts(value, where: str) -> dict[int, int]:
    """A JSON object {"1": n, ...} as {1: n, ...}, sorted by key."""
    try:
        return dict(sorted((int(k), int(v)) for k, v in value.items()))
    except (AttributeError, TypeError, ValueError):
        raise KrelectraError(f"{where}: expected an object of counts {{length: number}}, got {value!r}") from None


def vocabulary_statistics(distributions_path: Path, heldout: str = "all") -> dict:
    """The vocabulary report's distributions (vocab/distributions.json, written by
    `krelectra vocab report --distributions`) for the held-out set `heldout`:
    {"sentences", "eojeols", "tokens", "tokens_per_eojeol", "wordpiece_per_eojeol",
    "morphemes_per_eojeol", "piece_lengths", "vocab_size"}, counts keyed by int.
    Raises KrelectraError naming the file and key when one is missing or malformed."""
    data = read_json(distributions_path)
    try:
        held = data["heldout"][heldout]
        stats: dict = {
            "sentences": int(held["sentences"]),
            "eojeols": int(held["eojeols"]),
            "tokens": int(held["tokens"]),
            "vocab_size": int(data["vocab_size"]),
        }
        kinds = {kind: data["piece_lengths"][kind] for kind in PIECE_LENGTH_LABELS}
    except KeyError as error:
        raise KrelectraError(
            f"{distributions_path}: missing key {error} (krelectra vocab report --distributions)"
        ) from None
    except (TypeError, ValueError, AttributeError) as error:
        raise KrelectraError(f"{distributions_path}: not the vocabulary report's distributions ({error})") from None
    stats["tokens_per_eojeol"] = stats["tokens"] / max(1, stats["eojeols"])
    for key in ("wordpiece_per_eojeol", "morphemes_per_eojeol"):
        stats[key] = _counts(held.get(key), f"{distributions_path}: heldout.{heldout}.{key}")
    stats["piece_lengths"] = {
        PIECE_LENGTH_LABELS[kind]: _counts(counts, f"{distributions_path}: piece_lengths.{kind}")
        for kind, counts in kinds.items()
    }
    return stats


def vocabulary_figure(distributions_path: Path):
    plt = _pyplot()
    stats = vocabulary_statistics(distributions_path)
    figure, (left, right) = plt.subplots(1, 2, figsize=(7.0, 2.8), constrained_layout=True)
    series = [
        ("WordPiece tokens", stats["wordpiece_per_eojeol"]),
        ("Mecab-Ko morphemes", stats["morphemes_per_eojeol"]),
    ]
    keys = [k for _, counts in series for k in counts] or [1]
    low, top = max(1, min(keys)), max(keys)
    for i, (label, counts) in enumerate(series):
        total = max(1, sum(counts.values()))
        mean = sum(k * v for k, v in counts.items()) / total
        xs = range(low, top + 1)
        left.bar(
            [x + (i - 0.5) * 0.4 for x in xs],
            [100.0 * counts.get(x, 0) / total for x in xs],
            width=0.4,
            color=f"C{i}",
            label=f"{label} (mean {mean:.2f})",
        )
    left.set_xlabel("per eojeol")
    left.set_ylabel("% of held-out eojeols")
    left.set_title(f"Tokens per eojeol ({stats['eojeols']:,} eojeols)")
    left.legend(frameon=False)
    longest = max([k for counts in stats["piece_lengths"].values() for k in counts] or [1])
    bottom = [0] * longest
    for i, (label, counts) in enumerate(stats["piece_lengths"].items()):
        heights = [counts.get(k, 0) for k in range(1, longest + 1)]
        right.bar(range(1, longest + 1), heights, bottom=bottom, color=f"C{i + 2}", label=label)
        bottom = [b + h for b, h in zip(bottom, heights)]
    right.set_xlabel("characters per piece (without ##)")
    right.set_ylabel("vocabulary entries")
    right.set_title(f"Piece lengths ({stats['vocab_size']:,} entries)")
    right.legend(frameon=False)
    return figure, stats


# -- all figures -------------------------------------------------------------------------------


def write_figures(
    published_path: Path,
    metrics: Path | None,
    runs: list[Path],
    summaries: list[Path],
    vocab_distributions: Path | None,
    config: PaperConfig,
    output_dir: str | os.PathLike,
) -> dict:
    """Write `{name}.pdf` and `{name}.png` for every figure and provenance.tsv; return the
    numbers drawn, by figure. Without the pretraining metrics and the vocabulary (a run
    that evaluates released encoders only), the pretraining and vocabulary figures are not
    drawn. Raises KrelectraError when only one of the two is given."""
    plt = _pyplot()
    output_dir = Path(output_dir)
    published = load_published(published_path)
    chosen = selected_summaries(summaries, config)
    task_order = [c.task for c in published.columns]
    shown_runs = [p for p in runs if not config.models or read_json(p).get("model") in config.models]
    pretraining = [metrics is not None, vocab_distributions is not None]
    if any(pretraining) and not all(pretraining):
        raise KrelectraError(
            "paper figures: the pretraining metrics (--metrics) and the vocabulary report's distributions "
            "(--vocab-distributions) come together or not at all"
        )
    builders = {
        "finetuning": (lambda: finetuning_figure(runs, task_order, config), shown_runs),
        "comparison": (
            lambda: comparison_figure(published, chosen, config),
            [published_path, *[path for path, _ in chosen]],
        ),
    }
    if metrics is not None and vocab_distributions is not None:
        builders["pretraining"] = (lambda: pretraining_figure(Path(metrics)), [metrics])
        builders["vocabulary"] = (lambda: vocabulary_figure(Path(vocab_distributions)), [vocab_distributions])
    builders = {name: builders[name] for name in FIGURES if name in builders}
    data, used = {}, {}
    for name, (build, inputs) in builders.items():
        figure, data[name] = build()
        save(figure, output_dir, name)
        plt.close(figure)
        used[name] = [Path(p) for p in inputs]
    write_provenance(output_dir / "provenance.tsv", used, config.to_dict())
    return data
