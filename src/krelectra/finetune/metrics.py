"""The metrics of the eight tasks, all ×100 as in the paper's table.

The classification, regression and NER metrics are the library calls of the reference
finetuning code (KoELECTRA's `utils.py`, which KR-ELECTRA used; spec tasks.md, "How the
reference code computes and filters"), made exactly as it makes them:

- accuracy: `(preds == labels).mean()`;
- hate speech: `sklearn.metrics.f1_score(labels, preds, average="macro")` without
  `labels=`, so a class absent from both gold and predictions is left out of the mean;
- KorSTS: `scipy.stats.pearsonr(preds, labels)[0]` and `spearmanr(preds, labels)[0]`
  (nan for a constant input, as scipy gives it);
- Naver NER: `seqeval.metrics.f1_score(labels, preds, suffix=True)` in seqeval's default
  (non-strict) mode: tags like "PER-B", an I tag after O or another type starts an entity.

KorQuAD follows the official v1.0 evaluation script (exact match and character-level F1),
written out below.
"""

from __future__ import annotations

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
    """Share of equal labels ×100: the reference's `(preds == labels).mean()`.
    Raises ValueError for sequences of different lengths or none at all."""
    _check_lengths(y_true, y_pred)
    return 100.0 * float((np.asarray(y_pred) == np.asarray(y_true)).mean())


def macro_f1(y_true: Sequence, y_pred: Sequence) -> float:
    """Macro-averaged F1 ×100 over the labels present in gold or predictions:
    the reference's `sklearn.metrics.f1_score(labels, preds, average="macro")`."""
    from sklearn.metrics import f1_score

    _check_lengths(y_true, y_pred)
    return 100.0 * float(f1_score(list(y_true), list(y_pred), average="macro"))


def correlations(y_true: Sequence[float], y_pred: Sequence[float]) -> dict[str, float]:
    """Spearman and Pearson correlation ×100: the reference's
    `scipy.stats.spearmanr(preds, labels)[0]` and `pearsonr(preds, labels)[0]`
    (nan when either side is constant)."""
    from scipy.stats import pearsonr, spearmanr

    _check_lengths(y_true, y_pred)
    preds, labels = np.asarray(y_pred, dtype=float), np.asarray(y_true, dtype=float)
    return {
        "spearman": 100.0 * float(spearmanr(preds, labels)[0]),
        "pearson": 100.0 * float(pearsonr(preds, labels)[0]),
    }


def entity_f1(true_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]]) -> float:
    """Micro-averaged entity-level F1 ×100 over all sentences: the reference's
    `seqeval.metrics.f1_score(labels, preds, suffix=True)` (default mode).
    Raises ValueError when a sentence's tag counts differ."""
    from seqeval.metrics import f1_score

    _check_lengths(true_tags, pred_tags)
    for index, (truth, prediction) in enumerate(zip(true_tags, pred_tags)):
        if len(truth) != len(prediction):
            raise ValueError(f"sentence {index}: {len(truth)} true tags but {len(prediction)} predicted")
    return 100.0 * float(f1_score([list(t) for t in true_tags], [list(p) for p in pred_tags], suffix=True))


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
            scores["macro_f1"] = macro_f1(y_true, y_pred)
        if "spearman" in task.metrics or "pearson" in task.metrics:
            scores.update(correlations(y_true, y_pred))
    missing = [name for name in task.metrics if name not in scores]
    if missing:
        raise ValueError(f"task {task.name}: no implementation for metric(s) {', '.join(missing)}")
    return {name: scores[name] for name in task.metrics}
