"""README.md of each converted model folder, written from the run's own records:
the model sizes, the corpus statistics, the vocabulary, the pretraining settings and
steps, the last pretraining evaluation, and the conversion check."""

from __future__ import annotations

from krelectra.convert.mapping import DISCRIMINATOR

CITATION = """\
@misc{kr-electra,
  author = {Lee, Sangah and Hyopil Shin},
  title = {KR-ELECTRA: a KoRean-based ELECTRA model},
  year = {2022},
  publisher = {GitHub},
  journal = {GitHub repository},
  howpublished = {\\url{https://github.com/snunlp/KR-ELECTRA}}
}

@inproceedings{clark2020electra,
  title = {{ELECTRA}: Pre-training Text Encoders as Discriminators Rather Than Generators},
  author = {Kevin Clark and Minh-Thang Luong and Quoc V. Le and Christopher D. Manning},
  booktitle = {International Conference on Learning Representations},
  year = {2020}
}"""


def render_model_card(model: str, context: dict) -> str:
    """The README.md of the discriminator or generator folder."""
    is_disc = model == DISCRIMINATOR
    cfg = context["model_config"]
    report = context["report"]
    role = (
        "discriminator (replaced-token detection), the encoder to finetune"
        if is_disc
        else "generator (masked language model) trained alongside the discriminator"
    )
    hf_class = "ElectraForPreTraining" if is_disc else "ElectraForMaskedLM"
    step = report.get("global_step")
    lines = [
        "---",
        "language: ko",
        "library_name: transformers",
        "tags: [electra, korean, krelectra]",
        f"pipeline_tag: {'feature-extraction' if is_disc else 'fill-mask'}",
        "---",
        "",
        f"# {context['model_name']}: {model}",
        "",
        f"The ELECTRA {role}, as `{hf_class}`. Pretrained with the ELECTRA recipe "
        "(google-research/electra) by the krelectra workflow and converted from its TF1 "
        f"checkpoint `{report['checkpoint']}`" + (f" at step {step:,}." if step is not None else "."),
        "",
        "## Model",
        "",
        "| model | layers | embedding | hidden | heads | FFN |",
        "|---|---:|---:|---:|---:|---:|",
        f"| discriminator | {cfg['num_hidden_layers']} | {cfg['embedding_size']} | {cfg['hidden_size']} "
        f"| {cfg['num_attention_heads']} | {cfg['intermediate_size']} |",
        f"| generator | {cfg['generator_num_hidden_layers']} | {cfg['embedding_size']} "
        f"| {cfg['generator_hidden_size']} | {cfg['generator_num_attention_heads']} "
        f"| {cfg['generator_intermediate_size']} |",
        "",
        f"Token, position ({cfg['max_position_embeddings']}) and token-type embeddings are shared by the two "
        "models, as in the recipe; the generator's output matrix is the word embedding matrix.",
        "",
        "## Training data",
        "",
        *_corpus_lines(context.get("corpus_stats")),
        "",
        "## Vocabulary",
        "",
        f"{context['vocab_size']:,} tokens: WordPiece over Mecab-Ko morphemes, cased "
        "(`do_lower_case` false, `strip_accents` false: lower-casing would decompose Hangul into jamo). "
        "`[PAD] [UNK] [CLS] [SEP] [MASK]` are special tokens.",
        "",
        "## Pretraining",
        "",
        *_pretrain_lines(context.get("pretrain_config"), step),
        "",
        "## Pretraining evaluation",
        "",
        *_metrics_lines(context.get("metrics")),
        "",
        "## Conversion check",
        "",
        *_verification_lines(report),
        "",
        "## Use",
        "",
        "```python",
        *(
            [
                "from transformers import AutoTokenizer, ElectraModel",
                "",
                'model = ElectraModel.from_pretrained("path/to/discriminator")',
                'tokenizer = AutoTokenizer.from_pretrained("path/to/discriminator")',
            ]
            if is_disc
            else [
                "from transformers import AutoTokenizer, ElectraForMaskedLM",
                "",
                'model = ElectraForMaskedLM.from_pretrained("path/to/generator")',
                'tokenizer = AutoTokenizer.from_pretrained("path/to/generator")',
            ]
        ),
        "```",
        "",
        "`AutoTokenizer` loads `tokenizer.json`, the pipeline the model was pretrained with:",
        "Unicode NFC first (Hangul typed decomposed, as some systems store it, gives the same",
        "tokens), no lower-casing, and words over 100 characters split into pieces instead of",
        "`[UNK]`. `ElectraTokenizer.from_pretrained` loads the folder too and gives the same ids on",
        "NFC text, but in transformers 5 it rebuilds a BERT pipeline from `vocab.txt` without",
        "the NFC step and with the 100-character limit. `AutoModel` loads the folder too.",
        "",
        "## Citation",
        "",
        "Cite KR-ELECTRA and ELECTRA, and this reproduction through the krelectra repository's CITATION.cff:",
        "",
        "```bibtex",
        CITATION,
        "```",
        "",
    ]
    return "\n".join(lines)


def _corpus_lines(stats: dict | None) -> list[str]:
    if not stats:
        return ["Not recorded for this conversion (no corpus statistics were given)."]
    lines = [
        f"{stats.get('documents', 0):,} documents, {stats.get('sentences', 0):,} sentences, "
        f"{stats.get('characters', 0):,} characters ({stats.get('bytes', 0):,} bytes of UTF-8) after "
        "cleaning and deduplication."
    ]
    registers = stats.get("registers") or {}
    if registers:
        lines += ["", "| register | documents | sentences | characters |", "|---|---:|---:|---:|"]
        lines += [
            f"| {name} | {v.get('documents', 0):,} | {v.get('sentences', 0):,} | {v.get('characters', 0):,} |"
            for name, v in sorted(registers.items())
        ]
    if isinstance(stats.get("spoken_ratio_achieved"), (int, float)):
        lines += ["", f"Spoken share of the characters: {stats['spoken_ratio_achieved']:.1%}."]
    sources = stats.get("sources") or {}
    if sources:
        lines += ["", "| source | register | documents | raw bytes |", "|---|---|---:|---:|"]
        lines += [
            f"| {name} | {v.get('register', '')} | {v.get('documents', 0):,} | {v.get('bytes', 0):,} |"
            for name, v in sorted(sources.items())
        ]
    attribution = stats.get("attribution") or []
    if attribution:
        lines += [
            "",
            "### Attribution",
            "",
            "Public data sets in the corpus, downloaded and verified by the workflow (the SHA-1 of every file "
            "is in the corpus statistics). Text under CC BY-SA 4.0 is used and shared under its terms; this "
            "model is trained on it.",
            "",
            "| data set | sources | licence | version | downloaded bytes |",
            "|---|---|---|---|---:|",
        ]
        lines += [
            f"| [{_cell(a['title'])}]({a['homepage']}) | {', '.join(a['sources'])} "
            f"| [{_cell(a['licence'])}]({a['licence_url']}) | {_cell(a['version'])} | {a['bytes']:,} |"
            for a in attribution
        ]
    return lines


def _pretrain_lines(pretrain_config: dict | None, step) -> list[str]:
    lines = [f"Trained for {step:,} steps." if step is not None else "The checkpoint records no global_step."]
    if pretrain_config:
        lines += ["", "| setting | value |", "|---|---|"]
        lines += [f"| {key} | {_cell(value)} |" for key, value in sorted(_flatten(pretrain_config).items())]
    return lines


def _flatten(settings: dict, prefix: str = "") -> dict:
    """Nested sections as dotted keys: {"examples": {"max_seq_length": 128}} -> examples.max_seq_length."""
    flat = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _metrics_lines(records: list[dict] | None) -> list[str]:
    if not records:
        return ["No pretraining metrics were given."]
    evaluations = [r for r in records if _is_evaluation(r)] or records
    last = evaluations[-1]
    lines = ["The last evaluation record of the pretraining run:", "", "| metric | value |", "|---|---|"]
    lines += [
        f"| {key} | {_cell(value)} |"
        for key, value in sorted(last.items())
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    ]
    return lines


def _is_evaluation(record: dict) -> bool:
    """The pretraining stage labels records {"split": "eval" | "train", "step": ..., ...}."""
    return str(record.get("split", "")).startswith("eval")


def _verification_lines(report: dict) -> list[str]:
    counts = report.get("variables", {})
    lines = [
        f"Every weight of both models was filled from the checkpoint ({counts.get('discriminator_weights', '?')} "
        f"discriminator and {counts.get('generator_weights', '?')} generator tensors from "
        f"{counts.get('placed', '?')} checkpoint variables), and every other checkpoint variable is a "
        f"non-weight ({counts.get('non_weights', '?')}: global_step and optimizer slots)."
    ]
    comparisons = report.get("comparisons")
    if comparisons:
        batch = report["batch"]
        lines += [
            "",
            f"On a fixed batch ({batch['batch_size']} x {batch['seq_length']}, seed {batch['seed']}) "
            "the TF model and these PyTorch weights agree:",
            "",
            "| output | max abs difference | allowed | max abs value |",
            "|---|---:|---:|---:|",
        ]
        lines += [
            f"| {name} | {c['max_abs_diff']:.3g} | {c['allowed']:.3g} | {c['max_abs_value']:.3g} |"
            for name, c in sorted(comparisons.items())
        ]
        lines += [
            "",
            f"Allowed: tolerance {report['tolerance']:g} x max(1, max abs value); details in "
            "verification.json next to this folder.",
        ]
    return lines


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).replace("|", "\\|")
