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

Beside the report, the distributions that the paper's vocabulary figure draws (JSON; object
keys are strings there):

    {"vocab_size": lines of vocab.txt,
     "piece_lengths": {"word_initial" | "continuation": {characters: entries}},
     "heldout": {name: {"sentences", "eojeols", "tokens",
                        "wordpiece_per_eojeol": {tokens: eojeols},
                        "morphemes_per_eojeol": {morphemes: eojeols}}}}

A token or morpheme counts for the eojeol it starts in. The figure reads this file, so the
paper stage needs neither Mecab-Ko nor the held-out text.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from pathlib import Path

from krelectra.corpus.reading import read_shard_documents
from krelectra.io import write_json
from krelectra.text import normalise
from krelectra.vocab.morphemes import CONTINUATION, MorphemeSegmenter
from krelectra.vocab.tokenizer import SPECIAL_TOKENS, load_tokenizer

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


def per_eojeol(spans: list[tuple[int, int]], eojeols: list[tuple[int, int]]) -> list[int]:
    """How many of `spans` (token or morpheme (start, end) offsets; empty ones ignored)
    start inside each eojeol of `eojeols` (sorted, non-overlapping); one count per eojeol."""
    counts = [0] * len(eojeols)
    j = 0
    for start, _end in sorted(s for s in spans if s[1] > s[0]):
        while j < len(eojeols) and eojeols[j][1] <= start:
            j += 1
        if j < len(eojeols) and eojeols[j][0] <= start:
            counts[j] += 1
    return counts


def piece_lengths(pieces: list[str]) -> dict[str, dict[int, int]]:
    """{"word_initial": {length: entries}, "continuation": {length: entries}} of a
    vocabulary (one entry per item of `pieces`, vocab.txt's lines), lengths in characters
    without the `##`; special tokens and empty lines are left out."""
    lengths: dict[str, Counter[int]] = {"word_initial": Counter(), "continuation": Counter()}
    for piece in pieces:
        if piece in SPECIAL_TOKENS or not piece:
            continue
        if piece.startswith(CONTINUATION) and len(piece) > len(CONTINUATION):
            lengths["continuation"][len(piece) - len(CONTINUATION)] += 1
        else:
            lengths["word_initial"][len(piece)] += 1
    return {kind: dict(sorted(counts.items())) for kind, counts in lengths.items()}


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
        self.tokens_per_eojeol: Counter[int] = Counter()  # tokens an eojeol has -> eojeols
        self.morphemes_per_eojeol: Counter[int] = Counter()

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
        eojeols = eojeol_spans(text)
        self.tokens_per_eojeol.update(per_eojeol(list(offsets), eojeols))
        self.morphemes_per_eojeol.update(per_eojeol(morpheme_spans, eojeols))
        for start, end in eojeols:
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

    def distributions(self) -> dict:
        """The eojeol, token and morpheme counts the vocabulary figure draws."""
        return {
            "eojeols": self.c["eojeols"],
            "tokens": self.c["tokens"],
            "wordpiece_per_eojeol": dict(sorted(self.tokens_per_eojeol.items())),
            "morphemes_per_eojeol": dict(sorted(self.morphemes_per_eojeol.items())),
        }


def vocab_report(
    vocab_dir: Path, heldout: dict[str, list[Path]], output: Path, distributions_output: Path | None = None
) -> dict:
    """Write the report to `output` (JSON) and return it. `heldout` maps a name (a
    register, or 'all') to files of held-out documents (the shard format: a sentence a
    line; any UTF-8 text file with one sentence a line works). With `distributions_output`,
    also write the figure's distributions there (JSON, laid out as the module says).
    Raises KrelectraError (naming the file) for a tokenizer folder that cannot be loaded."""
    # Loaded exactly as a user loads the released model: AutoTokenizer, no extra arguments.
    tokenizer = load_tokenizer(vocab_dir)
    vocab = tokenizer.get_vocab()
    segmenter = MorphemeSegmenter()
    report: dict = {"vocab_size": tokenizer.vocab_size, "heldout": {}}
    pieces = Path(vocab_dir, "vocab.txt").read_text(encoding="utf-8").splitlines()
    distributions: dict = {"vocab_size": len(pieces), "piece_lengths": piece_lengths(pieces), "heldout": {}}
    for name, files in heldout.items():
        counter = BoundaryCounter(vocab)
        sentences = [s for path in files for doc in read_shard_documents(path) for s in doc]
        # The normalised text is what offsets refer to; the tokenizer normalises the same way.
        normalised = [segmenter.normalise(normalise(s)) for s in sentences]
        batch = tokenizer(normalised, add_special_tokens=False, return_offsets_mapping=True)
        for text, ids, offsets in zip(normalised, batch["input_ids"], batch["offset_mapping"]):
            counter.add(text, tokenizer.convert_ids_to_tokens(ids), offsets, segmenter)
        report["heldout"][name] = {"sentences": len(sentences), **counter.summary()}
        distributions["heldout"][name] = {"sentences": len(sentences), **counter.distributions()}
    if distributions_output is not None:
        write_json(distributions_output, distributions)
    write_json(output, report)
    return report
