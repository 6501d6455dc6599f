"""`krelectra vocab ...`: the vocabulary rules, runnable by hand."""

from __future__ import annotations

from pathlib import Path

from krelectra.vocab.alphabet import ALPHABETS, DEFAULT_ALPHABET


def _segment(args):
    from krelectra.vocab.segment import segment_shard

    segment_shard(args.shard, args.morphemes, args.heldout, args.stats, args.heldout_fraction)


def _train(args):
    from krelectra.errors import KrelectraError
    from krelectra.io import write_json
    from krelectra.vocab.alphabet import guaranteed_alphabet
    from krelectra.vocab.tokenizer import write_tokenizer_dir
    from krelectra.vocab.wordpiece import train_wordpiece

    vocab = train_wordpiece(args.morphemes, args.size, guaranteed_alphabet(args.alphabet), args.min_frequency)
    if len(vocab) < args.size and not args.allow_smaller:
        raise KrelectraError(
            f"the corpus fills only {len(vocab)} of vocab.size={args.size} entries "
            "(every morpheme seen is already in); lower vocab.size or add text"
        )
    write_tokenizer_dir(vocab, args.output_dir)
    write_json(
        args.output_dir.parent / "train.json",
        {
            "size_requested": args.size,
            "size": len(vocab),
            "alphabet": args.alphabet,
            "min_frequency": args.min_frequency,
        },
    )


def _tokenizer(args):
    from krelectra.vocab.tokenizer import read_vocab, write_tokenizer_dir

    write_tokenizer_dir(read_vocab(args.vocab_file), args.output_dir)


def _report(args):
    from krelectra.vocab.report import vocab_report

    vocab_report(args.vocab_dir, {"all": args.heldout}, args.output, args.distributions)


def register(stages) -> None:
    parser = stages.add_parser("vocab", help="Mecab-Ko morphemes -> WordPiece vocabulary -> report")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("segment", help="morpheme-segment one corpus shard; set aside held-out documents")
    p.add_argument(
        "--shard", type=Path, required=True, help="corpus shard: a sentence a line, empty line between documents"
    )
    p.add_argument("--morphemes", type=Path, required=True, help="text to write: the training documents' morphemes")
    p.add_argument("--heldout", type=Path, required=True, help="text to write: the held-out documents, as they are")
    p.add_argument(
        "--stats", type=Path, required=True, help="JSON to write: documents, sentences, held-out counts, bytes"
    )
    p.add_argument(
        "--heldout-fraction", type=float, default=0.05, help="share of documents held out, seeded (default 0.05)"
    )
    p.set_defaults(func=_segment)

    p = commands.add_parser("train", help="train the WordPiece vocabulary on morpheme-segmented text")
    p.add_argument("--size", type=int, required=True, help="vocabulary entries, special tokens included")
    p.add_argument("--min-frequency", type=int, default=2, help="fewest occurrences of a merged piece (default 2)")
    p.add_argument(
        "--alphabet",
        nargs="*",
        default=DEFAULT_ALPHABET,
        choices=list(ALPHABETS),
        help="character sets always in the vocabulary, plain and ## (see krelectra/vocab/alphabet.py)",
    )
    p.add_argument("--allow-smaller", action="store_true", help="accept a vocabulary smaller than --size")
    p.add_argument(
        "--output-dir",
        type=Path,
        required=True,
        help="writes vocab.txt, tokenizer.json, tokenizer_config.json, special_tokens_map.json",
    )
    p.add_argument("morphemes", type=Path, nargs="+", help="morpheme-segmented text (segment --morphemes)")
    p.set_defaults(func=_train)

    p = commands.add_parser(
        "tokenizer",
        help="write a vocabulary folder (tokenizer.json and settings) around an existing vocab.txt",
        description="For a vocab.txt from elsewhere (e.g. the released KR-ELECTRA): the folder the "
        "pretraining, conversion and finetuning stages load, with the project's tokenizer pipeline.",
    )
    p.add_argument("--vocab-file", type=Path, required=True, help="vocab.txt, one token a line")
    p.add_argument("--output-dir", type=Path, required=True, help="the vocabulary folder to write")
    p.set_defaults(func=_tokenizer)

    p = commands.add_parser("report", help="[UNK] rate, tokens per eojeol, morpheme-boundary agreement")
    p.add_argument("--vocab-dir", type=Path, required=True, help="vocabulary folder (train --output-dir)")
    p.add_argument("--output", type=Path, required=True, help="JSON to write: the report")
    p.add_argument(
        "--distributions",
        type=Path,
        help="also write tokens and morphemes per eojeol and piece lengths here (JSON; the paper's vocabulary figure)",
    )
    p.add_argument("heldout", type=Path, nargs="+", help="UTF-8 text, a sentence a line (segment --heldout)")
    p.set_defaults(func=_report)
