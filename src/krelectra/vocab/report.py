"""How the vocabulary does on held-out text, per register.

- [UNK] rate: share of tokens that are [UNK] (the shipped tokenizer on raw text).
- What costs [UNK]: WordPiece turns a whole word (or a chunk of a long word) into one
  [UNK] when it cannot cover it with vocabulary pieces, which with the guaranteed
  alphabet means the word holds a character the vocabulary lacks (in the form needed:
  plain first, `##` inside). Per character, how many [UNK] words it caused, with its
  code point and Unicode name, most costly first.
- tokens per eojeol (whitespace-separated word).
- Morpheme-boundary agreement: inside each eojeol, the offsets where ElectraTokenizer
  cuts it, against the offsets where Mecab-Ko's morphemes (and punctuation) end:
  precision, recall, and the share of eojeols cut exactly at Mecab-Ko's boundaries.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from pathlib import Path

from krelectra.corpus.reading import read_shard_documents
from krelectra.io import write_json
from krelectra.text import normalise
from krelectra.vocab.morphemes import CONTINUATION, MorphemeSegmenter
from krelectra.vocab.tokenizer import load_tokenizer

MAX_REPORTED_CHARACTERS = 50


def _internal_cuts(spans: list[tuple[int, int]], start: int, end: int) -> set[int]:
    """Offsets strictly inside [start, end) where one span ends and the next begins."""
    return {e for _, e in spans if start < e < end}


def eojeol_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the whitespace-separated words (eojeols) of the text."""
    spans, position = [], 0
    for word in text.split(" "):
        if word:
            spans.append((position, position + len(word)))
        position += len(word) + 1
    return spans


def missing_characters(word: str, vocab: set[str] | dict) -> list[str]:
    """The characters of `word` that the vocabulary lacks in the form WordPiece needs
    there (the first as a plain entry, the others as `##` entries), each once."""
    missing = []
    for index, char in enumerate(word):
        if (char if index == 0 else CONTINUATION + char) not in vocab and char not in missing:
            missing.append(char)
    return missing


class BoundaryCounter:
    def __init__(self, vocab: set[str] | dict | None = None) -> None:
        self.c: Counter[str] = Counter()
        self.vocab = vocab if vocab is not None else set()
        self.unk_characters: Counter = Counter()

    def add(self, text: str, tokens: list[str], offsets: list[tuple[int, int]], segmenter: MorphemeSegmenter):
        morpheme_spans = segmenter.spans(text)  # offsets into the (normalised) text
        token_spans = [o for t, o in zip(tokens, offsets) if o[1] > o[0]]
        self.c["tokens"] += len(tokens)
        self.c["unk"] += tokens.count("[UNK]")
        for token, (start, end) in zip(tokens, offsets):
            if token == "[UNK]":
                missing = missing_characters(text[start:end], self.vocab)
                self.unk_characters.update(missing)
                self.c["unk_without_missing_character"] += not missing
        for start, end in eojeol_spans(text):
            mecab = _internal_cuts(morpheme_spans, start, end)
            ours = _internal_cuts(token_spans, start, end)
            self.c["eojeols"] += 1
            self.c["mecab_cuts"] += len(mecab)
            self.c["token_cuts"] += len(ours)
            self.c["agreeing_cuts"] += len(mecab & ours)
            self.c["exact_eojeols"] += mecab == ours

    def summary(self) -> dict:
        c = self.c
        return {
            "tokens": c["tokens"],
            "eojeols": c["eojeols"],
            "unk_rate": c["unk"] / max(1, c["tokens"]),
            "tokens_per_eojeol": c["tokens"] / max(1, c["eojeols"]),
            "boundary_precision": c["agreeing_cuts"] / max(1, c["token_cuts"]),
            "boundary_recall": c["agreeing_cuts"] / max(1, c["mecab_cuts"]),
            "exact_eojeol_agreement": c["exact_eojeols"] / max(1, c["eojeols"]),
            "unk_words": c["unk"],
            "unk_characters": [
                {"char": char, "codepoint": f"U+{ord(char):04X}", "name": unicodedata.name(char, ""), "unk_words": n}
                for char, n in sorted(self.unk_characters.items(), key=lambda item: (-item[1], item[0]))[
                    :MAX_REPORTED_CHARACTERS
                ]
            ],
            "unk_characters_distinct": len(self.unk_characters),
            "unk_without_missing_character": c["unk_without_missing_character"],
        }


def vocab_report(vocab_dir: Path, heldout: dict[str, list[Path]], output: Path) -> dict:
    """`heldout` maps a name (a register, or 'all') to files of held-out documents (the
    shard format: a sentence a line; any UTF-8 text file with one sentence a line works)."""
    # Loaded exactly as a user loads the released model: AutoTokenizer, no extra arguments.
    tokenizer = load_tokenizer(vocab_dir)
    vocab = tokenizer.get_vocab()
    segmenter = MorphemeSegmenter()
    report = {"vocab_size": tokenizer.vocab_size, "heldout": {}}
    for name, files in heldout.items():
        counter = BoundaryCounter(vocab)
        sentences = [s for path in files for doc in read_shard_documents(path) for s in doc]
        # The normalised text is what offsets refer to; the tokenizer normalises the same way.
        normalised = [segmenter.normalise(normalise(s)) for s in sentences]
        batch = tokenizer(normalised, add_special_tokens=False, return_offsets_mapping=True)
        for text, ids, offsets in zip(normalised, batch["input_ids"], batch["offset_mapping"]):
            counter.add(text, tokenizer.convert_ids_to_tokens(ids), offsets, segmenter)
        report["heldout"][name] = {"sentences": len(sentences), **counter.summary()}
    write_json(output, report)
    return report
