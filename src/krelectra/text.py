"""The one normalisation of text, wherever the model sees it: corpus cleaning, the
shipped tokenizer (its normalizer's first step) and finetuning inputs.

The rule: Unicode Normalization Form C (NFC, Unicode Standard Annex #15), nothing more.
It is what the corpus stage has always applied (KoELECTRA documented NFC for its
corpora), and it is exact on Korean text already in NFC, so pretraining text that was
normal stays byte for byte what it was.

The same Korean text in these forms becomes the same text, so the same tokens:
- precomposed syllables (NFC) and the same syllables decomposed into conjoining jamo
  (NFD, as macOS file names and some databases store Hangul; also jamo typed as
  leading consonant + vowel (+ trailing consonant) sequences);
- CJK compatibility ideographs with a canonical mapping (U+F900-U+FAFF: 豈 U+F900 ->
  豈 U+8C48) and their unified ideographs.

These stay distinct, by decision (they are compatibility variants, the domain of NFKC):
fullwidth ASCII (Ａ１！), halfwidth Hangul jamo (U+FFA0-U+FFDC), conjoining jamo standing
alone (ᄏᄏ, what NFKC and NFKD make of the compatibility jamo ㅋㅋ), enclosed and squared
forms (㈜, ㎏). NFKC would unify some of these, but it also turns the compatibility jamo
that informal text is written with and the vocabulary holds (ㅋ U+314B) into conjoining
jamo (ᄏ U+110F), and it rewrites text the corpus holds as written (㈜ -> (주), ① -> 1),
so pretraining text already in NFC would change. Mapping only the jamo variants onto
the compatibility jamo would take one `tokenizers` Replace step per letter (51) in the
tokenizer: `benchmarks/normalizer_cost.py` measured 2.7 times the tokenizer's time, where
the NFC step costs 1.05 times.

`normalise` and `unicode_normalizer` are one implementation: the `tokenizers` NFC
normalizer (Rust), which the shipped tokenizer applies; `normalise` only skips strings
that Python's `unicodedata` already reports to be in NFC (most corpus text), for speed.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from functools import cache
from typing import Final

FORM: Final = "NFC"


def unicode_normalizer():
    """The rule as a `tokenizers` normalizer (a new object each call)."""
    from tokenizers import normalizers

    return normalizers.NFC()


@cache
def _shared_normalizer():
    return unicode_normalizer()


def normalise(text: str) -> str:
    """`text` in NFC, exactly as the shipped tokenizer's normalizer puts it first.
    The length may change (a decomposed syllable of 2-3 code points becomes one)."""
    if text.isascii() or unicodedata.is_normalized(FORM, text):
        return text
    return _shared_normalizer().normalize_str(text)


def _first_step(normalizer_json: dict | None) -> dict | None:
    if not normalizer_json:
        return None
    if normalizer_json.get("type") == "Sequence":
        steps = normalizer_json.get("normalizers") or []
        return _first_step(steps[0]) if steps else None
    return normalizer_json


def applies_rule(backend) -> bool:
    """Whether a `tokenizers.Tokenizer` normalises with the rule before anything else."""
    step = _first_step(json.loads(backend.to_str()).get("normalizer"))
    return step is not None and step.get("type") == FORM


def with_rule(tokenizer):
    """A fast `transformers` tokenizer made to apply the rule before its own normalizer
    (a no-op for the tokenizer this project ships, which already does). Offsets the
    tokenizer returns stay offsets into the caller's original string: `tokenizers`
    aligns every normalisation step to it. Returns the same tokenizer object."""
    from tokenizers import normalizers

    backend = tokenizer.backend_tokenizer
    if not applies_rule(backend):
        existing = backend.normalizer
        steps = [unicode_normalizer()] + ([existing] if existing is not None else [])
        backend.normalizer = normalizers.Sequence(steps)
    return tokenizer


@cache
def _joins_backward() -> frozenset[str]:
    """Characters that NFC can join to the character before them: the second character
    of every two-character canonical decomposition (combining marks, but also some with
    combining class 0) and the Hangul medial vowels and final consonants (U+1161-U+1175,
    U+11A8-U+11C2), which compose algorithmically."""
    chars = {chr(c) for c in range(0x1161, 0x1176)} | {chr(c) for c in range(0x11A8, 0x11C3)}
    for code in range(sys.maxunicode + 1):
        parts = unicodedata.decomposition(chr(code)).split()
        if len(parts) == 2 and not parts[0].startswith("<"):
            chars.add(chr(int(parts[1], 16)))
    return frozenset(chars)


def original_offsets(text: str, offsets: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Token offsets into `text` (as a tokenizer that applies the rule returns them) with
    each end moved over the code points that NFC folded into the token's last character.

    `tokenizers` aligns a character composed by NFC with the first code point it was
    composed from only (huggingface/tokenizers#1201): for 요 typed as ᄋ + ᅭ the token's
    span is (0, 1), which cuts the vowel off. The end is moved forward to the next
    position where NFC cannot join characters (a character of combining class 0 that
    joins nothing before it), which is where the composed character ends in `text`."""
    if text.isascii() or unicodedata.is_normalized(FORM, text):
        return [tuple(o) for o in offsets]  # type: ignore[misc]
    joins = _joins_backward()
    fixed = []
    for start, end in offsets:
        if end > start:
            while end < len(text) and (unicodedata.combining(text[end]) or text[end] in joins):
                end += 1
        fixed.append((start, end))
    return fixed
