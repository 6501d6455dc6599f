"""Task examples -> model inputs, one encoder per problem type (fast tokenizers only:
NER and KorQuAD need word ids and character offsets).

Features are plain dicts of Python lists without padding: the data collator pads each
batch to its longest member (dynamic padding).
"""

from __future__ import annotations

import bisect
import logging
import re
from dataclasses import dataclass, field

from krelectra.errors import KrelectraError
from krelectra.text import normalise, original_offsets

log = logging.getLogger(__name__)

IGNORE_INDEX = -100  # label of positions that are left out of the loss (PyTorch's default)


def _model_inputs(encoding, index: int, input_names) -> dict:
    return {name: encoding[name][index] for name in input_names if name in encoding}


def encode_sequences(
    tokenizer, examples: list[dict], max_length: int, label2id: dict | None, with_labels: bool
) -> list[dict]:
    """Single sentences and sentence pairs (classification or regression): `text` and,
    when present, `text_pair`, truncated to `max_length` tokens (the longer side first).
    Pairs get the tokenizer's own template (token type ids only where its model takes
    them). A slow tokenizer, which has no normalizer step to put first, gets the texts
    normalised (krelectra/text.py)."""
    if not examples:
        return []
    texts = [example["text"] for example in examples]
    pairs = [example["text_pair"] for example in examples] if "text_pair" in examples[0] else None
    if not tokenizer.is_fast:
        texts = [normalise(text) for text in texts]
        pairs = None if pairs is None else [normalise(text) for text in pairs]
    encoding = tokenizer(texts, pairs, truncation=True, max_length=max_length)
    features = []
    for index, example in enumerate(examples):
        feature = _model_inputs(encoding, index, tokenizer.model_input_names)
        if with_labels:
            label = example["label"]
            feature["labels"] = float(label) if label2id is None else label2id[label]
        features.append(feature)
    return features


@dataclass
class WordFeatures:
    """Token classification inputs plus, per example, the position of each word's first
    sub-token (None when the word was truncated away or has no token)."""

    features: list[dict]
    first_token: list[list[int | None]]

    @property
    def words_without_token(self) -> int:
        return sum(position is None for positions in self.first_token for position in positions)


def encode_words(tokenizer, examples: list[dict], max_length: int, label2id: dict, with_labels: bool) -> WordFeatures:
    """Naver NER: the first sub-token of each word carries the word's tag; the other
    sub-tokens and the special tokens get IGNORE_INDEX, so they count neither in the
    loss nor in evaluation (as in the reference code)."""
    features: list[dict] = []
    first_token: list[list[int | None]] = []
    if not examples:
        return WordFeatures(features, first_token)
    encoding = tokenizer(
        [example["words"] for example in examples], is_split_into_words=True, truncation=True, max_length=max_length
    )
    for index, example in enumerate(examples):
        positions: list[int | None] = [None] * len(example["words"])
        for position, word in enumerate(encoding.word_ids(index)):
            if word is not None and positions[word] is None:
                positions[word] = position
        feature = _model_inputs(encoding, index, tokenizer.model_input_names)
        if with_labels:
            labels = [IGNORE_INDEX] * len(feature["input_ids"])
            for word, first in enumerate(positions):
                if first is not None:
                    labels[first] = label2id[example["tags"][word]]
            feature["labels"] = labels
        features.append(feature)
        first_token.append(positions)
    return WordFeatures(features, first_token)


def words_from_token_predictions(
    token_label_ids, first_token: list[int | None], id2label, fill: str = "O"
) -> list[str]:
    """One tag per word, read at the word's first sub-token; a word that lost its tokens
    to truncation is predicted `fill` (so every gold word is scored)."""
    return [fill if position is None else id2label[int(token_label_ids[position])] for position in first_token]


@dataclass
class PairTemplate:
    """Where a tokenizer puts its special tokens around a (question, context) pair:
    prefix + question + middle + context + suffix, each part with its token type id."""

    prefix: list[int]
    middle: list[int]
    suffix: list[int]
    question_type: int
    context_type: int
    special_types: tuple[int, int, int]

    @classmethod
    def of(cls, tokenizer) -> PairTemplate:
        encoding = tokenizer("a", "b", add_special_tokens=True)
        sequence_ids = encoding.sequence_ids(0)
        ids = encoding["input_ids"]
        types = encoding.get("token_type_ids") or [0] * len(ids)
        first = [i for i, s in enumerate(sequence_ids) if s == 0]
        second = [i for i, s in enumerate(sequence_ids) if s == 1]
        if not first or not second or first[-1] >= second[0]:
            raise KrelectraError(
                f"tokenizer {type(tokenizer).__name__}: cannot find the question and context in a pair encoding"
            )
        q_end, c_start, c_end = first[-1] + 1, second[0], second[-1] + 1
        return cls(
            prefix=ids[: first[0]],
            middle=ids[q_end:c_start],
            suffix=ids[c_end:],
            question_type=types[first[0]],
            context_type=types[c_start],
            special_types=(
                types[0] if first[0] else 0,
                types[q_end] if c_start > q_end else 0,
                types[c_end] if c_end < len(ids) else 0,
            ),
        )

    @property
    def num_special(self) -> int:
        return len(self.prefix) + len(self.middle) + len(self.suffix)


@dataclass
class QAFeatures:
    """KorQuAD windows. Per window: model inputs, the example it comes from, the
    character span in the context of each token (None outside the context), and whether
    the window is the token's "max context" window (the window where it has the most
    context on both sides, as in the BERT SQuAD reference; used to pick answer starts)."""

    features: list[dict] = field(default_factory=list)
    example_index: list[int] = field(default_factory=list)
    offsets: list[list[tuple[int, int] | None]] = field(default_factory=list)
    max_context: list[list[bool]] = field(default_factory=list)
    answers_outside: int = 0  # training windows whose answer is not inside (target: the first token)
    answers_not_found: list[str] = field(default_factory=list)  # ids of skipped training questions


# Whitespace as transformers' SquadExample splits a context into words (`_is_whitespace`).
_SQUAD_WORD = re.compile("[^ \t\r\n\u202f]+")


def locate_answer(context: str, text: str, answer_start: int) -> tuple[int, int] | None:
    """Character span [start, end) of a training answer in `context`, or None when the
    reference would skip the example.

    The rule of transformers' `SquadExample` and `squad_convert_example_to_features`
    (used by the reference code; spec tasks.md): the context is split into whitespace
    words; `answer_start` is mapped to the word holding that character, the answer's end
    (`answer_start + len(text) - 1`, clipped to the context) to the word holding it; if
    the answer text with its whitespace collapsed is not inside those words joined by
    single spaces, the example is skipped ("Could not find answer"). When `answer_start`
    points exactly at `text` that span is returned as is; otherwise the first occurrence
    of the answer inside those words (where the reference's `_improve_answer_span`
    searches for it). An empty answer or an offset outside the context is skipped too
    (the reference would fail on it)."""
    cleaned = " ".join(text.split())
    if not cleaned or not 0 <= answer_start < len(context):
        return None
    if context[answer_start : answer_start + len(text)] == text:
        return answer_start, answer_start + len(text)
    words = [match.span() for match in _SQUAD_WORD.finditer(context)]
    starts = [start for start, _ in words]
    # The word holding a character; on whitespace, the word before it (as SquadExample).
    first = bisect.bisect_right(starts, answer_start) - 1
    last = bisect.bisect_right(starts, min(answer_start + len(text) - 1, len(context) - 1)) - 1
    if first < 0:
        return None
    joined, positions = [], []  # the words joined by single spaces; each character's context index
    for index, (start, end) in enumerate(words[first : last + 1]):
        if index:
            joined.append(" ")
            positions.append(start - 1)
        joined.append(context[start:end])
        positions.extend(range(start, end))
    found = "".join(joined).find(cleaned)
    if found < 0:
        return None
    return positions[found], positions[found + len(cleaned) - 1] + 1


def without_whitespace(text: str, offsets: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Token spans without the whitespace at their ends. A SentencePiece tokenizer whose
    Metaspace step turns the space before a word into `▁` reports that space as part of the
    word's first token (" 1944년" for "▁1944"); an answer cut at these offsets would start
    with it. A token that is only whitespace (a lone `▁`) gets an empty span at its end."""
    trimmed = []
    for start, end in offsets:
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        trimmed.append((start, end))
    return trimmed


def _window_starts(num_tokens: int, window: int, doc_stride: int) -> list[int]:
    """Starts of the windows over a context of `num_tokens`: every `doc_stride` tokens
    until a window reaches the end (the BERT reference's "doc_stride")."""
    starts, start = [], 0
    while True:
        starts.append(start)
        if start + window >= num_tokens:
            return starts
        start += min(window, doc_stride)


def encode_qa(
    tokenizer, examples: list[dict], max_length: int, doc_stride: int, max_query_length: int, with_labels: bool
) -> QAFeatures:
    """Sliding windows over each context: [prefix] question [middle] context window
    [suffix] of at most `max_length` tokens, the question cut to `max_query_length`
    tokens, consecutive windows `doc_stride` tokens apart. Training windows get the
    token span of the first answer, or the first token (the [CLS] "no answer" target of
    the reference) when the answer is not wholly inside the window. A training example
    whose answer `locate_answer` cannot find is skipped with a warning and its id listed
    in `answers_not_found`, as the reference does."""
    result = QAFeatures()
    if not examples:
        return result
    template = PairTemplate.of(tokenizer)
    questions = tokenizer([e["question"] for e in examples], add_special_tokens=False)["input_ids"]
    contexts = tokenizer([e["context"] for e in examples], add_special_tokens=False, return_offsets_mapping=True)
    uses_types = "token_type_ids" in tokenizer.model_input_names
    for index, example in enumerate(examples):
        question = questions[index][:max_query_length]
        context_ids = contexts["input_ids"][index]
        context_offsets = without_whitespace(
            example["context"], original_offsets(example["context"], contexts["offset_mapping"][index])
        )
        window = max_length - len(question) - template.num_special
        if window < 1:
            raise KrelectraError(
                f"max_seq_length {max_length} leaves no room for the context after a question of "
                f"{len(question)} tokens (max_query_length {max_query_length})"
            )
        if not context_ids:
            continue
        answer_span = None
        if with_labels:
            answer = example["answers"][0]
            located = locate_answer(example["context"], answer["text"], answer["answer_start"])
            if located is None:
                start = answer["answer_start"]
                log.warning(
                    "Could not find answer of question %s: %r at answer_start %d (the context there reads %r); "
                    "example skipped",
                    example["id"],
                    answer["text"],
                    start,
                    example["context"][max(start, 0) : max(start, 0) + len(answer["text"])],
                )
                result.answers_not_found.append(example["id"])
                continue
            char_start, char_end = located
            covering = [i for i, (s, e) in enumerate(context_offsets) if s < char_end and e > char_start]
            if covering:
                answer_span = (covering[0], covering[-1])
        starts = _window_starts(len(context_ids), window, doc_stride)
        lengths = [min(window, len(context_ids) - start) for start in starts]
        head = template.prefix + question + template.middle
        for start, length in zip(starts, lengths):
            input_ids = head + context_ids[start : start + length] + template.suffix
            feature = {"input_ids": input_ids, "attention_mask": [1] * len(input_ids)}
            if uses_types:
                feature["token_type_ids"] = (
                    [template.special_types[0]] * len(template.prefix)
                    + [template.question_type] * len(question)
                    + [template.special_types[1]] * len(template.middle)
                    + [template.context_type] * length
                    + [template.special_types[2]] * len(template.suffix)
                )
            offsets = (
                [None] * len(head)
                + [(s, e) for s, e in context_offsets[start : start + length]]
                + [None] * len(template.suffix)
            )
            max_context = [False] * len(input_ids)
            for i in range(length):
                max_context[len(head) + i] = _is_max_context(starts, lengths, start, start + i)
            if with_labels:
                if answer_span and start <= answer_span[0] and answer_span[1] < start + length:
                    feature["start_positions"] = len(head) + answer_span[0] - start
                    feature["end_positions"] = len(head) + answer_span[1] - start
                else:
                    feature["start_positions"] = feature["end_positions"] = 0
                    result.answers_outside += 1
            result.features.append(feature)
            result.example_index.append(index)
            result.offsets.append(offsets)
            result.max_context.append(max_context)
    return result


def _is_max_context(starts: list[int], lengths: list[int], this_start: int, token: int) -> bool:
    """Whether the window at `this_start` gives `token` the best score min(left, right)
    context + 0.01 * window length among the windows that hold it (BERT reference)."""
    best_score, best_start = None, None
    for start, length in zip(starts, lengths):
        if not start <= token < start + length:
            continue
        left, right = token - start, start + length - 1 - token
        score = min(left, right) + 0.01 * length
        if best_score is None or score > best_score:
            best_score, best_start = score, start
    return best_start == this_start
