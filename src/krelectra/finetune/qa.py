"""Extractive QA decoding: start/end logits of the windows of a question -> the answer
text, cut out of the original context with the tokens' character offsets (so the
prediction is always a verbatim piece of the context, whatever the tokenizer did)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from krelectra.finetune.features import QAFeatures


@dataclass(frozen=True)
class Span:
    score: float
    window: int
    start: int
    end: int
    text: str


def _top(logits: np.ndarray, n: int, length: int) -> list[int]:
    """Indices of the `n` largest logits among the first `length` positions."""
    values = logits[:length]
    n = min(n, length)
    best = np.argpartition(-values, n - 1)[:n]
    return sorted(best.tolist(), key=lambda i: (-values[i], i))


def best_spans(
    start_logits,
    end_logits,
    windows: list[int],
    features: QAFeatures,
    context: str,
    n_best_size: int,
    max_answer_length: int,
) -> list[Span]:
    """The valid spans of one question over its windows, best first: start and end among
    the `n_best_size` highest logits of their window, both inside the context, the start
    in the token's max-context window, end >= start, at most `max_answer_length` tokens;
    scored by start logit + end logit."""
    spans = []
    for window in windows:
        offsets = features.offsets[window]
        max_context = features.max_context[window]
        length = len(offsets)
        starts = _top(np.asarray(start_logits[window], dtype=float), n_best_size, length)
        ends = _top(np.asarray(end_logits[window], dtype=float), n_best_size, length)
        for start in starts:
            first = offsets[start]
            if first is None or not max_context[start]:
                continue
            for end in ends:
                last = offsets[end]
                if last is None or end < start or end - start + 1 > max_answer_length:
                    continue
                score = float(start_logits[window][start]) + float(end_logits[window][end])
                text = context[first[0] : last[1]]
                spans.append(Span(score, window, start, end, text))
    spans.sort(key=lambda span: (-span.score, span.window, span.start, span.end))
    return spans[:n_best_size]


def decode(
    start_logits, end_logits, features: QAFeatures, examples: list[dict], n_best_size: int, max_answer_length: int
) -> dict[str, str]:
    """Question id -> predicted answer text ("" when no window offers a valid span)."""
    windows_of: dict[int, list[int]] = {}
    for window, example_index in enumerate(features.example_index):
        windows_of.setdefault(example_index, []).append(window)
    predictions = {}
    for index, example in enumerate(examples):
        spans = best_spans(
            start_logits,
            end_logits,
            windows_of.get(index, []),
            features,
            example["context"],
            n_best_size,
            max_answer_length,
        )
        predictions[example["id"]] = spans[0].text if spans else ""
    return predictions
