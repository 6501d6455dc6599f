"""Any pretrained Korean encoder as a finetuning starting point: where it comes from (a
local folder or a Hugging Face hub id), its tokenizer and its task heads, loaded through
transformers' Auto classes, and the checks that turn what a model family cannot do into
one clear error naming the model and the reason.

Tested families (tests/encoder_families.py builds a tiny one of each and runs it through
every task): ELECTRA and BERT with a WordPiece tokenizer, BERT with a SentencePiece
(Unigram, `▁` word pieces) tokenizer as KoBERT ships, RoBERTa with a byte-level BPE
tokenizer and XLM-RoBERTa with a SentencePiece Unigram tokenizer (these two without token
type ids). Any other model with AutoModelForSequenceClassification,
AutoModelForTokenClassification and AutoModelForQuestionAnswering heads loads the same
way. HanBERT cannot: its tokenizer is a proprietary native library outside the
`tokenizers`/`transformers` formats.

What each task needs of the tokenizer:
- Naver NER: word ids (a fast tokenizer) and words tokenized as in running text (a
  byte-level BPE tokenizer that adds no space before a pre-split word is loaded again
  with `add_prefix_space=True`, the setting transformers' token classification example
  uses for RoBERTa);
- KorQuAD: character offsets (a fast tokenizer);
- the sentence and sentence-pair tasks: any tokenizer whose classification token (if it
  has one) comes first, where the heads of these families read it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from krelectra.errors import KrelectraError
from krelectra.finetune.tasks import Task
from krelectra.text import with_rule

AUTO_CLASS = {
    "single_sentence": "AutoModelForSequenceClassification",
    "sentence_pair": "AutoModelForSequenceClassification",
    "regression": "AutoModelForSequenceClassification",
    "token_classification": "AutoModelForTokenClassification",
    "extractive_qa": "AutoModelForQuestionAnswering",
}

# A Hugging Face hub model id: "name" or "namespace/name" (huggingface_hub's rule).
_HUB_ID = re.compile(r"^(?:[\w.-]+/)?[\w.-]+$")
# Files of a cached hub snapshot that loading needs: the config and the weights in one
# of transformers' layouts.
_WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
# Korean text that a tokenizer's normaliser must leave in syllables.
_KOREAN_PROBE = "한국어 문장을 토큰으로 나눕니다"
# Model types whose position ids start after the padding index (RoBERTa's scheme): the
# first pad_token_id + 1 position embeddings are never used for tokens.
_OFFSET_POSITIONS = {"roberta", "xlm-roberta", "xlm-roberta-xl", "camembert", "longformer", "data2vec-text"}


def fetch_hint(hub_id: str) -> str:
    return (
        f"fetch it first on a machine with network access: `hf download {hub_id}` "
        f"(older huggingface_hub: `huggingface-cli download {hub_id}`), into the cache this machine reads "
        "(HF_HOME or HF_HUB_CACHE on a shared file system), or give a local folder instead"
    )


@dataclass(frozen=True)
class ModelSource:
    """Where a model comes from. `location` is what from_pretrained gets (the folder, or
    the hub id); `revision` is the commit of the cached hub snapshot (None for a folder,
    or while the hub id is not in the cache)."""

    given: str
    location: str
    hub_id: str | None = None
    revision: str | None = None

    def describe(self) -> dict:
        return {"given": self.given, "hub_id": self.hub_id, "revision": self.revision}


def cached_snapshot(hub_id: str, cache_dir: str | os.PathLike | None = None) -> Path | None:
    """The folder of the cached snapshot of `hub_id` (its `main` revision) that holds a
    config.json and weights, or None."""
    from huggingface_hub import try_to_load_from_cache

    config = try_to_load_from_cache(hub_id, "config.json", cache_dir=None if cache_dir is None else Path(cache_dir))
    if not isinstance(config, str):
        return None
    snapshot = Path(config).parent
    return snapshot if any((snapshot / name).is_file() for name in _WEIGHT_FILES) else None


def resolve_source(source: str, offline: bool | None = None, cache_dir: str | os.PathLike | None = None) -> ModelSource:
    """`source` as the config gives it: an existing folder, or a hub id. A hub id must be
    in the local cache when the hub is offline (`HF_HUB_OFFLINE=1`, the default in tests
    and on compute nodes without network). Raises KrelectraError naming the source and
    how to fix it: a path that is no folder, a malformed id, an uncached id offline."""
    from huggingface_hub import is_offline_mode

    path = Path(source).expanduser()
    if path.is_dir():
        return ModelSource(source, str(path))
    looks_like_path = source.startswith((".", "/", "~")) or path.exists()
    if looks_like_path or not _HUB_ID.match(source):
        raise KrelectraError(f"model {source!r}: no such folder, and not a Hugging Face hub id (namespace/name)")
    offline = is_offline_mode() if offline is None else offline
    snapshot = cached_snapshot(source, cache_dir)
    if snapshot is None and offline:
        raise KrelectraError(
            f"model {source!r} is not a local folder and not in the Hugging Face cache with its config and "
            f"weights, and the hub is offline (HF_HUB_OFFLINE=1): {fetch_hint(source)}"
        )
    return ModelSource(source, source, source, snapshot.name if snapshot else None)


def with_revision(source: ModelSource) -> ModelSource:
    """`source` with the revision of its cached hub snapshot, once loading has cached it."""
    if source.hub_id is None or source.revision is not None:
        return source
    snapshot = cached_snapshot(source.hub_id)
    return ModelSource(source.given, source.location, source.hub_id, snapshot.name if snapshot else None)


def _load_error(source: str, what: str, error: Exception) -> KrelectraError:
    text = str(error)
    if "offline" in text.lower() or "couldn't connect" in text.lower():
        return KrelectraError(f"model {source!r}: cannot load its {what}: not in the local cache; {fetch_hint(source)}")
    return KrelectraError(f"model {source!r}: cannot load its {what}: {text}")


# ---------------------------------------------------------------------------- tokenizer


def load_tokenizer(source: str, task: Task | None = None, **kwargs):
    """The model's tokenizer (AutoTokenizer), checked for what `task` needs (see the module
    docstring; no task: any tokenizer that can be loaded and reads Korean). A fast tokenizer
    applies the project's text normalisation first (krelectra/text.py: NFC), as the shipped
    tokenizer does; for a slow one, features.encode_sequences normalises the texts. Offsets
    stay offsets into the original text, so KorQuAD answers are cut from the context as
    given. Raises KrelectraError naming the model and the reason."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
    except (OSError, ValueError, ImportError) as error:
        raise _load_error(source, "tokenizer", error) from error
    tokenizer.padding_side = "right"  # first-sub-token positions and QA offsets assume right padding
    problem = task.problem if task is not None else None
    if task is not None and problem in ("token_classification", "extractive_qa") and not tokenizer.is_fast:
        needs = "word ids" if problem == "token_classification" else "character offsets"
        raise KrelectraError(
            f"model {source!r}: task {task.name} needs the {needs} of a fast (`tokenizers`) tokenizer, but its "
            f"tokenizer {type(tokenizer).__name__} is slow-only (Python); save a fast version of it "
            "(tokenizer.json) in the model folder"
        )
    if tokenizer.is_fast:
        with_rule(tokenizer)
    check_reads_korean(tokenizer, source)
    if problem == "token_classification" and not splits_words_as_text(tokenizer):
        if "add_prefix_space" not in kwargs and getattr(tokenizer, "add_prefix_space", None) is False:
            return load_tokenizer(source, task, add_prefix_space=True)
        raise KrelectraError(
            f"model {source!r}: its tokenizer {type(tokenizer).__name__} tokenizes a word given on its own "
            "differently from the same word in running text, so per-word NER labels would not match the "
            "pretraining tokens"
        )
    if problem in ("single_sentence", "sentence_pair", "regression"):
        check_classification_token_first(tokenizer, source)
    return tokenizer


def _content_tokens(tokenizer, encoding_ids: list[int]) -> list[int]:
    special = set(tokenizer.all_special_ids)
    return [i for i in encoding_ids if i not in special]


def check_reads_korean(tokenizer, source: str) -> None:
    """Raises KrelectraError when the tokenizer's normaliser decomposes Hangul syllables
    into conjoining jamo (BERT's lower-casing with accent stripping does: NFD, then the
    vowel and final-consonant jamo go as "accents"), so that Korean words no longer match
    the vocabulary. Slow tokenizers are not inspected."""
    if not tokenizer.is_fast or tokenizer.backend_tokenizer.normalizer is None:
        return
    normalised = tokenizer.backend_tokenizer.normalizer.normalize_str(_KOREAN_PROBE)
    if any("\u1100" <= ch <= "\u11ff" for ch in normalised):
        raise KrelectraError(
            f"model {source!r}: its tokenizer's normaliser decomposes Hangul syllables into jamo "
            f"({_KOREAN_PROBE!r} becomes {normalised!r}: lower-casing or accent stripping), so Korean words "
            "cannot match its vocabulary; give it do_lower_case/strip_accents false"
        )


def splits_words_as_text(tokenizer) -> bool:
    """Whether words given one by one (is_split_into_words) get the tokens they get in
    running text. The first word is left out: with a prefix space it may differ at the
    start of a text, which the pretraining data had too."""
    words = ["한국어", "문장을", "나눕니다"]
    split = tokenizer([words], is_split_into_words=True, add_special_tokens=False)
    text = tokenizer([" ".join(words)], add_special_tokens=False)
    split_ids = [i for i, w in zip(split["input_ids"][0], split.word_ids(0)) if w is not None and w > 0]
    text_ids = [i for i, w in zip(text["input_ids"][0], text.word_ids(0)) if w is not None and w > 0]
    return split_ids == text_ids


def check_classification_token_first(tokenizer, source: str) -> None:
    """The sequence classification heads of BERT, ELECTRA, RoBERTa and XLM-RoBERTa read the
    first position; a template that puts the classification token last (XLNet's, which
    loading KoBERT's SentencePiece model as an XLNetTokenizer gives) would feed them a word.
    Raises KrelectraError then."""
    cls = tokenizer.cls_token_id
    ids = tokenizer("한국어")["input_ids"]
    if cls is not None and cls in ids and ids[0] != cls:
        raise KrelectraError(
            f"model {source!r}: its tokenizer {type(tokenizer).__name__} puts the classification token "
            f"{tokenizer.cls_token} at position {ids.index(cls)} ({tokenizer.convert_ids_to_tokens(ids)}), but the "
            "classification head reads the first position; give the model a tokenizer with a BERT-style "
            "template ([CLS] A [SEP] B [SEP])"
        )


# -------------------------------------------------------------------------------- model


def load_model(task: Task, source: str):
    """The task head on top of the pretrained encoder at `source` (a folder or a hub id).
    Only head weights may be missing from the checkpoint: a missing encoder weight means
    the encoder would be silently random, which is an error."""
    import transformers

    auto_class = getattr(transformers, AUTO_CLASS[task.problem])
    kwargs = {}
    if task.problem == "regression":
        kwargs = {"num_labels": 1, "problem_type": "regression"}
    elif task.labels is not None:
        kwargs = {
            "num_labels": len(task.labels),
            "id2label": dict(enumerate(task.labels)),
            "label2id": {label: i for i, label in enumerate(task.labels)},
        }
        if task.problem != "token_classification":
            kwargs["problem_type"] = "single_label_classification"
    try:
        model, info = auto_class.from_pretrained(source, output_loading_info=True, **kwargs)
    except (OSError, ValueError, ImportError) as error:
        raise _load_error(source, f"{AUTO_CLASS[task.problem]} (task {task.name})", error) from error
    return model, check_encoder_loaded(model, info, source)


def check_encoder_loaded(model, info: dict, source: str) -> dict:
    prefix = model.base_model_prefix
    encoder = {name for name, _ in model.named_parameters() if name.startswith(f"{prefix}.")}
    missing = set(info.get("missing_keys", ()))
    lost = sorted(missing & encoder)
    mismatched = sorted(str(key) for key in info.get("mismatched_keys", ()))
    if not encoder or lost or mismatched:
        what = lost or mismatched or ["(no encoder parameters)"]
        raise KrelectraError(
            f"{source}: the checkpoint does not provide the pretrained encoder "
            f"({len(lost)} missing, {len(mismatched)} with another shape: {', '.join(what[:5])}"
            f"{' ...' if len(what) > 5 else ''}); refusing to finetune a randomly initialised encoder"
        )
    return {
        "new_parameters": sorted(missing),
        "unused_checkpoint_parameters": sorted(info.get("unexpected_keys", ())),
        "encoder_parameters_loaded": len(encoder),
    }


def usable_positions(config) -> int | None:
    """How many tokens one input may hold: max_position_embeddings, less the positions
    RoBERTa-style models reserve before their first token (pad_token_id + 1); None when
    the config does not say."""
    positions = getattr(config, "max_position_embeddings", None)
    if positions is None:
        return None
    if getattr(config, "model_type", None) in _OFFSET_POSITIONS:
        positions -= (getattr(config, "pad_token_id", None) or 0) + 1
    return positions


def check_compatible(tokenizer, model, source: str, task: Task, max_seq_length: int) -> None:
    """Raises KrelectraError when the tokenizer and the model cannot work together for
    `task`: inputs longer than the model's positions, token ids beyond its embeddings,
    token type ids it has no embeddings for."""
    config = model.config
    positions = usable_positions(config)
    if positions is not None and max_seq_length > positions:
        raise KrelectraError(
            f"model {source!r}: task {task.name} has max_seq_length {max_seq_length}, but the model takes at most "
            f"{positions} tokens (max_position_embeddings {config.max_position_embeddings}); lower "
            f"finetune.task_hyperparameters.{task.name}.max_seq_length"
        )
    embeddings = model.get_input_embeddings().num_embeddings
    if len(tokenizer) > embeddings:
        raise KrelectraError(
            f"model {source!r}: its tokenizer has {len(tokenizer)} tokens but the model only {embeddings} token "
            "embeddings (a tokenizer from another model?)"
        )
    types = getattr(config, "type_vocab_size", None)
    if types is not None and "token_type_ids" in tokenizer.model_input_names:
        used = max(tokenizer("가", "나")["token_type_ids"])
        if used >= types:
            raise KrelectraError(
                f"model {source!r}: its tokenizer gives sentence pairs token type id {used}, but the model has "
                f"type_vocab_size {types}"
            )
