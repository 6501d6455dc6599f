"""How the vocabulary does on held-out text, per register.

- [UNK] rate: share of tokens that are [UNK] (ElectraTokenizer on raw text).
- tokens per eojeol (whitespace-separated word).
- Morpheme-boundary agreement: inside each eojeol, the offsets where ElectraTokenizer
  cuts it, against the offsets where Mecab-Ko's morphemes (and punctuation) end:
  precision, recall, and the share of eojeols cut exactly at Mecab-Ko's boundaries.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from krelectra.corpus.reading import read_shard_documents
from krelectra.io import write_json
from krelectra.vocab.morphemes import MorphemeSegmenter


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


class BoundaryCounter:
    def __init__(self) -> None:
        self.c = Counter()

    def add(self, text: str, tokens: list[str], offsets: list[tuple[int, int]], segmenter: MorphemeSegmenter):
        morpheme_spans = segmenter.spans(text)  # offsets into the (normalised) text
        token_spans = [o for t, o in zip(tokens, offsets) if o[1] > o[0]]
        self.c["tokens"] += len(tokens)
        self.c["unk"] += tokens.count("[UNK]")
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
        }


def vocab_report(vocab_dir: Path, heldout: dict[str, list[Path]], output: Path) -> dict:
    """`heldout` maps a name (a register, or 'all') to files of held-out documents."""
    from transformers import ElectraTokenizerFast

    # Loaded exactly as a user loads the released model: no extra arguments.
    tokenizer = ElectraTokenizerFast.from_pretrained(str(vocab_dir))
    segmenter = MorphemeSegmenter()
    report = {"vocab_size": tokenizer.vocab_size, "heldout": {}}
    for name, files in heldout.items():
        counter = BoundaryCounter()
        sentences = [s for path in files for doc in read_shard_documents(path) for s in doc]
        # The normalised text is what offsets refer to; ElectraTokenizer normalises the same way.
        normalised = [segmenter.normalise(s) for s in sentences]
        batch = tokenizer(normalised, add_special_tokens=False, return_offsets_mapping=True)
        for text, ids, offsets in zip(normalised, batch["input_ids"], batch["offset_mapping"]):
            counter.add(text, tokenizer.convert_ids_to_tokens(ids), offsets, segmenter)
        report["heldout"][name] = {"sentences": len(sentences), **counter.summary()}
    write_json(output, report)
    return report
