"""Training the WordPiece vocabulary on morpheme-segmented text with `tokenizers`.

Every morpheme is a "word" for the trainer, so learned pieces never cross a morpheme
boundary. A non-initial morpheme (`##에` in the segmented text) is given to the trainer
behind a private-use marker character, so the trainer learns it as its own word-initial
piece; the marker is turned back into `##` afterwards. The result: word-initial
morphemes as plain entries, inner morphemes as `##` entries, the way ElectraTokenizer
reads them on raw text.
"""

from __future__ import annotations

import re
from pathlib import Path

from krelectra.errors import KrelectraError
from krelectra.vocab.morphemes import CONTINUATION
from krelectra.vocab.tokenizer import SPECIAL_TOKENS

MARKER = "\ue000"  # private use: never in cleaned text (BertNormalizer keeps it; the corpus has none)
_MARKED_PIECE = re.compile(r"(?:^|(?<= ))##")


def _trainer_lines(files: list[Path]):
    for path in files:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                yield _MARKED_PIECE.sub(MARKER, line)


def _from_trainer(token: str) -> str | None:
    if token == MARKER:
        return None
    if token.startswith(MARKER):
        return CONTINUATION + token[1:]
    return token


def train_wordpiece(files: list[Path], size: int, alphabet: list[str], min_frequency: int = 2) -> list[str]:
    """The vocabulary as a list of exactly `size` tokens (fewer only if the corpus is
    too small to fill it): special tokens, the guaranteed alphabet in plain and `##`
    forms, then learned pieces in the order the trainer learned them (most frequent first)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    base = list(SPECIAL_TOKENS)
    for char in alphabet:
        base.append(char)
    base.extend(CONTINUATION + c for c in alphabet)
    if size < len(base):
        raise KrelectraError(
            f"vocab.size is {size}, but the special tokens and the guaranteed alphabet "
            f"alone take {len(base)} entries; raise vocab.size or shrink vocab.alphabet"
        )
    # The trainer creates `##x` pieces in hash-map order, and their ids break ties between
    # equally frequent merges, so two runs could learn different vocabularies
    # (huggingface/tokenizers#1794). Declaring every `##x` up front, sorted, fixes their
    # ids and makes training deterministic.
    chars = set()
    for line in _trainer_lines(files):
        chars.update(line)
    chars -= {" ", "\n", MARKER}
    continuations = [CONTINUATION + c for c in sorted(chars)]
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    # Room for duplicates of `base` among the learned pieces, which are dropped below.
    trainer = trainers.WordPieceTrainer(
        vocab_size=size + len(base) + len(continuations),
        min_frequency=min_frequency,
        special_tokens=continuations,
        continuing_subword_prefix=CONTINUATION,
        show_progress=False,
    )
    tokenizer.train_from_iterator(_trainer_lines(files), trainer)
    learned = sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])
    vocab, seen = [], set()
    for token in base + [_from_trainer(t) for t, _ in learned]:
        if token is None or token in seen:
            continue
        seen.add(token)
        vocab.append(token)
        if len(vocab) == size:
            break
    return vocab
