"""Scale model: how long the published recipe (config/paper.yaml) takes at 34 GB
(or another recipe config at another corpus size: --configfile, --corpus-gb).

Measures per-unit costs of each stage on this machine with the project's own functions
(small samples, a few steps), then extrapolates, with the assumptions printed next to
the table, the wall time of the full recipe: 34 GB of raw text in 128 shards, a 30k
WordPiece vocabulary, base ELECTRA (discriminator 12 x 768, generator 12 x 256,
embeddings 768) at batch 256 x sequence 128 for 700,000 steps, and finetuning on 8
tasks with the recipe's seeds, on this machine, on N nodes like it, and on one accelerator.

    python benchmarks/scale_model.py [--nodes 16] [--sample-mb 3] [--output docs/scale-table.md]
    python benchmarks/scale_model.py --configfile config/public.yaml --corpus-gb 0.5

Accelerator time is computed, not measured: analytic FLOPs / (peak x MFU), with an
assumed MFU of 0.3-0.4 for pretraining and, for finetuning, the utilisations that
benchmarks/finetune_gpu_rate.py measured on one H200 (evaluate_cost.py: 0.07-0.09 in
training steps, 0.31 in scoring).
Takes about 3 minutes on a 2-core CPU; the machine may be shared, so rates vary.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import yaml  # noqa: E402

from krelectra.finetune.tasks import TASKS, resolve_seeds  # noqa: E402

MB = 1e6
# Which recipe and corpus size, read before anything else: the constants below follow them.
_SCALE = argparse.ArgumentParser(add_help=False)
_SCALE.add_argument("--configfile", type=Path, default=REPO / "config/paper.yaml")
_SCALE.add_argument("--corpus-gb", type=float, default=34.0)
SCALE, _ = _SCALE.parse_known_args()
# The recipe, read from its config file (the whole config, every key given): config/paper.yaml
# by default.
RECIPE = yaml.safe_load(Path(SCALE.configfile).read_text(encoding="utf-8"))
# 34 GB of UTF-8 text (the paper) by default, taken as 34e9 bytes; the corpus is the user's.
CORPUS_BYTES = SCALE.corpus_gb * 1e9
CORPUS_SIZE = f"{SCALE.corpus_gb:g} GB"
NUM_SHARDS = RECIPE["corpus"]["num_shards"]
NUM_SOURCES = len(RECIPE["corpus"]["sources"])  # assumed of equal size
DEDUP_BUCKETS = RECIPE["corpus"]["dedup_buckets"]
CLEANING = RECIPE["corpus"]["cleaning"]
VOCAB_SIZE = RECIPE["vocab"]["size"]
SEQ = RECIPE["pretrain"]["examples"]["max_seq_length"]
BATCH = RECIPE["pretrain"]["train"]["train_batch_size"]
STEPS = RECIPE["pretrain"]["train"]["num_train_steps"]
MASK_PROB = RECIPE["pretrain"]["train"]["mask_prob"]
EMBEDDING, HIDDEN, LAYERS, GEN_FRACTION = (
    RECIPE["pretrain"]["model"][key]
    for key in ("embedding_size", "hidden_size", "num_hidden_layers", "generator_hidden_size")
)
# Training seeds per task (finetune.seeds; "reference" is the task's reference seed).
SEEDS = {task: len(resolve_seeds(TASKS[task], RECIPE["finetune"]["seeds"])) for task in RECIPE["finetune"]["tasks"]}

# Peak dense bfloat16 throughput (vendor figures; assumptions, not measurements).
ACCELERATORS = {
    "one TPU v3-8 (4 chips, as KR-ELECTRA)": 420e12,
    "one A100": 312e12,
    "one H100 SXM": 989e12,
}
MAIN_ACCELERATOR = "one H100 SXM"
MFU_RANGE = (0.3, 0.4)

# Finetuning: upstream training-set sizes (approximate public figures: assumptions) and
# the evaluation examples scored after every epoch (dev + test). Epochs, batch and
# sequence length are the KR-ELECTRA settings in krelectra.finetune.tasks.
FINETUNE_EXAMPLES = {  # task: (train examples, dev + test examples evaluated per epoch)
    "nsmc": (150_000, 50_000 + 15_000),
    "naver-ner": (81_000, 9_000 + 8_100),
    "paws": (49_400, 2_000 + 2_000),
    "kornli": (392_700, 2_490 + 5_010),
    "korsts": (5_750, 1_500 + 1_380),
    "question-pair": (6_100, 680 + 760),
    "korquad": (63_000, 6_000 + 6_300),  # 60,407 questions; windows of 512, stride 128: ~1.05 features each
    "hate-speech": (7_900, 470 + 790),
}

# ELECTRA paper (Clark et al., 2020): ELECTRA-Base, 766k steps at batch 256, 6.4e19
# train FLOPs, "4d on 16 TPUv3s".
ELECTRA_BASE = {"steps": 766_000, "batch": 256, "flops": 6.4e19, "days": 4.0, "chips": 16, "chip_peak": 123e12}


# -- timing helpers ---------------------------------------------------------------------


def timed(fn, repeats: int = 1) -> float:
    """Median wall seconds of `repeats` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def human(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    if seconds < 2 * 365 * 86400:
        return f"{seconds / 86400:.1f} days"
    return f"{seconds / (365 * 86400):.0f} years"


def size_mb(path: Path) -> float:
    return path.stat().st_size / MB


# -- analytic FLOPs ----------------------------------------------------------------------


def encoder_flops_per_token(hidden: int, layers: int, seq: int) -> float:
    """Forward matmul FLOPs per token of a BERT encoder (multiply-add = 2 FLOPs):
    Q, K, V, output (4 h^2), FFN (2 x 4 h^2), attention scores and weighted sum (2 seq h)."""
    return layers * 2 * (12 * hidden * hidden + 2 * seq * hidden)


def pretrain_flops_per_token(seq: int = SEQ, vocab: int = VOCAB_SIZE) -> float:
    """Forward + backward (3 x forward) of generator and discriminator, per token."""
    gen_hidden = round(HIDDEN * GEN_FRACTION)
    predictions = int((MASK_PROB + 0.005) * seq)  # MLM head runs on these positions only
    forward = (
        encoder_flops_per_token(HIDDEN, LAYERS, seq)
        + 2 * (HIDDEN * HIDDEN + HIDDEN)  # discriminator head
        + encoder_flops_per_token(gen_hidden, LAYERS, seq)
        + 2 * EMBEDDING * gen_hidden * (gen_hidden != EMBEDDING)  # generator embeddings_project
        + predictions / seq * 2 * (gen_hidden * EMBEDDING + EMBEDDING * vocab)
    )  # MLM head, tied output
    return 3 * forward


def finetune_flops_per_token(seq: int) -> float:
    """Forward + backward of the discriminator alone (classification heads are negligible)."""
    return 3 * encoder_flops_per_token(HIDDEN, LAYERS, seq)


# -- corpus ------------------------------------------------------------------------------


def build_raw_sample(root: Path, target_mb: float) -> tuple[list[Path], list[Path]]:
    """Written files (konlpy's constitution and bills, one document per file) and a spoken
    file (our comment sample, one document per line), repeated up to about target_mb."""
    from krelectra.corpus.sources import konlpy_corpus_dir

    written_src = sorted(konlpy_corpus_dir().glob("*/*.txt"))
    spoken_src = REPO / "resources" / "corpus" / "spoken_sample.txt"
    unit = sum(p.stat().st_size for p in written_src) + spoken_src.stat().st_size
    copies = max(1, math.ceil(target_mb * MB / unit))
    (root / "written").mkdir(parents=True)
    written = []
    for copy in range(copies):
        for path in written_src:
            out = root / "written" / f"{copy:03d}-{path.parent.name}-{path.name}"
            shutil.copyfile(path, out)
            written.append(out)
    spoken = root / "spoken.txt"
    spoken.write_text(spoken_src.read_text(encoding="utf-8") * copies, encoding="utf-8")
    return written, [spoken]


def measure_corpus(work: Path, sample_mb: float, repeats: int) -> dict:
    from krelectra.corpus.documents import partition
    from krelectra.corpus.pipeline import clean_shard, dedup, finalize

    written, spoken = build_raw_sample(work / "raw", sample_mb)
    raw_mb = sum(size_mb(p) for p in written + spoken)
    parts = [work / "written.part", work / "spoken.part"]

    def do_partition():
        partition("written", "written", "file", written, [parts[0]], work / "pw.json")
        partition("spoken", "spoken", "line", spoken, [parts[1]], work / "ps.json")

    def do_clean():
        clean_shard(parts, CLEANING, work / "cleaned.jsonl", work / "hashes.npz", work / "clean.json")

    # Every sentence is repeated in this sample, so deduplication would drop nearly all of
    # them; the plan keeps everything so that finalize writes a shard of realistic size.
    def do_finalize():
        finalize(
            work / "cleaned.jsonl",
            work / "keep.npy",
            work / "plan.json",
            work / "clean.json",
            work / "shard.txt",
            work / "final.json",
        )

    t_partition = timed(do_partition, repeats)
    t_clean = timed(do_clean, repeats)
    dedup(
        [work / "hashes.npz"], [work / "keep.npy"], work / "plan.json", deduplicate=False, buckets=1, spoken_ratio=None
    )
    t_finalize = timed(do_finalize, repeats)
    import numpy as np

    sentences = len(np.load(work / "hashes.npz")["hash"])
    shard = work / "shard.txt"
    cleaned = (work / "cleaned.jsonl").read_text(encoding="utf-8").splitlines()
    scan_s, bands_s = measure_document_work(work, [json.loads(line)["sentences"] for line in cleaned])
    return {
        "raw_mb": raw_mb,
        "partition_s": t_partition,
        "clean_s": t_clean,
        "scan_s": scan_s,
        "documents": len(cleaned),
        "bands_s": bands_s,
        "finalize_s": t_finalize,
        "sentences": sentences,
        "shard": shard,
        "shard_mb": size_mb(shard),
    }


# Distinct character n-grams of the eight tasks' evaluated splits at their upstream sizes
# (an assumption: ~100k examples, most of them 20-60 characters, KorQuAD's 960 contexts of
# ~500): the scan's index is padded with random hashes to this size.
EVALUATION_NGRAMS = 4_000_000


def scale_index(work: Path):
    """The contamination index of the fixtures' evaluated splits, padded with random
    n-gram hashes to EVALUATION_NGRAMS (lookup cost grows with the index's size)."""
    import numpy as np

    from krelectra.corpus.contamination import EvaluationIndex, build_index

    index_path, examples_path = work / "index.npz", work / "examples.json"
    ngram = RECIPE["corpus"]["contamination"]["ngram"]
    build_index(REPO / "resources" / "finetune", list(TASKS), ngram, index_path, examples_path)
    index = EvaluationIndex.load(index_path, examples_path)
    padding = np.random.default_rng(0).integers(0, 2**63, EVALUATION_NGRAMS - len(index.grams), dtype=np.uint64)
    grams, order = np.unique(np.concatenate([index.grams, padding]), return_index=True)
    masks = np.concatenate([index.task_masks, np.ones(len(padding), dtype=np.uint16)])[order]
    return EvaluationIndex(index.n, index.tasks, grams, masks)


def measure_document_work(work: Path, documents: list[list[str]]) -> tuple[float, float]:
    """Seconds of the clean job's new per-document work on the cleaned sample: the
    evaluation n-gram scan (against the padded index) and the MinHash band hashes
    (FineWeb's parameters)."""
    from krelectra.corpus.contamination import Scanner
    from krelectra.corpus.near_dup import NearDupOptions, band_hashes

    index = scale_index(work)

    def scan():
        scanner = Scanner(index)
        for number, sentences in enumerate(documents):
            scanner.add(number, "".join(sentences))
        scanner.hits()

    return timed(scan), timed(lambda: band_hashes(documents, NearDupOptions()))


def measure_near_dup(work: Path, documents: int, shards: int = NUM_SHARDS) -> dict:
    """The decision job's near-duplicate clusters on random band hashes of `shards` shards."""
    import numpy as np

    from krelectra.corpus.near_dup import NearDupOptions, near_duplicates

    rng = np.random.default_rng(1)
    per_shard = documents // shards
    files = []
    for shard in range(shards):
        path = work / f"b{shard:05d}.u64"
        rng.integers(0, 2**63, (per_shard, NearDupOptions().bands), dtype=np.uint64).astype("<u8").tofile(path)
        files.append(path)
    eligible = [np.ones(per_shard, dtype=bool) for _ in range(shards)]
    return {"documents": per_shard * shards, "seconds": timed(lambda: near_duplicates(files, eligible))}


def measure_dedup(work: Path, sentences: int, shards: int = NUM_SHARDS) -> dict:
    """The dedup job on synthetic sentence hashes of `shards` shards (random, so few repeat)."""
    import numpy as np

    from krelectra.corpus.pipeline import dedup

    rng = np.random.default_rng(0)
    per_shard = sentences // shards
    hash_files, keep_files = [], []
    for shard in range(shards):
        path = work / f"h{shard:05d}.npz"
        np.savez(
            path,
            hash=rng.integers(0, 2**63, per_shard, dtype=np.uint64),
            chars=rng.integers(5, 200, per_shard, dtype=np.int64),
            register=rng.integers(0, 2, per_shard, dtype=np.uint8),
            document=np.arange(per_shard, dtype=np.int64) // 10,
        )
        hash_files.append(path)
        keep_files.append(work / f"k{shard:05d}.npy")
    seconds = timed(
        lambda: dedup(
            hash_files, keep_files, work / "dedup-plan.json", deduplicate=True, buckets=DEDUP_BUCKETS, spoken_ratio=0.5
        )
    )
    return {"sentences": per_shard * shards, "seconds": seconds}


# -- vocabulary --------------------------------------------------------------------------


def measure_vocab(work: Path, shard: Path, repeats: int) -> dict:
    from krelectra.vocab.alphabet import guaranteed_alphabet
    from krelectra.vocab.segment import segment_shard
    from krelectra.vocab.tokenizer import write_tokenizer_dir
    from krelectra.vocab.wordpiece import train_wordpiece

    morphemes = work / "morphemes.txt"
    t_segment = timed(
        lambda: segment_shard(shard, morphemes, work / "heldout.txt", work / "segment.json", 0.001), repeats
    )
    # WordPiece on two input sizes (the segmented shard, and it four times) -> seconds per
    # MB (slope) and fixed cost (intercept).
    quadruple = work / "morphemes-x4.txt"
    quadruple.write_text(morphemes.read_text(encoding="utf-8") * 4, encoding="utf-8")
    alphabet = guaranteed_alphabet(["ks_x_1001_hangul", "compatibility_jamo", "ascii"])
    vocab = []
    sizes, times = [], []
    for path in (morphemes, quadruple):
        sizes.append(size_mb(path))
        times.append(timed(lambda p=path: vocab.append(train_wordpiece([p], VOCAB_SIZE, alphabet, 2)), repeats))
    write_tokenizer_dir(vocab[-1], work / "tokenizer")
    slope = max((times[1] - times[0]) / (sizes[1] - sizes[0]), 0.0)
    return {
        "segment_s": t_segment,
        "morphemes_mb": size_mb(morphemes),
        "wordpiece_sizes": sizes,
        "wordpiece_times": times,
        "wordpiece_slope": slope,
        "wordpiece_intercept": max(times[1] - slope * sizes[1], 0.0),
        "vocab_dir": work / "tokenizer",
        "learned_vocab": len(vocab[-1]),
    }


# -- pretraining -------------------------------------------------------------------------


def measure_examples(work: Path, shard: Path, vocab_dir: Path) -> dict:
    from krelectra.pretrain.examples import ExampleConfig, build_examples

    holder = {}

    def run():
        holder["stats"] = build_examples(
            shard,
            vocab_dir,
            work / "ex.tfrecord",
            work / "ex.eval.tfrecord",
            work / "ex.json",
            ExampleConfig(max_seq_length=SEQ, eval_fraction=0.001),
            seed=12345,
        )

    run()  # first call imports TensorFlow and loads the tokenizer: untimed
    seconds = timed(run)
    return {"seconds": seconds, **holder["stats"]}


def measure_pretrain_steps(batches: list[int], steps: int) -> dict:
    """Seconds per step of the base model (float32, no XLA: CPU) at each batch size."""
    import numpy as np
    import tensorflow as tf

    from krelectra.pretrain.config import PretrainConfig
    from krelectra.pretrain.model import ModelConfig
    from krelectra.pretrain.objective import Objective, default_max_predictions, mask_batch
    from krelectra.pretrain.train import Trainer

    model_config = ModelConfig.from_recipe(VOCAB_SIZE, EMBEDDING, HIDDEN, LAYERS, GEN_FRACTION)
    objective = Objective(MASK_PROB, default_max_predictions(MASK_PROB, SEQ), 1.0, 50.0, 1.0, 4, (2, 3, 4, 0))
    result = {}
    for batch in batches:
        config = PretrainConfig.from_dict(
            {
                "examples": {"max_seq_length": SEQ},
                "train": {"train_batch_size": batch, "num_train_steps": STEPS, "num_warmup_steps": 10},
                "model": {
                    "hidden_size": HIDDEN,
                    "embedding_size": EMBEDDING,
                    "num_hidden_layers": LAYERS,
                    "generator_hidden_size": GEN_FRACTION,
                },
            }
        )
        rng = np.random.default_rng(batch)
        ids = rng.integers(5, VOCAB_SIZE, size=(batch, SEQ)).astype(np.int64)
        ids[:, 0], ids[:, -1] = 2, 3  # [CLS] ... [SEP], full-length sequences
        features = {"input_ids": ids, "input_mask": np.ones_like(ids), "segment_ids": np.zeros_like(ids)}
        dataset = (
            tf.data.Dataset.from_tensors(features)
            .repeat()
            .enumerate()
            .map(lambda step, f: mask_batch(f, tf.stack([tf.constant(0, tf.int64), step]), objective))
        )
        trainer = Trainer(config, model_config, objective, tf.distribute.get_strategy())
        iterator = iter(dataset.prefetch(2))
        float(trainer.train_loop(iterator, tf.constant(1))["tokens"])  # tracing + first step: untimed
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            float(trainer.train_loop(iterator, tf.constant(1))["tokens"])
            times.append(time.perf_counter() - start)
        result[batch] = statistics.median(times)
        del trainer
    return result


def measure_finetune_steps(batches: list[int], steps: int) -> dict:
    """A base discriminator + classification head in PyTorch (the finetuning stage's model
    class) at sequence 128: seconds of forward + backward per example (at the first batch
    size) and of the optimizer update per step ("fixed")."""
    import torch
    from transformers import ElectraConfig, ElectraForSequenceClassification

    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count() or 1)
    model = ElectraForSequenceClassification(
        ElectraConfig(
            vocab_size=VOCAB_SIZE,
            embedding_size=EMBEDDING,
            hidden_size=HIDDEN,
            num_hidden_layers=LAYERS,
            num_attention_heads=HIDDEN // 64,
            intermediate_size=4 * HIDDEN,
            num_labels=2,
        )
    ).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5)
    batch = batches[0]
    ids = torch.randint(5, VOCAB_SIZE, (batch, SEQ))
    labels = torch.randint(0, 2, (batch,))

    def forward_backward():
        optimizer.zero_grad()
        model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels).loss.backward()

    forward_backward()
    optimizer.step()  # untimed first step (allocates the Adam state)
    return {
        "per_example": timed(forward_backward, steps) / batch,
        "fixed": timed(optimizer.step, steps),
        "batch": batch,
    }


def in_subprocess(name: str, batches: list[int], steps: int) -> dict:
    """Run a step measurement in a fresh process, so TensorFlow's and PyTorch's thread
    pools never share the cores."""
    out = subprocess.run(
        [
            *(sys.executable, __file__, "--child", name, "--batches", *map(str, batches), "--steps", str(steps)),
            *("--configfile", str(SCALE.configfile), "--corpus-gb", str(SCALE.corpus_gb)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT ") :])
            return {int(k): v for k, v in result.items()} if name == "pretrain" else result
    raise RuntimeError(f"{name} measurement failed:\n{out.stderr[-3000:]}")


# -- the model ---------------------------------------------------------------------------


def waves(jobs: int, slots: int) -> int:
    return math.ceil(jobs / max(1, slots))


def makespan(durations: list[float], machines: int) -> float:
    """Longest-job-first greedy assignment of independent jobs to machines."""
    loads = [0.0] * machines
    for d in sorted(durations, reverse=True):
        loads[loads.index(min(loads))] += d
    return max(loads)


def build_report(m: dict, nodes: int, cores: int) -> str:
    slots1, slotsN = cores, cores * nodes  # single-threaded per-shard jobs per node, as Snakemake runs them
    CORPUS_BYTES / MB / NUM_SHARDS
    rows = []

    def per_shard_row(stage, unit, rate_mb_s, work_mb_total, note=""):
        per_job = work_mb_total / NUM_SHARDS / rate_mb_s
        rows.append(
            (
                stage,
                unit,
                f"{rate_mb_s:.2f} MB/s",
                f"{work_mb_total / 1e3:,.0f} GB in {NUM_SHARDS} shards" + note,
                human(waves(NUM_SHARDS, slots1) * per_job),
                human(waves(NUM_SHARDS, slotsN) * per_job),
                "CPU stage",
            )
        )
        return waves(NUM_SHARDS, slots1) * per_job, waves(NUM_SHARDS, slotsN) * per_job

    c = m["corpus"]
    totals1, totalsN = {}, {}
    # 1. partition: one job per source.
    rate = c["raw_mb"] / c["partition_s"]
    per_source = CORPUS_BYTES / MB / NUM_SOURCES / rate
    t1, tN = waves(NUM_SOURCES, slots1) * per_source, waves(NUM_SOURCES, slotsN) * per_source
    rows.append(
        (
            "corpus partition",
            "raw MB read, hashed, written as JSON lines",
            f"{rate:.2f} MB/s",
            f"{CORPUS_SIZE} in {NUM_SOURCES} source jobs",
            human(t1),
            human(tN),
            "CPU stage",
        )
    )
    totals1["corpus"], totalsN["corpus"] = t1, tN
    a, b = per_shard_row(
        "corpus clean", "raw MB cleaned and split into sentences", c["raw_mb"] / c["clean_s"], CORPUS_BYTES / MB
    )
    totals1["corpus"] += a
    totalsN["corpus"] += b
    # dedup: one job over all sentence hashes.
    bytes_per_sentence = c["raw_mb"] * MB / c["sentences"]
    corpus_sentences = CORPUS_BYTES / bytes_per_sentence
    d = m["dedup"]
    t = d["seconds"] / d["sentences"] * corpus_sentences
    rows.append(
        (
            "corpus dedup",
            f"sentence hashes, {DEDUP_BUCKETS} buckets, 128 shards",
            f"{d['sentences'] / d['seconds'] / 1e6:.2f} M sentences/s",
            f"{corpus_sentences / 1e6:,.0f} M sentences (one job)",
            human(t),
            human(t),
            "CPU stage",
        )
    )
    totals1["corpus"] += t
    totalsN["corpus"] += t
    # The contamination scan and MinHash band hashes run inside the clean jobs; the
    # near-duplicate clusters inside the dedup job (documents: the sample's cleaned documents per MB).
    new1 = newN = 0.0
    for stage, unit, seconds in (
        (
            "corpus clean: evaluation n-gram scan",
            f"raw MB scanned against {EVALUATION_NGRAMS / 1e6:.0f} M n-grams",
            c["scan_s"],
        ),
        ("corpus clean: MinHash band hashes", "raw MB shingled and signed (112 hashes, 14 bands)", c["bands_s"]),
    ):
        a, b = per_shard_row(stage, unit, c["raw_mb"] / seconds, CORPUS_BYTES / MB, " (new)")
        new1, newN = new1 + a, newN + b
    nd = m["near_dup"]
    corpus_documents = c["documents"] / c["raw_mb"] * CORPUS_BYTES / MB
    t = nd["seconds"] / nd["documents"] * corpus_documents
    rows.append(
        (
            "corpus dedup: near-duplicate clusters",
            f"documents' band hashes, 14 bands, {NUM_SHARDS} shards",
            f"{nd['documents'] / nd['seconds'] / 1e6:.2f} M documents/s",
            f"{corpus_documents / 1e6:,.0f} M documents (one job, new)",
            human(t),
            human(t),
            "CPU stage",
        )
    )
    new1, newN = new1 + t, newN + t
    totals1["corpus"] += new1
    totalsN["corpus"] += newN
    a, b = per_shard_row(
        "corpus finalize",
        "raw MB of cleaned documents written as shard text",
        c["raw_mb"] / c["finalize_s"],
        CORPUS_BYTES / MB,
    )
    totals1["corpus"] += a
    totalsN["corpus"] += b

    v = m["vocab"]
    a, b = per_shard_row(
        "vocab segment (Mecab-Ko)",
        "shard MB segmented into morphemes",
        c["shard_mb"] / v["segment_s"],
        CORPUS_BYTES / MB,
    )
    totals1["vocab"], totalsN["vocab"] = a, b
    morph_ratio = v["morphemes_mb"] / c["shard_mb"]
    morph_total = CORPUS_BYTES / MB * morph_ratio
    t = v["wordpiece_intercept"] + v["wordpiece_slope"] * morph_total
    rows.append(
        (
            "vocab train (WordPiece)",
            "morpheme MB (slope of two sizes; one job, not per shard)",
            f"{1 / v['wordpiece_slope']:.2f} MB/s" if v["wordpiece_slope"] else "n/a",
            f"{morph_total / 1e3:,.0f} GB of morpheme text",
            human(t),
            human(t),
            "CPU stage",
        )
    )
    totals1["vocab"] += t
    totalsN["vocab"] += t

    e = m["examples"]
    a, b = per_shard_row(
        "pretrain examples",
        "shard MB tokenised and packed into TFRecords",
        c["shard_mb"] / e["seconds"],
        CORPUS_BYTES / MB,
    )
    totals1["examples"], totalsN["examples"] = a, b
    # Examples are packed within a document; our sample's spoken documents are single
    # comments, so count examples as full-length packs of the corpus's tokens instead.
    tokens_per_mb = e["text_tokens"] / c["shard_mb"]
    corpus_tokens = tokens_per_mb * CORPUS_BYTES / MB
    corpus_examples = corpus_tokens / (SEQ - 3)
    epochs = BATCH * STEPS / corpus_examples

    # Pretraining: seconds per example at the largest batch timed, fixed per-step costs
    # included (a slope between two noisy batch sizes on a shared machine is less stable).
    p = m["pretrain"]
    b2 = max(p)
    s2 = p[b2]
    per_example = s2 / b2
    step_256 = per_example * BATCH
    cpu_pretrain = step_256 * STEPS
    flops_step = pretrain_flops_per_token() * BATCH * SEQ
    flops_total = flops_step * STEPS
    cpu_flops = pretrain_flops_per_token() * b2 * SEQ / s2
    peak = ACCELERATORS[MAIN_ACCELERATOR]
    acc_lo, acc_hi = flops_total / (peak * MFU_RANGE[1]), flops_total / (peak * MFU_RANGE[0])
    rows.append(
        (
            "pretrain model",
            f"base step at seq {SEQ}, batch {b2} (float32, no XLA)",
            f"{per_example:.2f} s/example ({cpu_flops / 1e9:.0f} GFLOP/s)",
            f"{STEPS:,} steps x {BATCH} = {flops_total:.2e} FLOPs",
            human(cpu_pretrain),
            human(cpu_pretrain) + " (one job)",
            f"{human(acc_lo)}–{human(acc_hi)}",
        )
    )

    # Finetuning: the recipe's tasks x seeds, each job padded to its max length (an upper
    # bound); a job's FLOPs and its GPU time at the utilisations measured on one H200 come
    # from evaluate_cost.py (not the pretraining's assumed MFU range: finetuning steps are small).
    from evaluate_cost import MFU_SCORE, MFU_TRAIN, task_cost, task_seconds

    from krelectra.finetune.tasks import TASKS

    # Step time = fixed (the optimizer update) + per_example * batch at sequence 128; an
    # example of length s costs its FLOPs ratio to one of length 128.
    ft_per_example, ft_fixed = m["finetune"]["per_example"], m["finetune"]["fixed"]
    ft_cpu_flops = finetune_flops_per_token(SEQ) * SEQ / ft_per_example
    costs = {name: task_cost(name) for name in FINETUNE_EXAMPLES}
    job_flops, job_cpu = {}, {}
    for name, (train, _) in FINETUNE_EXAMPLES.items():
        h = TASKS[name].hyperparameters
        epochs_ft, batch = h["num_train_epochs"], h["train_batch_size"]
        job_flops[name] = costs[name]["flops"]
        job_cpu[name] = job_flops[name] / ft_cpu_flops + epochs_ft * math.ceil(train / batch) * ft_fixed
    all_jobs = [job_flops[name] for name in FINETUNE_EXAMPLES for _ in range(SEEDS[name])]
    ft_total = sum(all_jobs)
    ft_cpu1 = sum(SEEDS[name] * seconds for name, seconds in job_cpu.items())
    ft_cpuN = makespan([job_cpu[name] for name in FINETUNE_EXAMPLES for _ in range(SEEDS[name])], nodes)
    ft_acc = sum(SEEDS[name] * task_seconds(costs[name], peak) for name in FINETUNE_EXAMPLES)
    measured_mfu = f"measured MFU {min(MFU_TRAIN.values())}–{max(MFU_TRAIN.values())} training, {MFU_SCORE} scoring"
    rows.append(
        (
            f"finetune ({len(SEEDS)} tasks, {sum(SEEDS.values())} jobs)",
            f"base classifier forward+backward (batch {m['finetune']['batch']}) and update, seq {SEQ}",
            f"{ft_per_example:.2f} s/example ({ft_cpu_flops / 1e9:.0f} GFLOP/s)",
            f"{len(all_jobs)} jobs, {ft_total:.2e} FLOPs (padded)",
            human(ft_cpu1),
            human(ft_cpuN),
            f"{human(ft_acc)} ({measured_mfu})",
        )
    )

    cpu_prep1 = sum(totals1.values())
    cpu_prepN = sum(totalsN.values())
    new_share = (new1 / (cpu_prep1 - new1), newN / (cpu_prepN - newN))
    acc_all_lo = cpu_prepN + acc_lo + ft_acc
    acc_all_hi = cpu_prepN + acc_hi + ft_acc
    rows.append(
        (
            "**all stages**",
            "",
            "",
            "",
            human(cpu_prep1 + cpu_pretrain + ft_cpu1),
            human(cpu_prepN + cpu_pretrain + ft_cpuN),
            f"{human(acc_all_lo)}–{human(acc_all_hi)} (CPU stages on {nodes} nodes)",
        )
    )

    head = (
        f"| stage | unit measured | rate here | total work at {CORPUS_SIZE} | this machine "
        f"({cores} cores) | {nodes} nodes like it | {MAIN_ACCELERATOR} (pretraining at MFU "
        f"{MFU_RANGE[0]}–{MFU_RANGE[1]}) |"
    )
    lines = [head, "|" + "---|" * 7]
    lines += ["| " + " | ".join(row) + " |" for row in rows]

    lines += [
        "",
        f"Pretraining ({flops_step:.2e} FLOPs per step, {flops_total:.2e} in all) on one accelerator:",
        "",
        "| accelerator | peak bf16 (assumed) | MFU 0.4 | MFU 0.3 | at ELECTRA-Base's implied efficiency |",
        "|---|---|---|---|---|",
    ]
    eb = ELECTRA_BASE
    electra_rate = eb["flops"] / (eb["days"] * 86400)
    electra_mfu = electra_rate / (eb["chips"] * eb["chip_peak"])
    for name, peak_a in ACCELERATORS.items():
        lines.append(
            f"| {name} | {peak_a / 1e12:.0f} TFLOP/s | {human(flops_total / (peak_a * 0.4))} | "
            f"{human(flops_total / (peak_a * 0.3))} | {human(flops_total / (peak_a * electra_mfu))} "
            f"(MFU {electra_mfu:.2f}) |"
        )

    electra_ours_128 = pretrain_flops_per_token(128, 30522) * eb["steps"] * eb["batch"] * 128
    electra_ours_512 = pretrain_flops_per_token(512, 30522) * eb["steps"] * eb["batch"] * 512
    lines += [
        "",
        "Sanity checks:",
        f"- FLOP count: the same formula for ELECTRA-Base (766k steps x 256, English vocabulary 30,522) gives "
        f"{electra_ours_512:.2e} FLOPs at sequence 512 and {electra_ours_128:.2e} at 128; the ELECTRA paper "
        f"reports {eb['flops']:.1e} for it.",
        f"- ELECTRA-Base took {eb['days']:.0f} days on 16 TPUv3 chips: {electra_rate / 1e12:.0f} TFLOP/s achieved, "
        f"MFU {electra_mfu:.2f} if '16 TPUv3s' are chips ({2 * electra_mfu:.2f} if they are cores); our "
        f"recipe has {flops_total / eb['flops']:.2f} x its FLOPs.",
        f"- Data: {tokens_per_mb:,.0f} WordPiece tokens per MB of shard text here -> "
        f"{corpus_tokens / 1e9:.1f} G tokens at {CORPUS_SIZE}, {corpus_examples / 1e6:,.0f} M full-length examples; "
        f"{STEPS:,} x {BATCH} = {BATCH * STEPS / 1e6:.0f} M examples = {epochs:.1f} epochs.",
        f"- Contamination scan, MinHash and near-duplicate clusters (new in the corpus stage) add "
        f"{100 * new_share[0]:.0f}% to the CPU stages on this machine, {100 * new_share[1]:.0f}% on {nodes} nodes "
        f"(budget: 20%); the audit's reduce reads only the hits and is not counted.",
        f"- CPU: our TF step reaches {cpu_flops / 1e9:.0f} GFLOP/s here (batch {b2}); one batch-256 step "
        f"would take {human(step_256)}, so pretraining on CPUs is not an option.",
    ]
    return "\n".join(lines)


def measurements_text(m: dict) -> str:
    c, v, e = m["corpus"], m["vocab"], m["examples"]
    return "\n".join(
        [
            f"- corpus sample: {c['raw_mb']:.2f} MB raw ({c['sentences']:,} sentences) -> partition "
            f"{c['partition_s']:.2f} s, clean {c['clean_s']:.2f} s, finalize {c['finalize_s']:.2f} s; shard "
            f"{c['shard_mb']:.2f} MB",
            f"- dedup: {m['dedup']['sentences']:,} synthetic sentence hashes in 128 shards: "
            f"{m['dedup']['seconds']:.2f} s",
            f"- new corpus work on the sample: evaluation n-gram scan {c['scan_s']:.2f} s, MinHash band hashes "
            f"{c['bands_s']:.2f} s ({c['documents']:,} documents); near-duplicate clusters of "
            f"{m['near_dup']['documents']:,} documents in 128 shards: {m['near_dup']['seconds']:.2f} s",
            f"- segment: {c['shard_mb']:.2f} MB in {v['segment_s']:.2f} s -> {v['morphemes_mb']:.2f} MB of morphemes",
            f"- WordPiece (size {VOCAB_SIZE}): "
            + ", ".join(f"{s:.2f} MB in {t:.2f} s" for s, t in zip(v["wordpiece_sizes"], v["wordpiece_times"]))
            + f" ({v['learned_vocab']:,} entries learned from the sample)",
            f"- examples: {c['shard_mb']:.2f} MB in {e['seconds']:.2f} s -> {e['examples']:,} examples",
            "- pretrain step (base, seq 128, float32, CPU): "
            + ", ".join(f"batch {b}: {s:.2f} s" for b, s in sorted(m["pretrain"].items())),
            f"- finetune (base classifier, seq 128, PyTorch, batch {m['finetune']['batch']}): forward + backward "
            f"{m['finetune']['per_example']:.2f} s per example, AdamW update {m['finetune']['fixed']:.2f} s per step",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=16, help="cluster nodes like this machine")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1, help="cores per node")
    parser.add_argument("--sample-mb", type=float, default=3.0, help="raw text for the corpus measurements")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the cheap measurements (median)")
    parser.add_argument("--dedup-sentences", type=int, default=2_000_000)
    parser.add_argument("--batches", type=int, nargs="+", default=[8, 16], help="pretraining batch sizes timed")
    parser.add_argument("--steps", type=int, default=2, help="timed pretraining steps per batch size (median)")
    parser.add_argument("--finetune-steps", type=int, default=2, help="timed finetuning steps (median)")
    parser.add_argument("--finetune-batch", type=int, default=8, help="finetuning batch size timed")
    parser.add_argument("--output", type=Path, help="also write the Markdown here")
    parser.add_argument(
        "--configfile", type=Path, default=SCALE.configfile, help="the recipe (default config/paper.yaml)"
    )
    parser.add_argument("--corpus-gb", type=float, default=SCALE.corpus_gb, help="raw corpus size in GB (default 34)")
    parser.add_argument("--child", choices=["pretrain", "finetune"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measure = measure_pretrain_steps if args.child == "pretrain" else measure_finetune_steps
        print("RESULT " + json.dumps(measure(args.batches, args.steps)), flush=True)
        return

    start = time.perf_counter()
    m = {}
    with tempfile.TemporaryDirectory(prefix="krelectra-scale-") as tmp:
        work = Path(tmp)
        (work / "corpus").mkdir()
        (work / "dedup").mkdir()
        (work / "vocab").mkdir()
        (work / "examples").mkdir()
        print("measuring corpus ...", file=sys.stderr, flush=True)
        m["corpus"] = measure_corpus(work / "corpus", args.sample_mb, args.repeats)
        m["dedup"] = measure_dedup(work / "dedup", args.dedup_sentences)
        m["near_dup"] = measure_near_dup(work / "dedup", args.dedup_sentences // 10)
        print("measuring vocabulary ...", file=sys.stderr, flush=True)
        m["vocab"] = measure_vocab(work / "vocab", m["corpus"]["shard"], args.repeats)
        print("measuring pretraining examples ...", file=sys.stderr, flush=True)
        m["examples"] = measure_examples(work / "examples", m["corpus"]["shard"], m["vocab"]["vocab_dir"])
    print("measuring pretraining steps ...", file=sys.stderr, flush=True)
    m["pretrain"] = in_subprocess("pretrain", args.batches, args.steps)
    print("measuring finetuning steps ...", file=sys.stderr, flush=True)
    m["finetune"] = in_subprocess("finetune", [args.finetune_batch], args.finetune_steps)
    runtime = time.perf_counter() - start

    text = "\n".join(
        [
            build_report(m, args.nodes, args.cores),
            "",
            f"Measured on this machine ({args.cores} cores; `python benchmarks/scale_model.py "
            f"--nodes {args.nodes} --configfile {args.configfile} --corpus-gb {args.corpus_gb:g}`, {runtime:.0f} s):",
            "",
            measurements_text(m),
            "",
        ]
    )
    print(text)
    if args.output:
        args.output.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
