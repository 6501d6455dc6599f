"""Builders shared by the test modules: tiny checkpoints, vocabularies, models, datasets and
synthetic runs, each in the formats the stages write. Test modules import what they share
from here and never from each other (CONTRIBUTING.md). Sections follow the pipeline's stages.
Heavy libraries (TensorFlow, transformers, nbclient) are imported inside the builder that
needs them, so a module that only writes a synthetic run does not load them."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import random
from pathlib import Path

import numpy as np
import pytest
from workflow_helpers import REPO

from krelectra.finetune import protocols
from krelectra.finetune.summary import summarize
from krelectra.finetune.tasks import TASKS
from krelectra.io import read_json, write_json
from krelectra.vocab.tokenizer import write_tokenizer_dir

# -- conversion ----------------------------------------------------------------------------------
# TF1 checkpoints written variable by variable with the ELECTRA recipe's names (listed
# independently of the converter) and vocabulary folders, for the converter's tests.

HANGUL_TOKENS = [
    "한국",
    "##어",
    "나",
    "##는",
    "학생",
    "이",
    "##다",
    "형태소",
    "분석",
    "##기",
    "좋",
    "##아요",
    "영화",
    "재미",
    "##있",
    "##어요",
    "ELECTRA",
    "the",
    "##s",
    "!",
    ".",
    ",",
    "?",
    "1",
    "2",
    "3",
    "가",
    "##가",
    "를",
    "##를",
    "은",
    "##은",
    "에",
    "##에",
    "서",
]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *HANGUL_TOKENS]

# Tiny sizes with the base recipe's shape: discriminator embedding == hidden, generator
# hidden smaller than the shared embedding (so the generator has embeddings_project).
TINY = {
    "vocab_size": len(VOCAB),
    "embedding_size": 16,
    "hidden_size": 16,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 32,
    "generator_hidden_size": 8,
    "generator_num_hidden_layers": 2,
    "generator_num_attention_heads": 2,
    "generator_intermediate_size": 16,
    "max_position_embeddings": 64,
    "type_vocab_size": 2,
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
    "layer_norm_eps": 1e-12,
}


def recipe_variables(cfg: dict, untied_generator_embeddings: bool = False) -> dict[str, tuple[int, ...]]:
    """Variable name -> shape of a TF1 ELECTRA checkpoint, as the recipe names them."""
    E, V = cfg["embedding_size"], cfg["vocab_size"]
    shapes: dict[str, tuple[int, ...]] = {}

    def embeddings(scope):
        shapes[f"{scope}/word_embeddings"] = (V, E)
        shapes[f"{scope}/position_embeddings"] = (cfg["max_position_embeddings"], E)
        shapes[f"{scope}/token_type_embeddings"] = (cfg["type_vocab_size"], E)
        shapes[f"{scope}/LayerNorm/gamma"] = shapes[f"{scope}/LayerNorm/beta"] = (E,)

    def dense(name, n_in, n_out):
        shapes[f"{name}/kernel"], shapes[f"{name}/bias"] = (n_in, n_out), (n_out,)

    def encoder(scope, H, layers, F):
        if E != H:
            dense(f"{scope}/embeddings_project", E, H)
        for n in range(layers):
            layer = f"{scope}/encoder/layer_{n}"
            for part in (
                "attention/self/query",
                "attention/self/key",
                "attention/self/value",
                "attention/output/dense",
            ):
                dense(f"{layer}/{part}", H, H)
            dense(f"{layer}/intermediate/dense", H, F)
            dense(f"{layer}/output/dense", F, H)
            for norm in ("attention/output/LayerNorm", "output/LayerNorm"):
                shapes[f"{layer}/{norm}/gamma"] = shapes[f"{layer}/{norm}/beta"] = (H,)

    embeddings("electra/embeddings")
    if untied_generator_embeddings:
        embeddings("generator/embeddings")
    encoder("electra", cfg["hidden_size"], cfg["num_hidden_layers"], cfg["intermediate_size"])
    encoder(
        "generator",
        cfg["generator_hidden_size"],
        cfg["generator_num_hidden_layers"],
        cfg["generator_intermediate_size"],
    )
    dense("generator_predictions/dense", cfg["generator_hidden_size"], E)
    shapes["generator_predictions/LayerNorm/gamma"] = shapes["generator_predictions/LayerNorm/beta"] = (E,)
    shapes["generator_predictions/output_bias"] = (V,)
    dense("discriminator_predictions/dense", cfg["hidden_size"], cfg["hidden_size"])
    dense("discriminator_predictions/dense_1", cfg["hidden_size"], 1)
    return shapes


def write_checkpoint(
    prefix, shapes: dict, seed: int = 0, global_step: int | None = 1234, adam_slots: bool = True
) -> dict[str, np.ndarray]:
    """Random float32 values under the given names (plus global_step and Adam slots)."""
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(seed)
    values = {name: rng.normal(0.0, 0.5, size=shape).astype(np.float32) for name, shape in shapes.items()}
    tensors = dict(values)
    if adam_slots:
        for name, value in values.items():
            tensors[f"{name}/adam_m"] = np.zeros_like(value)
            tensors[f"{name}/adam_v"] = np.ones_like(value)
    if global_step is not None:
        tensors["global_step"] = np.int64(global_step)
    names = sorted(tensors)
    tf.raw_ops.SaveV2(
        prefix=str(prefix),
        tensor_names=names,
        shape_and_slices=[""] * len(names),
        tensors=[tf.constant(tensors[n]) for n in names],
    )
    return values


def write_vocab_dir(folder, tokenizer_config: dict | None = None, vocab=VOCAB):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    if tokenizer_config is not None:
        (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config), encoding="utf-8")
        (folder / "special_tokens_map.json").write_text(
            json.dumps(
                {
                    "pad_token": "[PAD]",
                    "unk_token": "[UNK]",
                    "cls_token": "[CLS]",
                    "sep_token": "[SEP]",
                    "mask_token": "[MASK]",
                }
            ),
            encoding="utf-8",
        )
    return folder


CASED = {"do_lower_case": False, "strip_accents": False, "tokenizer_class": "ElectraTokenizer"}

# -- pretraining ---------------------------------------------------------------------------------
# A tiny pretraining run configuration (a `--config` for `krelectra pretrain train`).

RUN_CONFIG = {
    "examples": {"max_seq_length": 64},
    "model": {"embedding_size": 32, "hidden_size": 64, "num_hidden_layers": 2, "generator_hidden_size": 0.5},
    "train": {
        "train_batch_size": 8,
        "num_train_steps": 30,
        "num_warmup_steps": 3,
        "learning_rate": 1e-4,  # the embedded default's; at 1e-3 runs drift apart within 25 steps
        "log_every_steps": 5,
        "iterations_per_loop": 5,
        "save_checkpoints_steps": 30,
        "eval_every_steps": 30,
        "eval_batch_size": 8,
        "max_eval_batches": 2,
        "shuffle_buffer": 100,
    },
}

# -- finetuning ----------------------------------------------------------------------------------
# A tiny random model with a character vocabulary, small learnable datasets in the
# upstream formats, and hyperparameters that make a training run take seconds.

NAMES = ["김철수", "이영희", "박민수", "최지우"]
PLACES = ["서울", "부산", "대구", "광주"]
GOOD = ["정말 재미있다", "너무 좋았다", "최고의 영화"]
BAD = ["너무 지루했다", "정말 별로다", "최악의 영화"]
FILLER = ["오늘", "어제", "친구와", "함께", "만났다", "갔다", "에서", "는", "가", "를", "누가", "어디", "왜", "어떻게"]
TEXT = " ".join(NAMES + PLACES + GOOD + BAD + FILLER) + " 0123456789.?!,()"


def make_tiny_model(folder, texts=()):
    """A tiny random ElectraForPreTraining checkpoint with a character WordPiece vocabulary
    (of TEXT and `texts`), laid out like the converter's output."""
    from transformers import BertTokenizer, ElectraConfig, ElectraForPreTraining

    chars = sorted(set(TEXT.replace(" ", "")) | {c for text in texts for c in text if not c.isspace()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + chars + [f"##{c}" for c in chars]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    # transformers 5: the vocabulary file is the `vocab` argument (`vocab_file` is ignored).
    BertTokenizer(vocab=str(folder / "vocab.txt"), do_lower_case=False, strip_accents=False).save_pretrained(folder)
    config = ElectraConfig(
        vocab_size=len(vocab),
        embedding_size=32,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    ElectraForPreTraining(config).save_pretrained(folder)
    return folder


def write_tsv(path, rows, header=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ([header] if header else []) + ["\t".join(str(field) for field in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_synthetic_data(root, n_train=320, n_test=64):
    """Small learnable datasets in the upstream formats of five tasks, one per problem type."""
    rnd = random.Random(0)

    def sentiment(n):
        rows = []
        for i in range(n):
            label = rnd.randint(0, 1)
            rows.append((i, f"{rnd.choice(FILLER)} {rnd.choice(GOOD if label else BAD)}", label))
        return rows

    write_tsv(root / "nsmc" / "ratings_train.txt", sentiment(n_train), "id\tdocument\tlabel")
    write_tsv(root / "nsmc" / "ratings_test.txt", sentiment(n_test), "id\tdocument\tlabel")

    def ner(n):
        rows = []
        for _ in range(n):
            words, tags = [], []
            for _ in range(rnd.randint(3, 6)):
                kind = rnd.random()
                if kind < 0.3:
                    words.append(rnd.choice(NAMES) + rnd.choice(["가", "는", ""])), tags.append("PER-B")
                elif kind < 0.5:
                    words.append(rnd.choice(PLACES) + rnd.choice(["에서", ""])), tags.append("LOC-B")
                else:
                    words.append(rnd.choice(FILLER)), tags.append("O")
            rows.append((" ".join(words), " ".join(tags)))
        return rows

    write_tsv(root / "naver-ner" / "train.tsv", ner(n_train))
    write_tsv(root / "naver-ner" / "test.tsv", ner(n_test))

    def sentence():
        return f"{rnd.choice(NAMES)}가 {rnd.choice(PLACES)}에서 {rnd.choice(GOOD + BAD)}"

    def paws(n):
        rows = []
        for i in range(n):
            first, label = sentence(), rnd.randint(0, 1)
            rows.append((i, first, first if label else sentence(), label))
        return rows

    header = "id\tsentence1\tsentence2\tlabel"
    write_tsv(root / "paws" / "translated_train.tsv", paws(n_train), header)
    write_tsv(root / "paws" / "dev_2k.tsv", paws(n_test), header)
    write_tsv(root / "paws" / "test_2k.tsv", paws(n_test), header)

    def sts(n):
        rows = []
        for i in range(n):
            first, same = sentence(), rnd.random() < 0.5
            second = first if same else sentence()
            score = 5.0 if same else round(rnd.uniform(0.0, 2.0), 2)
            rows.append(("main-news", "x", "2017", i, score, first, second))
        return rows

    header = "genre\tfilename\tyear\tid\tscore\tsentence1\tsentence2"
    write_tsv(root / "korsts" / "sts-train.tsv", sts(n_train), header)
    write_tsv(root / "korsts" / "sts-dev.tsv", sts(n_test), header)
    write_tsv(root / "korsts" / "sts-test.tsv", sts(n_test), header)

    def korquad(n, prefix):
        data = []
        for i in range(n):
            name, place = rnd.choice(NAMES), rnd.choice(PLACES)
            filler = " ".join(rnd.choice(FILLER) for _ in range(rnd.randint(4, 12)))
            context = f"{filler} {place}에서 {name}가 만났다. {' '.join(rnd.choice(FILLER) for _ in range(6))}"
            qas = [
                {
                    "id": f"{prefix}{i}-who",
                    "question": "누가 만났다?",
                    "answers": [{"text": name, "answer_start": context.index(name)}],
                },
                {
                    "id": f"{prefix}{i}-where",
                    "question": "어디에서 만났다?",
                    "answers": [{"text": place, "answer_start": context.index(place)}],
                },
            ]
            data.append({"title": f"t{i}", "paragraphs": [{"context": context, "qas": qas}]})
        return {"version": "KorQuAD_v1.0", "data": data}

    (root / "korquad").mkdir(parents=True, exist_ok=True)
    (root / "korquad" / "KorQuAD_v1.0_train.json").write_text(
        json.dumps(korquad(n_train // 2, "tr"), ensure_ascii=False), encoding="utf-8"
    )
    (root / "korquad" / "KorQuAD_v1.0_dev.json").write_text(
        json.dumps(korquad(n_test // 2, "te"), ensure_ascii=False), encoding="utf-8"
    )
    return root


# Quick finetuning hyperparameters for the synthetic data (write_synthetic_data): on its
# NSMC (288 training examples after the dev carve-out: 18 steps an epoch) two save points
# an epoch.
FAST = {
    "save_steps": 9,
    "learning_rate": 2e-3,
    "num_train_epochs": 4,
    "train_batch_size": 16,
    "eval_batch_size": 32,
    "max_seq_length": 48,
    "doc_stride": 16,
    "max_query_length": 8,
    "max_answer_length": 10,
    "n_best_size": 5,
}

# -- paper: a synthetic run ----------------------------------------------------------------------
# Every rule output the paper stage reads, in the exact formats the other stages write
# (finetuning summaries and protocol selections are made by the finetune stage's own
# functions, the vocabulary report by the vocab stage's), so the paper tests do not need
# to run the pipeline; test_paper_synthetic_run.py checks these files against their producers.

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
HELDOUT = [
    ["오늘 택배가 왔는데 포장이 꼼꼼해서 좋았어요.", "배송도 빠르고 가격도 괜찮네요!"],
    ["대한민국은 민주공화국이다.", "모든 국민은 법 앞에 평등하다."],
    ["영화가 생각보다 재밌었는데 결말은 좀 아쉬웠음.", "다음 편도 꼭 볼 거예요."],
]
MORPHEMES = [
    "오늘 택배 ##가 왔 ##는데 포장 ##이 꼼꼼 ##해서 좋 ##았 ##어요 .",
    "대한민국 ##은 민주 ##공화국 ##이 ##다 .",
]
MODEL_CONFIG_KEYS = [
    "vocab_size",
    "embedding_size",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "generator_hidden_size",
    "generator_num_hidden_layers",
    "generator_num_attention_heads",
    "generator_intermediate_size",
    "max_position_embeddings",
    "type_vocab_size",
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
    "layer_norm_eps",
    "hidden_act",
]


def _vocab(results: Path) -> None:
    """A character-level WordPiece vocabulary (plain and ## forms of every character of the
    held-out text) and a vocabulary report computed by the vocab stage itself."""
    chars = sorted(
        {ch for doc in HELDOUT for s in doc for ch in s if not ch.isspace()}
        | {ch for line in MORPHEMES for ch in line.replace("#", "") if not ch.isspace()}
    )
    pieces = (
        SPECIAL + chars + [f"##{c}" for c in chars] + ["택배", "##는데", "포장", "대한민국", "##어요", "민주공화국"]
    )
    tokenizer = results / "vocab" / "tokenizer"
    write_tokenizer_dir(pieces, tokenizer)
    write_json(
        results / "vocab" / "train.json",
        {
            "alphabet": ["ks_x_1001_hangul", "compatibility_jamo", "ascii"],
            "min_frequency": 2,
            "size": len(pieces),
            "size_requested": len(pieces),
        },
    )
    for shard, docs in (("00000", HELDOUT[:2]), ("00001", HELDOUT[2:])):
        path = results / "vocab" / "heldout" / f"{shard}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join("\n".join(doc) + "\n\n" for doc in docs), encoding="utf-8")
        morphemes = results / "vocab" / "morphemes" / f"{shard}.txt"
        morphemes.parent.mkdir(parents=True, exist_ok=True)
        morphemes.write_text(MORPHEMES[int(shard)] + "\n", encoding="utf-8")
    from krelectra.vocab.report import vocab_report

    vocab_report(
        tokenizer,
        {"all": sorted((results / "vocab" / "heldout").glob("*.txt"))},
        results / "vocab" / "report.json",
        results / "vocab" / "distributions.json",
    )


def _corpus(results: Path) -> None:
    registers = {
        "spoken": {"bytes": 50427, "characters": 20348, "documents": 696, "sentences": 883},
        "written": {"bytes": 105859, "characters": 45125, "documents": 9, "sentences": 571},
    }
    write_json(
        results / "corpus" / "stats.json",
        {
            **{k: sum(r[k] for r in registers.values()) for k in ("bytes", "characters", "documents", "sentences")},
            "cleaning": {"control_characters_removed": 78, "emails_removed": 8, "urls_removed": 6},
            "dropped_sentences": {
                "balance_written": 46,
                "duplicate": 94,
                "empty_document": 0,
                "too_long": 0,
                "too_short": 39,
            },
            "registers": registers,
            "shards": 2,
            "sources": {
                "kolaw": {"bytes": 45859, "documents": 1, "invalid_utf8_sequences_replaced": 0, "register": "written"},
                "spoken-sample": {
                    "bytes": 52284,
                    "documents": 702,
                    "invalid_utf8_sequences_replaced": 0,
                    "register": "spoken",
                },
            },
            "spoken_ratio_achieved": 20348 / 65473,
            "spoken_ratio_target": 0.3,
            "near_dedup": {"clusters": 1, "documents_compared": 707, "documents_removed": 1},
            "decontamination": {
                "documents_removed": 2,
                "sentences_removed": 3,
                "documents_removed_per_task": {name: int(name == "nsmc") * 2 for name in TASKS},
            },
        },
    )


def _contamination(results: Path) -> None:
    """corpus/contamination.json in the audit's format: per task, its test split of
    TEST_EXAMPLES examples, of which CONTAMINATED are contaminated (KorQuAD: by its
    questions and answers, and one more by its context)."""
    rows = []
    for name, task in TASKS.items():
        parts = ["question+answers", "contexts"] if task.problem == "extractive_qa" else ["text"]
        for part in parts:
            indices = list(CONTAMINATED) if part != "contexts" else [TEST_EXAMPLES - 1]
            judged = TEST_EXAMPLES - 2
            rows.append(
                {
                    "task": name,
                    "split": "test",
                    "part": part,
                    "examples": TEST_EXAMPLES,
                    "too_short": 2,
                    "contaminated": len(indices),
                    "contaminated_share": len(indices) / judged,
                    "clean": judged - len(indices),
                    "dirty": 1,
                    "mean_overlap": 0.05,
                    "contaminated_indices": indices,
                }
            )
    write_json(
        results / "corpus" / "contamination.json",
        {
            "unit": "characters of the text without whitespace and symbols",
            "ngram": 13,
            "clean_below": 0.2,
            "dirty_from": 0.8,
            "corpus_documents_with_evaluation_ngrams": 7,
            "evaluation_ngrams_found": 70,
            "evaluation_ngrams": 7000,
            "splits": rows,
        },
    )


def _pretrain(results: Path, vocab_size: int, steps: int = 100) -> None:
    from krelectra.pretrain.config import ModelSize, TrainConfig
    from krelectra.pretrain.examples import ExampleConfig

    final = results / "pretrain" / "final"
    final.mkdir(parents=True)
    values = [vocab_size, 64, 128, 2, 2, 512, 32, 2, 1, 128, 512, 2, 0.1, 0.1, 1e-12, "gelu"]
    write_json(final / "model_config.json", dict(zip(MODEL_CONFIG_KEYS, values)))
    train = dataclasses.replace(
        TrainConfig(),
        train_batch_size=32,
        num_train_steps=steps,
        learning_rate=1e-3,
        num_warmup_steps=10,
        log_every_steps=10,
        eval_every_steps=50,
    )
    # The layout of krelectra.pretrain.train.resolved_hyperparameters.
    write_json(
        final / "pretrain_config.json",
        {
            **dataclasses.asdict(train),
            "max_predictions_per_seq": 10,
            "max_seq_length": 64,
            "seed": 12345,
            "strategy": "default",
            "num_replicas": 1,
            "per_replica_batch_size": 32,
            "xla": False,
            "mixed_precision": False,
            "init_checkpoint": "",
            "train_examples": 1234,
            "eval_examples": 56,
            "examples": dataclasses.asdict(ExampleConfig(max_seq_length=64)),
            "model": dataclasses.asdict(
                dataclasses.replace(
                    ModelSize(), embedding_size=64, hidden_size=128, num_hidden_layers=2, generator_hidden_size=0.25
                )
            ),
        },
    )
    records = []
    for step in range(0, steps + 1, 10):
        decay = math.exp(-step / steps)
        values = {
            "generator_loss": 4 + 3 * decay,
            "discriminator_loss": 0.2 + 0.4 * decay,
            "generator_accuracy": 0.3 - 0.2 * decay,
            "discriminator_accuracy": 0.9 - 0.1 * decay,
            "discriminator_precision": 0.7 - 0.5 * decay,
            "discriminator_recall": 0.5 - 0.4 * decay,
            "replaced_fraction": 0.1,
        }
        values["loss"] = values["generator_loss"] + 50 * values["discriminator_loss"]
        if step % 50 == 0:
            records.append({"split": "eval", "step": step, **values})
        if step > 0:
            lr = 1e-3 * min(step / 10, (steps - step + 1) / (steps - 10))
            records.append(
                {
                    "split": "train",
                    "step": step,
                    **values,
                    "learning_rate": lr,
                    "examples_per_sec": 100.0,
                    "tokens_per_sec": 6400.0,
                }
            )
    records.sort(key=lambda r: (r["step"], r["split"] == "eval"))
    with open(results / "pretrain" / "metrics.jsonl", "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r, sort_keys=True) + "\n" for r in records)
    write_json(
        results / "models" / "verification.json",
        {
            "passed": True,
            "tolerance": 1e-5,
            "comparisons": {
                "discriminator_logits": {
                    "max_abs_diff": 2.1e-6,
                    "max_abs_value": 3.0,
                    "allowed": 3e-5,
                    "shape": [4, 64],
                },
                "generator_logits": {
                    "max_abs_diff": 4.5e-6,
                    "max_abs_value": 9.0,
                    "allowed": 9e-5,
                    "shape": [4, 64, vocab_size],
                },
            },
            "batch": {"batch_size": 4, "seq_length": 64, "seed": 0, "tokens": 200, "padding": 56},
            "loaded_with": ["ElectraModel.from_pretrained"],
            "versions": {"transformers": "5.24.0"},
        },
    )


def _metrics(task, rng: random.Random, epoch: int, epochs: int, level: float) -> dict:
    progress = epoch / epochs
    base = level * (0.6 + 0.4 * min(1.0, 2 * progress)) + rng.uniform(-6, 6)
    if task.name == "korquad":
        return {"exact_match": base * 0.7, "f1": base}
    if task.name == "korsts":
        return {"spearman": base, "pearson": base + 1}
    return {task.metrics[0]: base}


TEST_EXAMPLES = 40
CONTAMINATED = (0, 5, 9)  # the test examples the synthetic audit finds in the corpus


def _gold(task, rng: random.Random) -> list:
    if task.problem == "token_classification":
        return [[rng.choice(["O", "O", "PER-B", "PER-I", "LOC-B"]) for _ in range(5)] for _ in range(TEST_EXAMPLES)]
    if task.problem == "regression":
        return [round(rng.uniform(0, 5), 2) for _ in range(TEST_EXAMPLES)]
    if task.problem == "extractive_qa":
        return [[f"답 {i}"] for i in range(TEST_EXAMPLES)]
    return [rng.choice(task.labels) for _ in range(TEST_EXAMPLES)]


def _predict(task, gold, rng: random.Random, right: float):
    if task.problem == "token_classification":
        return [tag if rng.random() < right else "O" for tag in gold]
    if task.problem == "regression":
        return gold + rng.gauss(0, 2 * (1 - right))
    if task.problem == "extractive_qa":
        return gold[0] if rng.random() < right else "오답"
    return gold if rng.random() < right else rng.choice(task.labels)


def _predictions(path: Path, task, model_index: int, seed: int, protocols_run: dict) -> None:
    """predictions.jsonl of a run in the finetune stage's format: the same test examples
    for every model and seed (gold drawn per task), predictions right more often for
    later models."""
    gold = _gold(task, random.Random(task.name))
    rng = random.Random(f"{task.name}/{model_index}/{seed}")
    with open(path, "w", encoding="utf-8") as handle:
        for index, value in enumerate(gold):
            record = {"index": index, "gold": value, "prediction": {}, "step": {}}
            if task.problem == "extractive_qa":
                record["id"] = f"q{index}"
            for protocol, chosen in protocols_run.items():
                record["prediction"][protocol] = _predict(task, value, rng, 0.6 + 0.1 * model_index)
                record["step"][protocol] = chosen["step"]
            handle.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")


def write_run(
    root: Path,
    models=("krelectra-ours",),
    seeds=(41, 42),
    tasks=tuple(TASKS),
    epochs: int = 3,
    hyperparameters: dict | None = None,
    data: dict | None = None,
) -> Path:
    """Write a synthetic `root/results` and return it. `data`: the runs' data facts
    (default: the upstream files, uncapped, as the published numbers were measured)."""
    data = data or {"upstream": True, "max_train_examples": None, "max_eval_examples": None}
    results = Path(root) / "results"
    _corpus(results)
    _contamination(results)
    _vocab(results)
    vocab_size = len((results / "vocab" / "tokenizer" / "vocab.txt").read_text(encoding="utf-8").split())
    _pretrain(results, vocab_size)
    for m, model in enumerate(models):
        for name in tasks:
            task = TASKS[name]
            for seed in seeds:
                rng = random.Random(f"{model}/{name}/{seed}")
                level = 60 + 5 * m
                # one save point per epoch, at 100 steps an epoch
                history = [
                    {
                        "step": 100 * e,
                        "epoch": float(e),
                        "train_seconds": 1.0,
                        "eval_seconds": 0.5,
                        "train_loss": 1.0 / e,
                        "dev": _metrics(task, rng, e, epochs, level),
                        "test": _metrics(task, rng, e, epochs, level),
                    }
                    for e in range(1, epochs + 1)
                ]
                hp = {**task.hyperparameters, **(hyperparameters or {}), "seed": seed}
                selected = protocols.report(history, task.metrics[0])
                run_dir = results / "finetune" / model / name / f"seed{seed}"
                run_dir.mkdir(parents=True, exist_ok=True)
                _predictions(run_dir / "predictions.jsonl", task, m, seed, selected)
                write_json(
                    run_dir / "metrics.json",
                    {
                        "task": name,
                        "problem": task.problem,
                        "model": model,
                        "model_source": "results/models/discriminator",
                        "seed": seed,
                        "headline_metric": task.metrics[0],
                        "metrics": list(task.metrics),
                        "hyperparameters": hp,
                        "optimizer": "adamw_torch",
                        "steps_per_epoch": 100,
                        "points": history,
                        "protocols": selected,
                        "data": data,
                        "model_loading": {},
                        "timing": {},
                        "environment": {},
                    },
                )
        runs = [read_json(p) for p in sorted((results / "finetune" / model).glob("*/seed*/metrics.json"))]
        write_json(results / "finetune" / model / "summary.json", summarize(runs, model))
    _manifest(results)
    return results


def _manifest(results: Path) -> None:
    """results/manifest.json of the synthetic finetuning runs (the workflow's paper_tables
    reads a run's manifest; the synthetic run's other rule outputs are left out of it)."""
    from krelectra.manifest.record import build_manifest, write_manifest

    files = sorted(results.glob("finetune/*/*/seed*/*.json*"))
    write_manifest(results / "manifest.json", build_manifest([("finetune_train", files)], results, {}))


def write_uncertainty(results: Path, reference_model: str, resamples: int = 200) -> list[Path]:
    """paper/uncertainty/{task}.json of a run, made by the paper stage's own bootstrap."""
    from krelectra.paper.uncertainty import write_task_uncertainty

    paths = []
    for name in TASKS:
        runs = sorted(results.glob(f"finetune/*/{name}/seed*/metrics.json"))
        if runs:
            path = results / "paper" / "uncertainty" / f"{name}.json"
            write_task_uncertainty(name, runs, path, ["paper", "clean"], reference_model, resamples, 0.95, 0)
            paths.append(path)
    return paths


def run_files(results: Path) -> dict:
    """The rule outputs of a synthetic (or real) run, by role."""
    return {
        "corpus_stats": results / "corpus/stats.json",
        "vocab_train": results / "vocab/train.json",
        "vocab_report": results / "vocab/report.json",
        "model_config": results / "pretrain/final/model_config.json",
        "pretrain_config": results / "pretrain/final/pretrain_config.json",
        "verification": results / "models/verification.json",
        "summaries": sorted(results.glob("finetune/*/summary.json")),
        "runs": sorted(results.glob("finetune/*/*/seed*/metrics.json")),
    }


# -- paper: the audit notebook -------------------------------------------------------------------
# notebooks/audit.ipynb executed against a run's outputs, and the text it printed.

NOTEBOOK = REPO / "notebooks" / "audit.ipynb"


def execute(results: Path, tables: Path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    env = {
        "KRELECTRA_RESULTS": str(results),
        "KRELECTRA_TABLES": str(tables),
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
        "MPLBACKEND": "Agg",
    }
    old = {key: os.environ.get(key) for key in env}
    os.environ.update(env)  # the kernel inherits the environment
    try:
        client = nbclient.NotebookClient(
            notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
        )
        client.execute()
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return notebook


def outputs(notebook) -> str:
    text = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            text.append(output.get("text", "") + str(output.get("data", {}).get("text/markdown", "")))
    return "\n".join(text)


# -- the spec's values -------------------------------------------------------------------

# spec tasks.md, "Which checkpoints": save_steps (= logging_steps) in KR-ELECTRA's configs.
KR_ELECTRA_SAVE_STEPS = {
    "nsmc": 2000,
    "naver-ner": 1000,
    "paws": 1000,
    "kornli": 3000,
    "korsts": 100,
    "question-pair": 100,
    "korquad": 1000,
    "hate-speech": 100,
}

# spec tasks.md, "Hyperparameters KR-ELECTRA used (per task)":
# task: (lr, epochs, train batch, eval batch, max len, adam eps, seed)
KR_ELECTRA_FINETUNING = {
    "nsmc": (5e-5, 10, 32, 128, 128, 1e-6, 41),
    "naver-ner": (5e-5, 20, 32, 128, 128, 1e-6, 41),
    "paws": (3e-5, 15, 32, 64, 128, 1e-5, 41),
    "kornli": (3e-5, 15, 64, 256, 128, 1e-6, 41),
    "korsts": (5e-5, 10, 32, 64, 128, 1e-5, 41),
    "question-pair": (5e-5, 10, 32, 64, 128, 1e-5, 42),
    "korquad": (5e-5, 7, 8, 32, 512, 1e-6, 42),
    "hate-speech": (5e-5, 10, 32, 64, 128, 1e-5, 41),
}
