"""Tiny randomly initialised encoders of every architecture family in the seed's results
table, each saved with save_pretrained into a folder as a released model would be: a
config, pretraining-head weights and a tokenizer trained here with the `tokenizers`
library on a few hundred lines of the task fixtures.

- electra:            ElectraForPreTraining, WordPiece (KoELECTRA, KR-ELECTRA)
- bert:               BertForPreTraining, WordPiece
- bert-sentencepiece: BertForPreTraining, SentencePiece Unigram with `▁` pieces and BERT's
                      [CLS] A [SEP] B [SEP] template (KoBERT's kind)
- roberta:            RobertaForMaskedLM, byte-level BPE, no token type ids
- xlm-roberta:        XLMRobertaForMaskedLM, SentencePiece Unigram, no token type ids
"""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "resources" / "finetune"
FAMILIES = ("electra", "bert", "bert-sentencepiece", "roberta", "xlm-roberta")
HIDDEN, LAYERS, HEADS, FFN = 32, 1, 2, 64
MAX_POSITIONS = 128


def fixture_texts() -> list[str]:
    """Every text of the task fixtures, one string per record field (for the alphabet)."""
    texts = []
    for path in sorted(FIXTURES.glob("*/*")):
        if path.suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            for article in data["data"]:
                for paragraph in article["paragraphs"]:
                    texts.append(paragraph["context"])
                    texts += [qa["question"] for qa in paragraph["qas"]]
        elif path.suffix in (".tsv", ".txt"):
            texts += path.read_text(encoding="utf-8").splitlines()
    return texts


def training_lines(count: int = 400) -> list[str]:
    """A few hundred lines spread over all fixtures (every k-th text)."""
    texts = fixture_texts()
    step = max(1, len(texts) // count)
    return texts[::step][:count]


def alphabet() -> list[str]:
    """Every character of the fixtures, so that the tiny vocabularies have no [UNK] on them."""
    return sorted({ch for text in fixture_texts() for ch in text if not ch.isspace()})


def _wordpiece_vocab(lines: list[str]) -> dict[str, int]:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=False, strip_accents=False)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(
        vocab_size=1500,
        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
        initial_alphabet=alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(lines, trainer)
    return tokenizer.get_vocab()


def _unigram(lines: list[str], special: list[str], unk: str):
    """A SentencePiece-style Unigram tokenizer (Metaspace `▁`) trained on `lines`."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.Unigram())
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC()])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    trainer = trainers.UnigramTrainer(
        vocab_size=1500,
        special_tokens=special,
        unk_token=unk,
        initial_alphabet=alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(lines, trainer)
    return tokenizer


def _bert_sentencepiece_tokenizer(lines: list[str]):
    from tokenizers import decoders, processors
    from transformers import PreTrainedTokenizerFast

    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    backend = _unigram(lines, special, "[UNK]")
    cls, sep = backend.token_to_id("[CLS]"), backend.token_to_id("[SEP]")
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    backend.decoder = decoders.Metaspace()
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],
    )


def _xlm_roberta_tokenizer(lines: list[str]):
    from transformers import XLMRobertaTokenizer

    backend = _unigram(lines, ["<s>", "<pad>", "</s>", "<unk>", "<mask>"], "<unk>")
    pieces = json.loads(backend.to_str())["model"]["vocab"]
    # XLMRobertaTokenizer builds its own pipeline around the pieces and their scores (as
    # transformers converts XLM-R's sentencepiece model): Metaspace, <s> A </s></s> B </s>.
    return XLMRobertaTokenizer(vocab=[(piece, score) for piece, score in pieces])


def _roberta_tokenizer(lines: list[str], folder: Path):
    from tokenizers.implementations import ByteLevelBPETokenizer
    from transformers import RobertaTokenizer

    backend = ByteLevelBPETokenizer()
    backend.train_from_iterator(
        lines, vocab_size=1500, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"], show_progress=False
    )
    files = folder / "bpe"
    files.mkdir(parents=True, exist_ok=True)
    backend.save_model(str(files))
    return RobertaTokenizer(vocab=str(files / "vocab.json"), merges=str(files / "merges.txt"))


def build_encoder(family: str, folder: Path, seed: int = 0) -> Path:
    """Save a tiny random encoder of `family` (see FAMILIES) with its tokenizer in `folder`."""
    import torch
    import transformers

    torch.manual_seed(seed)
    folder.mkdir(parents=True, exist_ok=True)
    lines = training_lines()
    sizes = {
        "hidden_size": HIDDEN,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS,
        "intermediate_size": FFN,
    }
    if family in ("electra", "bert"):
        vocab = _wordpiece_vocab(lines)
        token_class = transformers.ElectraTokenizer if family == "electra" else transformers.BertTokenizer
        # A cased tokenizer: lower-casing would decompose Hangul into jamo.
        tokenizer = token_class(vocab=vocab, do_lower_case=False, strip_accents=False)
        if family == "electra":
            config = transformers.ElectraConfig(
                vocab_size=len(tokenizer), embedding_size=HIDDEN, max_position_embeddings=MAX_POSITIONS, **sizes
            )
            model = transformers.ElectraForPreTraining(config)
        else:
            config = transformers.BertConfig(vocab_size=len(tokenizer), max_position_embeddings=MAX_POSITIONS, **sizes)
            model = transformers.BertForPreTraining(config)
    elif family == "bert-sentencepiece":
        tokenizer = _bert_sentencepiece_tokenizer(lines)
        config = transformers.BertConfig(vocab_size=len(tokenizer), max_position_embeddings=MAX_POSITIONS, **sizes)
        model = transformers.BertForPreTraining(config)
    elif family in ("roberta", "xlm-roberta"):
        if family == "roberta":
            tokenizer = _roberta_tokenizer(lines, folder.parent / f"{folder.name}-files")
            config_class, model_class = transformers.RobertaConfig, transformers.RobertaForMaskedLM
        else:
            tokenizer = _xlm_roberta_tokenizer(lines)
            config_class, model_class = transformers.XLMRobertaConfig, transformers.XLMRobertaForMaskedLM
        # Positions start after the padding index: 2 more than the tokens an input may hold.
        config = config_class(
            vocab_size=len(tokenizer),
            max_position_embeddings=MAX_POSITIONS + tokenizer.pad_token_id + 1,
            pad_token_id=tokenizer.pad_token_id,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            type_vocab_size=1,
            **sizes,
        )
        model = model_class(config)
    else:
        raise ValueError(f"unknown family {family!r} (known: {', '.join(FAMILIES)})")
    tokenizer.save_pretrained(folder)
    model.save_pretrained(folder)
    return folder
