"""The metrics of the eight tasks, all ×100 as in the paper's table.

Each follows a reference definition exactly (tests compare against the reference
libraries): scikit-learn's macro F1, scipy's Pearson and Spearman (average ranks for
ties), seqeval's default entity F1 (read with suffix-style tags "PER-B"), and the
official KorQuAD v1.0 evaluation (exact match and character-level F1).
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Sequence

import numpy as np


def _check_lengths(y_true: Sequence, y_pred: Sequence) -> None:
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} references but {len(y_pred)} predictions")
    if not len(y_true):
        raise ValueError("no examples to score")


def accuracy(y_true: Sequence, y_pred: Sequence) -> float:
    _check_lengths(y_true, y_pred)
    return 100.0 * sum(t == p for t, p in zip(y_true, y_pred)) / len(y_true)


def macro_f1(y_true: Sequence, y_pred: Sequence, labels: Sequence) -> float:
    """Unweighted mean of the per-label F1 over `labels`; a label with no true and no
    predicted example scores 0 (scikit-learn's `f1_score(average="macro")`)."""
    _check_lengths(y_true, y_pred)
    scores = []
    for label in labels:
        tp = sum(t == label and p == label for t, p in zip(y_true, y_pred))
        fp = sum(t != label and p == label for t, p in zip(y_true, y_pred))
        fn = sum(t == label and p != label for t, p in zip(y_true, y_pred))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return 100.0 * sum(scores) / len(scores)


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    dx, dy = x - x.mean(), y - y.mean()
    denominator = math.sqrt(float(dx @ dx) * float(dy @ dy))
    if denominator == 0.0:
        return math.nan  # a constant input has no correlation (scipy also gives nan)
    return max(-1.0, min(1.0, float(dx @ dy) / denominator))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks; tied values share the mean of their ranks."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), dtype=float)
    sorted_values = values[order]
    start = 0
    while start < len(values):
        end = start
        while end + 1 < len(values) and sorted_values[end + 1] == sorted_values[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2.0 + 1.0
        start = end + 1
    return ranks


def correlations(y_true: Sequence[float], y_pred: Sequence[float]) -> dict[str, float]:
    """Spearman (Pearson of average ranks) and Pearson correlation, ×100."""
    _check_lengths(y_true, y_pred)
    x, y = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    return {
        "spearman": 100.0 * _pearson(_average_ranks(x), _average_ranks(y)),
        "pearson": 100.0 * _pearson(x, y),
    }


def _split_suffix_tag(tag: str) -> tuple[str, str]:
    """("B" | "I" | "O", entity type) of a suffix-style tag like "PER-B"."""
    if tag == "O":
        return "O", ""
    kind, _, marker = tag.rpartition("-")
    if marker not in ("B", "I") or not kind:
        raise ValueError(f"not a suffix-style IOB tag: {tag!r}")
    return marker, kind


def entities(tags: Sequence[str]) -> set[tuple[str, int, int]]:
    """(type, first, last) of each entity in one sentence, read as seqeval does by
    default: an entity starts at a B tag or at an I tag that follows O or another type,
    and goes on over I tags of its type."""
    found = set()
    current = None  # [type, first]
    for index, tag in enumerate(tags):
        marker, kind = _split_suffix_tag(tag)
        continues = current is not None and marker == "I" and kind == current[0]
        if current is not None and not continues:
            found.add((current[0], current[1], index - 1))
            current = None
        if marker != "O" and not continues:
            current = [kind, index]
    if current is not None:
        found.add((current[0], current[1], len(tags) - 1))
    return found


def entity_f1(true_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]]) -> float:
    """Micro-averaged entity-level F1 over all sentences (seqeval's `f1_score`), ×100."""
    _check_lengths(true_tags, pred_tags)
    n_true = n_pred = n_correct = 0
    for index, (truth, prediction) in enumerate(zip(true_tags, pred_tags)):
        if len(truth) != len(prediction):
            raise ValueError(f"sentence {index}: {len(truth)} true tags but {len(prediction)} predicted")
        true_entities, pred_entities = entities(truth), entities(prediction)
        n_true += len(true_entities)
        n_pred += len(pred_entities)
        n_correct += len(true_entities & pred_entities)
    if n_correct == 0:
        return 0.0
    precision, recall = n_correct / n_pred, n_correct / n_true
    return 100.0 * 2 * precision * recall / (precision + recall)


# KorQuAD v1.0 evaluation: these quotes and brackets become spaces before lower-casing
# and deleting ASCII punctuation.
_KORQUAD_TO_SPACE = re.compile("['\"《》<>〈〉()‘’]")
_ASCII_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    text = _KORQUAD_TO_SPACE.sub(" ", text).lower()
    text = "".join(ch for ch in text if ch not in _ASCII_PUNCTUATION)
    return " ".join(text.split())


def korquad_exact_match(prediction: str, truth: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(truth))


def korquad_f1(prediction: str, truth: str) -> float:
    """F1 over the characters of the normalized strings (whitespace not counted)."""
    predicted = Counter("".join(normalize_answer(prediction).split()))
    gold = Counter("".join(normalize_answer(truth).split()))
    same = sum((predicted & gold).values())
    if same == 0:
        return 0.0
    precision, recall = same / sum(predicted.values()), same / sum(gold.values())
    return 2 * precision * recall / (precision + recall)


def korquad_scores(predictions: dict[str, str], references: dict[str, list[str]]) -> dict[str, float]:
    """Mean over the questions of `references` of the best score against any gold
    answer; a question without a prediction scores 0."""
    if not references:
        raise ValueError("no questions to score")
    em = f1 = 0.0
    for qid, answers in references.items():
        if qid not in predictions:
            continue
        em += max(korquad_exact_match(predictions[qid], answer) for answer in answers)
        f1 += max(korquad_f1(predictions[qid], answer) for answer in answers)
    return {"exact_match": 100.0 * em / len(references), "f1": 100.0 * f1 / len(references)}


def compute(task, y_true, y_pred) -> dict[str, float]:
    """Every metric of `task` (a `tasks.Task`). Labels are compared as given; for
    token classification these are lists of tag lists; for extractive QA, `y_true` maps
    question id -> gold answer texts and `y_pred` maps question id -> predicted text."""
    if task.problem == "token_classification":
        scores = {"f1": entity_f1(y_true, y_pred)}
    elif task.problem == "extractive_qa":
        scores = korquad_scores(y_pred, y_true)
    else:
        scores = {}
        if "accuracy" in task.metrics:
            scores["accuracy"] = accuracy(y_true, y_pred)
        if "macro_f1" in task.metrics:
            scores["macro_f1"] = macro_f1(y_true, y_pred, task.labels)
        if "spearman" in task.metrics or "pearson" in task.metrics:
            scores.update(correlations(y_true, y_pred))
    missing = [name for name in task.metrics if name not in scores]
    if missing:
        raise ValueError(f"task {task.name}: no implementation for metric(s) {', '.join(missing)}")
    return {name: scores[name] for name in task.metrics}
