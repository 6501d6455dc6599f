"""The tokenizer shipped with the vocabulary and with every converted model folder.

A vocabulary folder holds `TOKENIZER_FILES`:
- `tokenizer.json`: the whole pipeline in the `tokenizers` format. Normalizer: the
  project's one text normalisation (NFC, krelectra/text.py), then BERT's (control
  characters removed, whitespace unified, CJK ideographs spaced out; no lower-casing,
  no accent stripping: either would decompose Hangul into jamo and every Korean word
  would become [UNK]). Pre-tokenizer: BERT's (whitespace and punctuation), then words
  longer than `MAX_WORD_CHARS` characters cut into chunks of that length, so a long
  word is split into pieces instead of becoming one [UNK]. Model: WordPiece over
  vocab.txt. Post-processor: `[CLS] A [SEP]` and `[CLS] A [SEP] B [SEP]` with
  token type ids 0 and 1.
- `vocab.txt`: the same vocabulary, one token a line (id = line number), as BERT and
  ELECTRA checkpoints ship it.
- `tokenizer_config.json`: `tokenizer_class` PreTrainedTokenizerFast, so that
  `AutoTokenizer.from_pretrained(folder)` loads `tokenizer.json` as it is (transformers
  5.24 and 4.x alike), plus the cased settings that `ElectraTokenizer.from_pretrained`
  needs: in transformers 5, ElectraTokenizer is BertTokenizer, which rebuilds its own
  pipeline from vocab.txt and these settings and ignores tokenizer.json's normalizer
  and pre-tokenizer. It gives the same tokens on NFC text whose words have at most 100
  characters; on other text it lacks the NFC step and turns longer words into [UNK].
- `special_tokens_map.json`.
"""

from __future__ import annotations

import json
from pathlib import Path

from krelectra.errors import KrelectraError
from krelectra.io import atomic_open, write_json
from krelectra.text import applies_rule, unicode_normalizer

TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]  # ids 0-4, as in BERT/ELECTRA
CONTINUATION = "##"
# WordPiece's max_input_chars_per_word (BERT's value). Longer words are cut into chunks of
# this many characters first: WordPiece's search is quadratic in the word length, so one
# unbounded word of a few thousand characters would take seconds to minutes.
MAX_WORD_CHARS = 100
MODEL_INPUT_NAMES = ["input_ids", "token_type_ids", "attention_mask"]
SPECIAL_TOKENS_MAP = {
    "unk_token": "[UNK]",
    "sep_token": "[SEP]",
    "pad_token": "[PAD]",
    "cls_token": "[CLS]",
    "mask_token": "[MASK]",
}
TOKENIZER_CONFIG = {
    "tokenizer_class": "PreTrainedTokenizerFast",
    "model_input_names": MODEL_INPUT_NAMES,
    # For ElectraTokenizer/BertTokenizer, which rebuild the pipeline from these settings:
    "do_lower_case": False,
    "strip_accents": False,
    "tokenize_chinese_chars": True,
    "do_basic_tokenize": True,
    "model_max_length": 512,
    **SPECIAL_TOKENS_MAP,
}
# Text that a cased, NFC-normalising pipeline leaves as it is after normalisation; a
# lower-casing or accent-stripping one does not.
CASED_PROBE = "ELECTRA 한국어 Émile"


def build_backend(vocab: list[str]):
    """The `tokenizers.Tokenizer` of the module docstring over `vocab` (id = position).
    Raises KrelectraError when a special token is missing or a token is listed twice."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    ids: dict[str, int] = {}
    for index, token in enumerate(vocab):
        if token in ids:
            raise KrelectraError(f"vocabulary: {token!r} is listed twice (lines {ids[token] + 1} and {index + 1})")
        ids[token] = index
    missing = [token for token in SPECIAL_TOKENS if token not in ids]
    if missing:
        raise KrelectraError(f"vocabulary: special token(s) {', '.join(missing)} missing")
    tokenizer = Tokenizer(
        models.WordPiece(
            ids, unk_token="[UNK]", continuing_subword_prefix=CONTINUATION, max_input_chars_per_word=MAX_WORD_CHARS
        )
    )
    bert = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False)
    tokenizer.normalizer = normalizers.Sequence([unicode_normalizer(), bert])
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.BertPreTokenizer(),
            pre_tokenizers.Split(Regex(f".{{1,{MAX_WORD_CHARS}}}"), behavior="isolated"),
        ]
    )
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0",
        pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", ids["[CLS]"]), ("[SEP]", ids["[SEP]"])],
    )
    tokenizer.decoder = decoders.WordPiece(prefix=CONTINUATION)
    tokenizer.add_special_tokens([AddedToken(token, special=True, normalized=False) for token in SPECIAL_TOKENS])
    return tokenizer


def write_tokenizer_dir(vocab: list[str], output_dir: Path) -> None:
    """Write the four `TOKENIZER_FILES` of `vocab` into `output_dir`."""
    backend = build_backend(vocab)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    with atomic_open(output_dir / "vocab.txt") as handle:
        handle.write("".join(token + "\n" for token in vocab))
    with atomic_open(output_dir / "tokenizer.json") as handle:
        handle.write(backend.to_str(pretty=True) + "\n")
    write_json(output_dir / "tokenizer_config.json", TOKENIZER_CONFIG)
    write_json(output_dir / "special_tokens_map.json", SPECIAL_TOKENS_MAP)


def read_vocab(path: Path) -> list[str]:
    """The tokens of a vocab.txt, one a line. Raises KrelectraError naming the file when
    it is missing or not UTF-8."""
    try:
        with open(path, encoding="utf-8") as handle:
            return [line.rstrip("\n") for line in handle]
    except FileNotFoundError:
        raise KrelectraError(f"{path}: vocabulary file not found") from None
    except UnicodeDecodeError as error:
        raise KrelectraError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None


def load_tokenizer(folder: str | Path):
    """The tokenizer of a vocabulary (or model) folder, loaded as users load it
    (`AutoTokenizer.from_pretrained(folder)`), then checked by `check_tokenizer`.
    Raises KrelectraError naming the file at fault."""
    from transformers import AutoTokenizer

    folder = Path(folder)
    _check_files(folder)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
    except Exception as error:  # transformers raises OSError, ValueError, JSON and Rust errors alike
        raise KrelectraError(f"{folder}: cannot load the tokenizer: {error}") from error
    check_tokenizer(tokenizer, folder)
    return tokenizer


def check_tokenizer(tokenizer, folder: Path) -> None:
    """A loaded tokenizer must be the folder's vocabulary with the project's pipeline:
    the same token ids as vocab.txt (a tokenizer.json left from another vocabulary is
    stale), every special token, no lower-casing or accent stripping, and NFC applied."""
    folder = Path(folder)
    _check_backend(tokenizer.backend_tokenizer, folder)
    _read_settings(folder)
    _check_input_names(tokenizer.model_input_names, folder)


def load_backend(folder: str | Path):
    """The folder's tokenizer as the `tokenizers.Tokenizer` that `load_tokenizer`'s
    AutoTokenizer wraps, for the pretraining jobs, which need only its ids.

    When tokenizer_config.json names `PreTrainedTokenizerFast` (what `krelectra vocab`
    writes; that class loads tokenizer.json as it is) the file is read with `tokenizers`
    alone: transformers would import PyTorch into the TensorFlow job (about 4 s and
    300 MB). Any other class goes through `load_tokenizer`. The checks are those of
    `load_tokenizer`. Raises KrelectraError naming the file at fault."""
    from tokenizers import Tokenizer

    folder = Path(folder)
    _check_files(folder)
    settings = _read_settings(folder)
    if settings.get("tokenizer_class") != TOKENIZER_CONFIG["tokenizer_class"]:
        return load_tokenizer(folder).backend_tokenizer
    path = folder / "tokenizer.json"
    try:
        backend = Tokenizer.from_file(str(path))
    except Exception as error:  # tokenizers raises a bare Exception for JSON and schema errors
        raise KrelectraError(f"{path}: cannot load the tokenizer: {error}") from error
    _check_backend(backend, folder)
    _check_input_names(settings.get("model_input_names", MODEL_INPUT_NAMES), folder)
    return backend


def _check_files(folder: Path) -> None:
    for name in ("vocab.txt", "tokenizer.json"):
        if not (folder / name).is_file():
            raise KrelectraError(
                f"{folder / name}: missing; a vocabulary folder holds {', '.join(TOKENIZER_FILES)} "
                "(written by `krelectra vocab train`, or around an existing vocab.txt by `krelectra vocab tokenizer`)"
            )


def _check_backend(backend, folder: Path) -> None:
    """The `tokenizers.Tokenizer` holds vocab.txt's ids and every special token, and its
    normaliser neither lower-cases nor strips accents and starts with NFC."""
    vocab = read_vocab(folder / "vocab.txt")
    loaded = backend.get_vocab()
    if loaded != {token: index for index, token in enumerate(vocab)}:
        differing = next(
            (f"line {i + 1}: {t!r}" for i, t in enumerate(vocab) if loaded.get(t) != i),
            f"{len(loaded)} entries against {len(vocab)} lines",
        )
        raise KrelectraError(
            f"{folder}: tokenizer.json and vocab.txt disagree ({differing}); one of them is stale, "
            "rebuild the folder with `krelectra vocab train`"
        )
    for token in SPECIAL_TOKENS:
        if token not in loaded:
            raise KrelectraError(f"{folder / 'vocab.txt'}: special token {token} is missing")
    normalizer = backend.normalizer
    probe = normalizer.normalize_str(CASED_PROBE) if normalizer is not None else CASED_PROBE
    if probe != CASED_PROBE:
        raise KrelectraError(
            f"{folder}: the tokenizer lower-cases or strips accents ({CASED_PROBE!r} -> {probe!r}); "
            "Hangul would be decomposed into jamo and every Korean word would become [UNK]"
        )
    if not applies_rule(backend):
        raise KrelectraError(
            f"{folder / 'tokenizer.json'}: the normalizer does not start with NFC, the project's text "
            f"normalisation (krelectra/text.py); rebuild the folder with `krelectra vocab train`"
        )


def _check_input_names(names, folder: Path) -> None:
    if "token_type_ids" not in names:
        raise KrelectraError(
            f"{folder / 'tokenizer_config.json'}: model_input_names lacks token_type_ids "
            "(ELECTRA tells the two segments apart by them)"
        )


def _read_settings(folder: Path) -> dict:
    """tokenizer_config.json, which must say neither lower-casing nor accent stripping."""
    config_path = folder / "tokenizer_config.json"
    if not config_path.is_file():
        raise KrelectraError(
            f"{config_path}: missing; without it AutoTokenizer returns no token_type_ids and "
            "ElectraTokenizer lower-cases (which decomposes Hangul into jamo)"
        )
    try:
        settings = json.loads(config_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise KrelectraError(f"{config_path}: not valid JSON ({error})") from None
    if not isinstance(settings, dict) or settings.get("do_lower_case") is not False or settings.get("strip_accents"):
        found = {k: settings.get(k) for k in ("do_lower_case", "strip_accents")} if isinstance(settings, dict) else {}
        raise KrelectraError(
            f"{config_path}: do_lower_case must be false and strip_accents false or absent (found {found}): "
            "with these settings ElectraTokenizer.from_pretrained lower-cases or strips accents, which decomposes "
            "Hangul into jamo and turns every Korean word into [UNK]"
        )
    return settings


def tokenizer_json_for(vocab_dir: Path) -> str:
    """The tokenizer.json text of a vocabulary folder: its own file, or the project's
    pipeline built over its vocab.txt when it has none (a bare vocab.txt, as the
    google-research checkpoints ship)."""
    path = Path(vocab_dir) / "tokenizer.json"
    if path.is_file():
        return path.read_text(encoding="utf-8")
    return build_backend(read_vocab(Path(vocab_dir) / "vocab.txt")).to_str(pretty=True) + "\n"
