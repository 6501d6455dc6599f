"""Cleaning one document into sentences.

The steps and their defaults follow what KoELECTRA documented for its Korean corpora
(NFC, no control characters, no URLs/e-mails/mentions, shortened character repeats,
one sentence per line); each one but NFC can be switched off in the config. NFC is
`krelectra.text.normalise`, the normalisation the shipped tokenizer and the finetuning
inputs get too, so it is always on.

Every pattern runs in time linear in the text (a multi-megabyte line without spaces
must not take hours): a pattern that starts with a repeated class only starts where
the run of that class starts.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, fields

from krelectra.errors import KrelectraError
from krelectra.text import normalise

URL = re.compile(r"(?:https?://|ftp://|www\.)\S+", re.IGNORECASE)
# The local part starts only where a run of its characters starts (otherwise every
# position of a long run would rescan the run: quadratic time).
EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
MENTION = re.compile(r"(?<![\w@])@[\w.]+")
HANJA = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
WHITESPACE = re.compile(r"\s+")
# A sentence ends at . ? ! or … (possibly repeated, possibly followed by a closing quote
# or bracket) before whitespace. A period after a digit ("2010. 11. 12.") is not an end.
SENTENCE_END = re.compile(r"(?:(?<!\d)\.|[?!…])+[\"'”’)\]]*(?=\s)")


@dataclass(frozen=True)
class CleaningOptions:
    nfc: bool = True
    remove_control: bool = True
    remove_urls: bool = True
    remove_emails: bool = True
    remove_mentions: bool = True
    max_char_repeat: int | None = 2
    remove_hanja: bool = False
    split_sentences: bool = True
    min_sentence_chars: int = 5
    max_sentence_chars: int = 1000

    @classmethod
    def from_dict(cls, values: dict) -> CleaningOptions:
        """The options of the config section `corpus.cleaning` (a partial mapping is
        completed with the defaults). Raises KrelectraError naming an unknown key or a
        value of the wrong type."""
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise KrelectraError(f"corpus.cleaning: unknown option(s) {', '.join(sorted(unknown))}")
        return cls(**values)

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            kind = bool if f.type == "bool" else int  # the annotations are bool, int or int | None
            nullable = "None" in str(f.type)
            if not (value is None and nullable) and (
                not isinstance(value, kind) or (kind is int and isinstance(value, bool))
            ):
                raise KrelectraError(
                    f"corpus.cleaning.{f.name}: {value!r} is not {'an integer' if kind is int else 'true or false'}"
                    + (" or null" if nullable else "")
                )
            if kind is int and value is not None and value < 1:
                raise KrelectraError(f"corpus.cleaning.{f.name}: {value} must be at least 1")
        if self.nfc is not True:
            raise KrelectraError(
                "corpus.cleaning.nfc must be true: the shipped tokenizer and the finetuning inputs are "
                "normalised to NFC (krelectra/text.py), so the corpus the vocabulary is trained on must be too"
            )
        if self.min_sentence_chars > self.max_sentence_chars:
            raise KrelectraError(
                f"corpus.cleaning.min_sentence_chars ({self.min_sentence_chars}) is larger than "
                f"max_sentence_chars ({self.max_sentence_chars}): every sentence would be dropped"
            )


def _is_removable(char: str) -> bool:
    """Control and format characters (zero-width space/joiner, BOM, soft hyphen), and the
    replacement character left by invalid UTF-8."""
    if char in "\n\t ":
        return False
    return char == "\ufffd" or unicodedata.category(char) in ("Cc", "Cf")


def _repeat_pattern(limit: int) -> re.Pattern:
    # Any non-digit, non-space character repeated more than `limit` times: ㅋㅋㅋㅋ, !!!!, ㅠㅠㅠ.
    # Digits are left alone (1000000 is a number, not an emotion).
    return re.compile(rf"([^\d\s])\1{{{limit},}}")


class Cleaner:
    def __init__(self, options: CleaningOptions):
        self.options = options
        self.counts: Counter = Counter()
        if options.max_char_repeat is not None:
            self._repeat = _repeat_pattern(options.max_char_repeat)

    def _sub(self, pattern: re.Pattern, replacement, text: str, counter: str) -> str:
        text, n = pattern.subn(replacement, text)
        self.counts[counter] += n
        return text

    def normalise(self, text: str) -> str:
        o = self.options
        text = normalise(text)
        if o.remove_control:
            kept = "".join(c for c in text if not _is_removable(c))
            self.counts["control_characters_removed"] += len(text) - len(kept)
            text = kept
        if o.remove_urls:
            text = self._sub(URL, " ", text, "urls_removed")
        if o.remove_emails:
            text = self._sub(EMAIL, " ", text, "emails_removed")
        if o.remove_mentions:
            text = self._sub(MENTION, " ", text, "mentions_removed")
        if o.max_char_repeat is not None:
            limit = o.max_char_repeat
            text = self._sub(self._repeat, lambda m: m.group(1) * limit, text, "repeats_shortened")
        if o.remove_hanja:
            text = self._sub(HANJA, " ", text, "hanja_runs_removed")
        return text

    def sentences(self, text: str) -> list[str]:
        """Clean a document and return its sentences that pass the length filters."""
        text = WHITESPACE.sub(" ", self.normalise(text)).strip()
        if not text:
            return []
        if self.options.split_sentences:
            pieces, start = [], 0
            for match in SENTENCE_END.finditer(text):
                pieces.append(text[start : match.end()])
                start = match.end()
            pieces.append(text[start:])
        else:
            pieces = [text]
        kept = []
        for sentence in (p.strip() for p in pieces):
            if not sentence:
                continue
            if len(sentence) < self.options.min_sentence_chars:
                self.counts["dropped_too_short"] += 1
            elif len(sentence) > self.options.max_sentence_chars:
                self.counts["dropped_too_long"] += 1
            else:
                kept.append(sentence)
        return kept
