"""`krelectra convert`: a TF1 ELECTRA checkpoint -> Hugging Face discriminator and generator, verified."""

from __future__ import annotations

import argparse
from pathlib import Path

from krelectra import kernels

BASE_MODEL_CONFIG = """\
{"vocab_size": 30000, "embedding_size": 768,
 "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
 "generator_hidden_size": 256, "generator_num_hidden_layers": 12,
 "generator_num_attention_heads": 4, "generator_intermediate_size": 1024,
 "max_position_embeddings": 512, "type_vocab_size": 2,
 "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "layer_norm_eps": 1e-12}"""

EPILOG = f"""\
Writes OUTPUT_DIR/discriminator (ElectraForPreTraining), OUTPUT_DIR/generator
(ElectraForMaskedLM), each with model.safetensors, config.json, the tokenizer files
and a README.md model card, and OUTPUT_DIR/verification.json. Every checkpoint
variable must be placed into a weight or be global_step / an Adam slot (adam_m,
adam_v), and every weight must come from the checkpoint; otherwise the command
fails and lists the names. The saved folders are then loaded back with
from_pretrained and their logits compared with the TF model's on a fixed batch;
the command fails unless both agree within --tolerance x max(1, largest |logit|).

Converting a checkpoint written by google-research/electra (such as the released
KR-ELECTRA TF1 checkpoint): write the model config yourself. For the base size
that KR-ELECTRA reports (set vocab_size to the number of lines of vocab.txt):

{BASE_MODEL_CONFIG}

then run
  krelectra convert --checkpoint path/to/model.ckpt --model-config base.json \\
      --vocab-dir path/to/vocab_folder --output-dir kr-electra-hf
A vocabulary folder with only vocab.txt gets a tokenizer_config.json with
do_lower_case and strip_accents false. See docs/convert.md.
"""


def _convert(args):
    kernels.use(args.cpu_kernels)  # before TensorFlow and PyTorch are imported
    from krelectra.convert.export import ConversionInputs, convert

    if args.threads:
        import tensorflow as tf
        import torch

        torch.set_num_threads(args.threads)
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)

    inputs = ConversionInputs(
        model_name=args.model_name,
        pretrain_config=args.pretrain_config,
        metrics=args.metrics,
        corpus_stats=args.corpus_stats,
    )
    convert(
        args.checkpoint,
        args.model_config,
        args.vocab_dir,
        args.output_dir,
        inputs=inputs,
        tolerance=args.tolerance,
        batch_size=args.batch_size,
        seq_length=args.seq_length,
        seed=args.seed,
    )


def _at_least(minimum: int):
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text}")
        return value

    return parse


def register(stages) -> None:
    # One command, so the stage has no sub-commands: `krelectra convert --checkpoint ...`.
    p = stages.add_parser(
        "convert",
        help="TF1 ELECTRA checkpoint -> verified Hugging Face models",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--checkpoint",
        required=True,
        help="TF1 checkpoint prefix (PREFIX.index exists), or a folder with a 'checkpoint' file",
    )
    p.add_argument(
        "--model-config",
        type=Path,
        required=True,
        help="model_config.json of the pretraining run (model sizes; see below)",
    )
    p.add_argument(
        "--vocab-dir",
        type=Path,
        required=True,
        help="folder with vocab.txt (and tokenizer_config.json, special_tokens_map.json)",
    )
    p.add_argument(
        "--output-dir", type=Path, required=True, help="writes the discriminator and generator folders and the check"
    )
    p.add_argument("--pretrain-config", type=Path, help="pretrain_config.json, for the model card")
    p.add_argument("--metrics", type=Path, help="metrics.jsonl of pretraining, for the model card")
    p.add_argument("--corpus-stats", type=Path, help="corpus stats.json, for the model card")
    p.add_argument("--model-name", default="KR-ELECTRA reproduction", help="title of the model cards")
    p.add_argument(
        "--tolerance",
        type=float,
        default=1e-5,
        help="allowed max |PyTorch - TF| of the logits, relative to the largest |TF logit| "
        "(absolute below 1); default 1e-5",
    )
    p.add_argument("--batch-size", type=_at_least(1), default=4, help="rows of the verification batch")
    p.add_argument("--seq-length", type=_at_least(8), default=64, help="length of the verification batch")
    p.add_argument("--seed", type=int, default=0, help="seed of the verification batch")
    p.add_argument("--threads", type=_at_least(0), default=0, help="CPU threads for TF and PyTorch (0: all)")
    p.add_argument(
        "--cpu-kernels",
        choices=kernels.CHOICES,
        default=kernels.NATIVE,
        help="portable: the AVX2 kernels on every x86-64 CPU, for the same verification.json across machines; "
        "native (default): the libraries' fastest for this CPU (krelectra.kernels)",
    )
    p.set_defaults(func=_convert)
