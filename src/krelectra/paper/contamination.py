"""The contamination table: how much of each task's evaluation text is in the pretraining
corpus (the audit, `krelectra.corpus.contamination`), and, for the models pretrained on
that corpus, the test score on the clean subset beside the score on all test examples,
as lm-evaluation-harness reports decontaminated results.

The clean subset of a task's test split: the examples none of whose audited parts shares
an n-gram with the corpus (for KorQuAD, neither the question with its answers nor its
context). Scores are the task's headline metric (×100), the mean over the model's seeds,
under the first protocol of `paper.protocols`; they are recomputed from each run's
predictions.jsonl with the metrics of `krelectra.paper.uncertainty`.
"""

from __future__ import annotations

from pathlib import Path

from krelectra.corpus.audit_format import CONTEXTS, QUESTION_ANSWERS, read_audit
from krelectra.errors import KrelectraError
from krelectra.finetune.tasks import TASKS, Task
from krelectra.io import read_json
from krelectra.paper.config import PROTOCOL_LABELS, PaperConfig
from krelectra.paper.layout import EMPTY, Cell, Column, Panel, Section, Table

SCORED_SPLIT = "test"
PART_LABELS = {QUESTION_ANSWERS: "questions + answers", CONTEXTS: "contexts"}


def headline_score(task: Task, gold: list, predicted: list) -> float:
    """The task's first metric ×100 over the given examples (the library calls of
    `krelectra.paper.uncertainty`)."""
    from krelectra.paper.uncertainty import _library_score, _per_example

    name = task.metrics[0]
    per_example = _per_example(task, gold, predicted)
    if name in per_example:
        return float(per_example[name].mean())
    return float(_library_score(task, gold, predicted)[name])


def clean_scores(runs: list[Path], task: Task, dirty: set[int], protocol: str) -> tuple[float, float, int] | None:
    """(full score, clean-subset score, clean examples) of one model's runs on `task`,
    each the mean over the runs; None when no example is clean. Raises KrelectraError
    when a run lacks the protocol or the contaminated indices exceed its predictions."""
    from krelectra.paper.uncertainty import read_run

    full, clean, kept = [], [], 0
    for path in runs:
        run = read_run(path, task)
        if protocol not in run.predictions:
            raise KrelectraError(f"{run.path}: no predictions of protocol {protocol!r}")
        if dirty and max(dirty) >= len(run.gold):
            raise KrelectraError(
                f"{run.path}: {len(run.gold)} test predictions, but the contamination audit names example "
                f"{max(dirty)}; the audit and the finetuning runs are of different data"
            )
        predicted = run.predictions[protocol]
        keep = [i for i in range(len(run.gold)) if i not in dirty]
        full.append(headline_score(task, run.gold, predicted))
        if keep:
            clean.append(headline_score(task, [run.gold[i] for i in keep], [predicted[i] for i in keep]))
        kept = len(keep)
    if not clean:
        return None
    return sum(full) / len(full), sum(clean) / len(clean), kept


def contamination_table(audit_path: Path, runs: list[Path], models: list[str], config: PaperConfig) -> Table:
    """The table from the audit at `audit_path`; score columns for each of `models` (the
    models pretrained on the audited corpus) whose runs are among `runs`."""
    audit = read_audit(audit_path)
    protocol = config.protocols[0] if config.protocols else "paper"
    by_model: dict[str, dict[str, list[Path]]] = {}
    for path in runs:
        run = read_json(path)
        if run.get("model") in models:
            by_model.setdefault(run["model"], {}).setdefault(run["task"], []).append(Path(path))
    shown = [m for m in models if m in by_model]
    dirty: dict[str, set[int]] = {}
    for row in audit["splits"]:
        if row["split"] == SCORED_SPLIT:
            dirty.setdefault(row["task"], set()).update(row["contaminated_indices"])
    decimals = config.decimals
    rows = []
    order = {name: i for i, name in enumerate(TASKS)}

    def position(row: dict) -> tuple:
        return order.get(row["task"], len(order)), row["split"], row["part"] == CONTEXTS

    for row in sorted(audit["splits"], key=position):
        judged = row["examples"] - row["too_short"]
        part = PART_LABELS.get(row["part"], "")
        cells = [
            Cell.of(row["task"] + (f" ({part})" if part else "")),
            Cell.of(row["split"]),
            Cell.of(f"{row['examples']:,}"),
            Cell.of(f"{judged:,}"),
            Cell.of(f"{row['contaminated']:,}"),
            Cell.of(f"{100 * row['contaminated_share']:.1f}" if judged else EMPTY),
            Cell.of(f"{row['clean']:,} / {row['dirty']:,}"),
        ]
        first_part = row["part"] != CONTEXTS
        for model in shown:
            task_runs = by_model[model].get(row["task"], [])
            scores = None
            if row["split"] == SCORED_SPLIT and first_part and task_runs:
                scores = clean_scores(task_runs, TASKS[row["task"]], dirty.get(row["task"], set()), protocol)
            if scores is None:
                cells += [Cell.of(EMPTY), Cell.of(EMPTY)]
            else:
                cells += [Cell.of(f"{scores[0]:.{decimals}f}"), Cell.of(f"{scores[1]:.{decimals}f} ({scores[2]:,})")]
        rows.append(cells)
    columns = [
        Column("Task", align="l"),
        Column("Split", align="l"),
        Column("Examples"),
        Column("Judged"),
        Column("Contaminated"),
        Column("Contaminated", "% of judged"),
        Column("Clean / dirty"),
    ]
    for model in shown:
        label = config.labels.get(model, model)
        columns += [Column(f"{label}: all", "test score"), Column(f"{label}: clean", "test score, examples")]
    n = audit["ngram"]
    notes = [
        f"Unit: {n}-character n-grams of the text with all whitespace and symbols removed (GPT-4's unit, "
        "OpenAI 2023, appendix C), so re-spaced or re-punctuated text is found; docs/contamination.md "
        "measures the choice. Judged: examples with at least one n-gram. Contaminated: any n-gram in a "
        "corpus document after cleaning, before deduplication and decontamination (GPT-3's rule, "
        "Brown et al. 2020, appendix C).",
        f"Clean / dirty: under {100 * audit['clean_below']:.0f}% / at least {100 * audit['dirty_from']:.0f}% "
        "of the example's characters inside a found n-gram (Llama 2's buckets, Touvron et al. 2023, A.6).",
        "Evaluated splits: test, and dev where the task has its own dev file; KorQuAD questions with their "
        "answers and its context paragraphs apart (contexts are Wikipedia paragraphs).",
        f"{audit['corpus_documents_with_evaluation_ngrams']:,} corpus documents hold evaluation n-grams "
        f"({audit['evaluation_ngrams_found']:,} of {audit['evaluation_ngrams']:,} distinct n-grams found).",
    ]
    if shown:
        notes.append(
            f"Scores: headline metric, mean over seeds, {PROTOCOL_LABELS.get(protocol, protocol)}; "
            "clean: on the test examples no part of which is contaminated (as lm-evaluation-harness reports "
            "decontaminated scores); only models pretrained on this corpus."
        )
    return Table(
        "contamination",
        "Evaluation text in the pretraining corpus",
        [Panel(None, columns, [Section(None, rows)])],
        notes,
        wide=True,
    )
