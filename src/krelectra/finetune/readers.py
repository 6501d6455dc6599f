"""Readers for the upstream file formats of the eight finetuning tasks (spec: tasks.md).

Each reader returns every record of one file as a plain dict (see `Task` in tasks.py for
the shape per problem type). The only records left out are those the reference code
skips (an empty sentence in PAWS or Question Pair); they are counted in `skipped`.
Anything else that does not fit the format stops with the file and line at fault.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from krelectra.errors import KrelectraError

NSMC_LABELS = ("0", "1")
PAWS_LABELS = ("0", "1")
KORNLI_LABELS = ("contradiction", "entailment", "neutral")
QUESTION_PAIR_LABELS = ("0", "1")
HATE_SPEECH_LABELS = ("none", "offensive", "hate")

# Naver NER: 14 entity types, the B/I marker is a suffix ("PER-B"), plus "O".
NER_ENTITY_TYPES = ("PER", "FLD", "AFW", "ORG", "LOC", "CVL", "DAT", "TIM", "NUM", "EVT", "ANM", "PLT", "MAT", "TRM")
NER_LABELS = ("O",) + tuple(f"{kind}-{marker}" for kind in NER_ENTITY_TYPES for marker in ("B", "I"))

KORSTS_MAX_SCORE = 5.0


@dataclass
class ReadResult:
    examples: list[dict]
    skipped: int
    path: Path


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(1-based line number, line without its line break); blank lines are not records.
    Lines end at LF (a CR before it is dropped); a UTF-8 byte order mark is dropped."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 (closed by the with below)
    except OSError as error:
        raise KrelectraError(f"{path}: cannot read: {error.strerror or error}") from error
    with handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as error:
                raise KrelectraError(
                    f"{path}:{number}: not UTF-8 text ({error.reason} at byte {error.start + 1} of the line)"
                ) from error
            if line:
                yield number, line


def _rows(path: Path, columns: int, header: bool) -> Iterator[tuple[str, list[str]]]:
    """Tab-separated records with exactly `columns` fields, as ("path:line", fields);
    the header line, if any, is checked for its column count and skipped. A file
    without a single record is an error."""
    lines = _lines(path)
    if header:
        first = next(lines, None)
        if first is None:
            raise KrelectraError(f"{path}: empty file (expected a header line)")
        number, line = first
        found = len(line.split("\t"))
        if found != columns:
            raise KrelectraError(f"{path}:{number}: header has {found} tab-separated columns, expected {columns}")
    records = 0
    for number, line in lines:
        fields = line.split("\t")
        if len(fields) != columns:
            raise KrelectraError(f"{path}:{number}: record has {len(fields)} tab-separated columns, expected {columns}")
        records += 1
        yield f"{path}:{number}", fields
    if not records:
        raise KrelectraError(f"{path}: no records{' after the header' if header else ' (empty file)'}")


def _label(where: str, value: str, labels: tuple[str, ...]) -> str:
    if value not in labels:
        raise KrelectraError(f"{where}: unknown label {value!r} (expected one of {', '.join(labels)})")
    return value


def _empty(text: str) -> bool:
    return not text.strip()


def read_nsmc(path: Path) -> ReadResult:
    """NSMC `ratings_*.txt`: header `id document label`; text = document, label 0/1."""
    path = Path(path)
    examples = [
        {"text": fields[1], "label": _label(where, fields[2], NSMC_LABELS)}
        for where, fields in _rows(path, 3, header=True)
    ]
    return ReadResult(examples, 0, path)


def read_naver_ner(path: Path) -> ReadResult:
    """Naver NER `*.tsv`: no header; `words<TAB>tags`, one suffix-style tag per word."""
    path = Path(path)
    examples = []
    for where, fields in _rows(path, 2, header=False):
        words, tags = fields[0].split(), fields[1].split()
        if len(words) != len(tags):
            raise KrelectraError(f"{where}: {len(words)} words but {len(tags)} tags")
        for tag in tags:
            _label(where, tag, NER_LABELS)
        examples.append({"words": words, "tags": tags})
    return ReadResult(examples, 0, path)


def _read_pairs(
    path: Path, columns: int, first: int, label_column: int, labels: tuple[str, ...], skip_empty: bool
) -> ReadResult:
    path = Path(path)
    examples, skipped = [], 0
    for where, fields in _rows(path, columns, header=True):
        text, text_pair = fields[first], fields[first + 1]
        label = _label(where, fields[label_column], labels)
        if skip_empty and (_empty(text) or _empty(text_pair)):
            skipped += 1  # the reference drops pairs with an empty side
            continue
        examples.append({"text": text, "text_pair": text_pair, "label": label})
    return ReadResult(examples, skipped, path)


def read_paws(path: Path) -> ReadResult:
    """PAWS-X (ko) `*.tsv`: header `id sentence1 sentence2 label`; empty sentences skipped."""
    return _read_pairs(path, 4, 1, 3, PAWS_LABELS, skip_empty=True)


def read_kornli(path: Path) -> ReadResult:
    """KorNLI `*.tsv`: header `sentence1 sentence2 gold_label`."""
    return _read_pairs(path, 3, 0, 2, KORNLI_LABELS, skip_empty=False)


def read_question_pair(path: Path) -> ReadResult:
    """Question Pair `*.tsv`: header `question1 question2 is_duplicate`; empty questions skipped."""
    return _read_pairs(path, 3, 0, 2, QUESTION_PAIR_LABELS, skip_empty=True)


def read_korsts(path: Path) -> ReadResult:
    """KorSTS `sts-*.tsv`: header `genre filename year id score sentence1 sentence2`."""
    path = Path(path)
    examples = []
    for where, fields in _rows(path, 7, header=True):
        try:
            score = float(fields[4])
        except ValueError:
            raise KrelectraError(f"{where}: score {fields[4]!r} is not a number") from None
        if not (math.isfinite(score) and 0.0 <= score <= KORSTS_MAX_SCORE):
            raise KrelectraError(f"{where}: score {fields[4]!r} is outside 0-{KORSTS_MAX_SCORE:g}")
        examples.append({"text": fields[5], "text_pair": fields[6], "label": score})
    return ReadResult(examples, 0, path)


def read_hate_speech(path: Path) -> ReadResult:
    """Korean Hate Speech `*.tsv`: header `title comment bias hate`; text = comment, label = hate."""
    path = Path(path)
    examples = [
        {"text": fields[1], "label": _label(where, fields[3], HATE_SPEECH_LABELS)}
        for where, fields in _rows(path, 4, header=True)
    ]
    return ReadResult(examples, 0, path)


def _field(where: str, record, key: str, kind: type):
    if not isinstance(record, dict) or key not in record:
        raise KrelectraError(f"{where}: missing {key!r}")
    value = record[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise KrelectraError(f"{where}: {key!r} should be a {kind.__name__}, not {type(value).__name__}")
    return value


def read_korquad(path: Path) -> ReadResult:
    """KorQuAD v1.0 (SQuAD v1.1 JSON): one example per question, with all its answers
    as given. An `answer_start` that does not point at its text is kept: evaluation
    compares answer texts only, and training maps the offset to whitespace words as the
    reference does, skipping the example only where the text is not found there
    (features.locate_answer)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise KrelectraError(f"{path}: cannot read: {error.strerror or error}") from error
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise KrelectraError(f"{path}:{line}: not UTF-8 text ({error.reason})") from error
    except json.JSONDecodeError as error:
        raise KrelectraError(f"{path}: not valid JSON: {error}") from error
    examples, ids = [], set()
    for a, article in enumerate(_field(str(path), document, "data", list)):
        for p, paragraph in enumerate(_field(f"{path}: data[{a}]", article, "paragraphs", list)):
            where = f"{path}: data[{a}].paragraphs[{p}]"
            context = _field(where, paragraph, "context", str)
            for q, qa in enumerate(_field(where, paragraph, "qas", list)):
                qid = _field(f"{where}.qas[{q}]", qa, "id", str)
                at = f"{path}: question {qid}"
                if qid in ids:
                    raise KrelectraError(f"{at}: duplicate question id")
                ids.add(qid)
                question = _field(at, qa, "question", str)
                answers = _field(at, qa, "answers", list)
                if not answers:
                    raise KrelectraError(f"{at}: no answers")
                checked = []
                for answer in answers:
                    text = _field(at, answer, "text", str)
                    start = _field(at, answer, "answer_start", int)
                    checked.append({"text": text, "answer_start": start})
                examples.append({"id": qid, "question": question, "context": context, "answers": checked})
    if not examples:
        raise KrelectraError(f"{path}: no questions (data holds no paragraph with qas)")
    return ReadResult(examples, 0, path)
