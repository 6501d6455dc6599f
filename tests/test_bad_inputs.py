"""The bad-input table: every kind of input a user hands us, and what it must give.

Each row feeds one bad input to the `krelectra` command (or stage function) that reads
it, as the workflow's rule would, and states either the one clear error, a regular
expression that must name the file and line, the config key or the variable, or the
documented tolerant behaviour. After every row the step's output folder holds no
partial output: nothing at all after an error, no temporary file after success.

Kinds: corpus source files, config values (the real schema and the impossible
combinations), the eight task formats, KorQuAD JSON, TF checkpoints, vocabulary
folders, downloads. README.md states how many rows there are (a test below checks it).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import http.server
import io
import json
import re
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from builders import CASED, TINY, recipe_variables, write_checkpoint, write_vocab_dir

from krelectra.cli import main
from krelectra.errors import KrelectraError

REPO = Path(__file__).resolve().parents[1]
KOREAN = "한국어 문장입니다. 둘째 문장도 있습니다.\n"


class Failed(Exception):
    """A step that stopped: its message (a command's stderr, or an error's text)."""


@dataclass
class Ctx:
    tmp: Path

    @property
    def inp(self) -> Path:
        return self.tmp / "in"

    @property
    def out(self) -> Path:
        return self.tmp / "out"

    def write(self, relative: str, data: bytes | str) -> Path:
        path = self.inp / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        return path


@dataclass
class Row:
    kind: str
    name: str
    run: Callable[[Ctx], object]
    error: str | None = None  # regular expression; {in} stands for the input folder
    check: Callable[[object, Ctx], None] | None = None  # the tolerant behaviour
    slow: bool = False

    @property
    def id(self) -> str:
        return f"{self.kind}: {self.name}"


def cli(*argv) -> None:
    """`krelectra ...` in this process; raises Failed with its stderr unless it succeeds."""
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exit:  # argparse
            code = exit.code
    if code:
        raise Failed(stderr.getvalue())


def files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


ROWS: list[Row] = []


def row(kind: str, name: str, error: str | None = None, check=None, slow: bool = False):
    def register(run):
        ROWS.append(Row(kind, name, run, error, check, slow))
        return run

    return register


# -- corpus source files -------------------------------------------------------------------


def corpus(ctx: Ctx, data: bytes | str | None, documents: str = "line") -> dict:
    """`krelectra corpus partition` then `clean`, as the rules chain them: the stats and
    the cleaned sentences."""
    source = ctx.write("source.txt", data) if data is not None else ctx.inp / "source.txt"
    parts = ctx.out / "partitions"
    cli(
        *("corpus", "partition", "--name", "s", "--register", "spoken", "--documents", documents),
        *("--num-shards", 2, "--output-dir", parts, "--stats", ctx.out / "partition.json", source),
    )
    cleaned = ctx.out / "cleaned.jsonl"
    cli(
        *("corpus", "clean", "--options", "{}", "--output", cleaned, "--hashes", ctx.out / "cleaned.npz"),
        *("--stats", ctx.out / "cleaned.json", *sorted(parts.glob("*.jsonl"))),
    )
    sentences = [s for line in cleaned.read_text("utf-8").splitlines() for s in json.loads(line)["sentences"]]
    return {
        "partition": json.loads((ctx.out / "partition.json").read_text("utf-8")),
        "clean": json.loads((ctx.out / "cleaned.json").read_text("utf-8")),
        "sentences": sentences,
    }


row("corpus source", "missing file", error=r"no file matches '{in}/source\.txt'")(lambda c: corpus(c, None))
row("corpus source", "a folder where a file is expected", error=r"no file matches '{in}/source\.txt'")(
    lambda c: (c.inp / "source.txt").mkdir(parents=True) or corpus(c, None)
)


def _empty(result, ctx):
    assert result["partition"]["documents"] == 0 and result["sentences"] == []


row("corpus source", "empty file", check=_empty)(lambda c: corpus(c, b""))
row("corpus source", "binary file", error=r"{in}/source\.txt:\d+: not UTF-8 text .*binary file")(
    lambda c: corpus(c, bytes(range(256)) * 40)
)
row("corpus source", "EUC-KR (CP949) text", error=r"{in}/source\.txt:1: not UTF-8 text .*iconv -f CP949")(
    lambda c: corpus(c, (KOREAN * 5).encode("euc-kr"))
)
row("corpus source", "UTF-16 text", error=r"{in}/source\.txt: UTF-16 text .*convert it to UTF-8")(
    lambda c: corpus(c, (KOREAN * 5).encode("utf-16"))
)
row("corpus source", "binary data of NUL bytes", error=r"{in}/source\.txt: binary data \(400 NUL bytes")(
    lambda c: corpus(c, "가나다".encode() + b"\0" * 400)
)


def _stray_bytes(result, ctx):
    assert result["partition"]["invalid_utf8_sequences_replaced"] == 3
    assert result["sentences"] == ["한국어 문장입니다.", "둘째 문장도 있습니다.", "bad bytes here"]


row("corpus source", "a few invalid UTF-8 bytes", check=_stray_bytes)(
    lambda c: corpus(c, KOREAN.encode() + b"\xff\xfe\xff bad bytes here\n")
)


def _bom(result, ctx):
    assert result["sentences"] == ["한국어 문장입니다.", "둘째 문장도 있습니다."]


row("corpus source", "UTF-8 byte order mark", check=_bom)(lambda c: corpus(c, "\ufeff" + KOREAN))
row("corpus source", "CRLF line ends", check=_bom)(lambda c: corpus(c, KOREAN.replace("\n", "\r\n")))
row("corpus source", "CR line ends", check=_bom)(lambda c: corpus(c, KOREAN.replace("\n", "\r")))


def _nul(result, ctx):
    assert result["sentences"] == ["한국어 문장입니다.", "둘째 문장도 있습니다."]
    assert result["clean"]["cleaning"]["control_characters_removed"] == 2


row("corpus source", "a few NUL bytes in text", check=_nul)(
    lambda c: corpus(c, KOREAN.replace("어", "어\0").replace("둘", "\0둘"))
)

# 2.4 MB, one line: without spaces (a pattern that rescans runs would take hours) ...
HUGE_WORD = "가나다라마바사아자차" * 80_000 + "\n"


def _huge_word(result, ctx):
    assert result["sentences"] == [] and result["clean"]["dropped"]["too_long"] == 1


row("corpus source", "multi-megabyte line without spaces", check=_huge_word)(lambda c: corpus(c, HUGE_WORD))


def _huge_line(result, ctx):
    assert len(result["sentences"]) == 40_000 and result["sentences"][0] == "가나다라 마바사 아자차카 타파하."


# ... and with spaces: 40,000 sentences of one document.
row("corpus source", "multi-megabyte line of sentences", check=_huge_line)(
    lambda c: corpus(c, "가나다라 마바사 아자차카 타파하. " * 40_000 + "\n", documents="paragraph")
)


def _examples_of_shard(ctx: Ctx):
    cli(
        *("pretrain", "examples", "--shard", ctx.write("shard.txt", KOREAN.encode() + "깨진 줄\n".encode("euc-kr"))),
        *(
            "--vocab-dir",
            vocab_folder(ctx),
            "--train-out",
            ctx.out / "t.tfrecord",
            "--eval-out",
            ctx.out / "e.tfrecord",
        ),
        *("--stats", ctx.out / "s.json", "--config", '{"examples": {"max_seq_length": 64}}'),
    )


row("corpus source", "a shard given by hand that is not UTF-8", error=r"{in}/shard\.txt:2: not UTF-8 text")(
    _examples_of_shard
)


# -- config values -------------------------------------------------------------------------


def validated(mutate: Callable[[dict], None]) -> dict:
    """The embedded default config, changed, through the workflow's schema validation (with
    the one-line message the Snakefile makes of it) and its check of combinations (what the
    Snakefile and corpus.smk run when parsing)."""
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    from krelectra.config_checks import combination_errors
    from krelectra.config_errors import schema_error_line

    config = yaml.safe_load((REPO / "config/config.yaml").read_text("utf-8"))
    mutate(config)
    schema = str(REPO / "workflow/schemas/config.schema.yaml")
    try:
        validate(config, schema)
    except WorkflowError as error:
        line = schema_error_line(error, (), schema)
        assert "\n" not in line, line  # one line, not jsonschema's dump of the schema
        raise Failed(line) from None
    if errors := combination_errors(config):
        raise Failed("; ".join(errors))
    return config


def setting(*path_and_value):
    *path, key, value = path_and_value

    def mutate(config):
        for part in path:
            config = config[part]
        config[key] = value

    return lambda c: validated(mutate)


for name, args, error in [
    ("wrong type", ("vocab", "size", "big"), r"^config vocab\.size: 'big' is not of type 'integer' \(documented in "),
    (
        "wrong type, nested",
        ("pretrain", "train", "learning_rate", "fast"),
        r"^config pretrain\.train\.learning_rate: 'fast' is not of type 'number' .*pretrain\.schema\.yaml\)$",
    ),
    ("unknown key", ("vocab", "lowercase", True), r"^config vocab\.lowercase: unknown key; vocab takes size, "),
    (
        "misspelt key",
        ("pretrain", "model", "hiden_size", 128),
        r"^config pretrain\.model\.hiden_size: unknown key \(did you mean pretrain\.model\.hidden_size\?\)",
    ),
    (
        "unknown section",
        ("vocabulary", {}),
        r"^config vocabulary: unknown key \(did you mean vocab\?\); the config takes",
    ),
    ("unknown alphabet", ("vocab", "alphabet", ["hangul"]), r"^config vocab\.alphabet\[0\]: 'hangul' is not one of "),
    ("unknown task", ("finetune", "tasks", ["nsmc", "squad"]), r"^config finetune\.tasks\[1\]: 'squad' is not one of"),
    ("out of range", ("corpus", "num_shards", 0), r"^config corpus\.num_shards: 0 is less than the minimum of 1"),
    (
        "no GPU slot",
        ("finetune", "jobs_per_gpu", 0),
        r"^config finetune\.jobs_per_gpu: 0 is less than the minimum of 1",
    ),
    ("NFC switched off", ("corpus", "cleaning", "nfc", False), r"^config corpus\.cleaning\.nfc: True was expected"),
    (
        "decontaminate not a boolean",
        ("corpus", "decontaminate", "yes"),
        r"^config corpus\.decontaminate: 'yes' is not of type 'boolean'",
    ),
    (
        "contamination n-gram too short",
        ("corpus", "contamination", "ngram", 5),
        r"^config corpus\.contamination\.ngram: 5 is less than the minimum of 8",
    ),
    (
        "near-dedup bands of the wrong type",
        ("corpus", "near_dedup", "bands", "14"),
        r"^config corpus\.near_dedup\.bands: '14' is not of type 'integer'",
    ),
    (
        "near-dedup unknown key",
        ("corpus", "near_dedup", "threshold", 0.8),
        r"^config corpus\.near_dedup\.threshold: unknown key",
    ),
    ("unknown precision", ("finetune", "precision", "fp16"), r"^config finetune\.precision: 'fp16' is not one of "),
    (
        "unknown train sampling",
        ("finetune", "train_sampling", "sorted"),
        r"^config finetune\.train_sampling: 'sorted' is not one of ",
    ),
    (
        "torch_compile not a boolean",
        ("finetune", "torch_compile", "yes"),
        r"^config finetune\.torch_compile: 'yes' is not of type 'boolean'",
    ),
    (
        "negative dataloader workers",
        ("finetune", "dataloader_workers", -1),
        r"^config finetune\.dataloader_workers: -1 is less than the minimum of 0",
    ),
    (
        "save_steps zero",
        ("finetune", "task_hyperparameters", "korsts", {"save_steps": 0}),
        r"^config finetune\.task_hyperparameters\.korsts\.save_steps: 0 is less than the minimum of 1",
    ),
    (
        "min longer than max sentence",
        ("corpus", "cleaning", "min_sentence_chars", 2000),
        r"corpus\.cleaning\.min_sentence_chars \(2000\) is larger than max_sentence_chars \(1000\)",
    ),
    (
        "alphabet larger than vocab.size",
        ("vocab", "alphabet", ["hangul_syllables", "ascii"]),
        r"vocab\.size is 6500, but the special tokens and the alphabet .* take 22537 entries",
    ),
]:
    row("config", name, error=error)(setting(*args))


def _spoken_without_source(config):
    config["corpus"]["sources"] = [s for s in config["corpus"]["sources"] if s["register"] == "written"]


def _public_source(name: str, download: dict | None = None):
    def mutate(config):
        config["corpus"]["sources"].append({"name": "public", "public": [name], "register": "written"})
        if download is not None:
            config["corpus"]["download"] = download

    return lambda c: validated(mutate)


row(
    "config",
    "Wikimedia dump date not YYYYMMDD",
    error=r"config corpus\.download\.wikimedia_dump: '2026-11-01' does not match",
)(_public_source("kowiki", {"wikimedia_dump": "2026-11-01"}))
row(
    "config",
    "Wikimedia data set without a dump date",
    error=r"corpus\.sources\[\d\] \('public'\): public data set 'kowiki' is a Wikimedia dump, but "
    r"corpus\.download\.wikimedia_dump",
)(_public_source("kowiki"))
row(
    "config",
    "Wikimedia mirror that is not a URL",
    error=r"config corpus\.download\.wikimedia_base_url: 'dumps\.example\.org' does not match",
)(_public_source("kowiki", {"wikimedia_dump": "20261101", "wikimedia_base_url": "dumps.example.org"}))
row(
    "config",
    "download timeout of zero",
    error=r"config corpus\.download\.timeout: 0 is less than or equal to the minimum of 0",
)(_public_source("kowiki", {"wikimedia_dump": "20261101", "timeout": 0}))
row("config", "unknown public data set", error=r"unknown public data set 'namuwiki' \(known: korean-hate-speech")(
    _public_source("namuwiki", {"wikimedia_dump": "20261101"})
)


row("config", "spoken_ratio without a spoken source", error=r"corpus\.spoken_ratio is 0\.3, but no source .* spoken")(
    lambda c: validated(_spoken_without_source)
)


def _dry_run(ctx: Ctx):
    from workflow_helpers import copy_workflow, snakemake

    work = copy_workflow(ctx.tmp / "work")
    config = yaml.safe_load((work / "config" / "config.yaml").read_text())  # a named config is the whole config
    config["vocab"].update(size=6500, alphabet=["hangul_syllables", "ascii"])
    (work / "bad.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    result = snakemake(work, "-n", "--configfile", "bad.yaml", check=False)
    if (work / "results").exists():  # the workflow's outputs, for the check of partial output
        shutil.copytree(work / "results", ctx.out)
    if result.returncode:
        raise Failed(result.stdout + result.stderr)


row(
    "config",
    "impossible combination through Snakemake itself",
    error=r"vocab\.size is 6500, but the special tokens .* take 22537 entries",
    slow=True,
)(_dry_run)


def _misspelt_key_dry_run(ctx: Ctx):
    from workflow_helpers import copy_workflow, snakemake

    work = copy_workflow(ctx.tmp / "work")
    config = yaml.safe_load((work / "config" / "config.yaml").read_text())
    config["vocab"]["siez"] = config["vocab"].pop("size")
    (work / "bad.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    result = snakemake(work, "-n", "--configfile", "bad.yaml", check=False)
    # Issue 22: the line naming the key, without jsonschema's dump of the schema and the value.
    assert "Failed validating" not in result.stderr and "On instance" not in result.stderr, result.stderr
    assert len(result.stderr.splitlines()) < 10, result.stderr
    if result.returncode:
        raise Failed(result.stdout + result.stderr)


row(
    "config",
    "misspelt key through Snakemake itself",
    error=r"config vocab\.siez: unknown key \(did you mean vocab\.size\?\); vocab takes size, .*vocab\.schema\.yaml",
    slow=True,
)(_misspelt_key_dry_run)
row("config", "cleaning option of the wrong type (stage CLI)", error=r"corpus\.cleaning\.max_char_repeat: '2' is not")(
    lambda c: cli(
        "corpus", "clean", "--options", '{"max_char_repeat": "2"}', "--output", c.out / "x.jsonl",
        "--hashes", c.out / "x.npz", "--stats", c.out / "x.json", c.write("part.jsonl", ""),
    )
)  # fmt: skip
row("config", "cleaning options not JSON (stage CLI)", error=r"argument --options: not valid JSON")(
    lambda c: cli(
        "corpus", "clean", "--options", "{nfc: true", "--output", c.out / "x.jsonl",
        "--hashes", c.out / "x.npz", "--stats", c.out / "x.json", c.write("part.jsonl", ""),
    )
)  # fmt: skip
row("config", "near-dedup bands of zero (stage CLI)", error=r"corpus\.near_dedup\.bands: 0 is not a positive integer")(
    lambda c: cli(
        "corpus", "clean", "--options", "{}", "--output", c.out / "x.jsonl", "--hashes", c.out / "x.npz",
        "--stats", c.out / "x.json", "--near-dup", '{"bands": 0}', "--bands", c.out / "x.bands.npy",
        c.write("part.jsonl", ""),
    )
)  # fmt: skip
row("config", "vocab.size below the alphabet (stage CLI)", error=r"vocab\.size is 6500, but .* take 22639 entries")(
    lambda c: cli(
        "vocab", "train", "--size", 6500, "--alphabet", "hangul_syllables", "compatibility_jamo", "ascii",
        "--output-dir", c.out / "tokenizer", c.write("morphemes.txt", "국민 ##의\n"),
    )
)  # fmt: skip
row(
    "config",
    "pretraining: more predictions than positions (stage CLI)",
    error=r"pretrain\.train\.max_predictions_per_seq=100: must be in \[1, max_seq_length=64\]",
)(
    lambda c: cli(
        "pretrain", "examples", "--shard", c.write("shard.txt", KOREAN), "--vocab-dir", vocab_folder(c),
        "--train-out", c.out / "t.tfrecord", "--eval-out", c.out / "e.tfrecord", "--stats", c.out / "s.json",
        "--config", json.dumps({"examples": {"max_seq_length": 64}, "train": {"max_predictions_per_seq": 100}}),
    )
)  # fmt: skip
row("config", "pretraining: unknown key (stage CLI)", error=r"config pretrain\.examples: unknown key\(s\) max_seq_len")(
    lambda c: cli(
        "pretrain", "examples", "--shard", c.write("shard.txt", KOREAN), "--vocab-dir", vocab_folder(c),
        "--train-out", c.out / "t.tfrecord", "--eval-out", c.out / "e.tfrecord", "--stats", c.out / "s.json",
        "--config", json.dumps({"examples": {"max_seq_len": 64}}),
    )
)  # fmt: skip
row("config", "finetuning: unknown hyperparameter (stage CLI)", error=r"unknown key 'learning_rat'")(
    lambda c: cli(
        "finetune", "train", "--task", "nsmc", "--seed", 41, "--model", c.inp / "no-model",
        "--data", REPO / "resources/finetune", "--hyperparameters", '{"learning_rat": 0.1}',
        "--output-dir", c.out / "run",
    )
)  # fmt: skip
# A hub id in no cache while HF_HUB_OFFLINE=1 (conftest): the id and how to fetch it (issue 12).
row(
    "config", "finetuning: hub id not in the cache, offline",
    error=r"model 'krelectra-tests/not-cached' is not a local folder and not in the Hugging Face cache.*"
    r"HF_HUB_OFFLINE=1.*`hf download krelectra-tests/not-cached`"
    r".*`huggingface-cli download krelectra-tests/not-cached`",
)(
    lambda c: cli(
        "finetune", "train", "--task", "korsts", "--seed", 41, "--model", "krelectra-tests/not-cached",
        "--data", REPO / "resources/finetune", "--output-dir", c.out / "run",
    )
)  # fmt: skip


# -- the eight task formats and KorQuAD JSON -------------------------------------------------

# (task, train file, header, a good record, the label column) in the upstream formats (tasks.md)
FORMATS = {
    "nsmc": ("ratings_train.txt", "id\tdocument\tlabel", "1\t정말 재미있는 영화\t1", 2),
    "paws": ("translated_train.tsv", "id\tsentence1\tsentence2\tlabel", "1\t첫 문장\t둘째 문장\t0", 3),
    "kornli": ("multinli.train.ko.tsv", "sentence1\tsentence2\tgold_label", "첫 문장\t둘째 문장\tneutral", 2),
    "korsts": (
        "sts-train.tsv",
        "genre\tfilename\tyear\tid\tscore\tsentence1\tsentence2",
        "main\tnews\t2020\t1\t3.5\t첫 문장\t둘째 문장",
        4,
    ),
    "question-pair": ("train.tsv", "question1\tquestion2\tis_duplicate", "첫 질문\t둘째 질문\t0", 2),
    "hate-speech": ("train.tsv", "title\tcomment\tbias\thate", "제목\t댓글입니다\tnone\thate", 3),
    "naver-ner": ("train.tsv", None, "비토리오 양일 만에\tPER-B DAT-B O", 1),
}


def finetune(ctx: Ctx, task: str, content: bytes | str) -> None:
    """`krelectra finetune train` on a data folder whose training file is `content`: the
    data is read before the model is loaded, so a data error comes first."""
    ctx.write(f"data/{task}/{FORMATS[task][0] if task in FORMATS else 'KorQuAD_v1.0_train.json'}", content)
    cli(
        *("finetune", "train", "--task", task, "--seed", 41, "--model", ctx.inp / "no-model"),
        *("--data", ctx.inp / "data", "--output-dir", ctx.out / "run"),
    )


def _with_label(record: str, column: int, value: str) -> str:
    fields = record.split("\t")
    fields[column] = value
    return "\t".join(fields)


def training_file(task: str, content: bytes | str):
    return lambda ctx: finetune(ctx, task, content)


for task, (file, header, record, label_column) in FORMATS.items():
    lines = [header] if header else []
    first = 2 if header else 1
    where = rf"{{in}}/data/{re.escape(task)}/{re.escape(file)}"
    columns = len(record.split("\t"))
    kind = f"task {task}"
    row(
        kind, "wrong column count", error=rf"{where}:{first}: record has {columns + 1} tab-separated columns, expected"
    )(training_file(task, "\n".join([*lines, record + "\textra"]) + "\n"))
    if task == "korsts":
        for bad, message in (("high", "is not a number"), ("7.5", "is outside 0-5")):
            row(kind, f"score {bad}", error=rf"{where}:{first}: score '{bad}' {message}")(
                training_file(task, "\n".join([*lines, _with_label(record, 4, bad)]) + "\n")
            )
    elif task == "naver-ner":
        row(kind, "unknown label", error=rf"{where}:1: unknown label 'XYZ-B'")(
            training_file(task, "비토리오 양일 만에\tPER-B XYZ-B O\n")
        )
    else:
        row(kind, "unknown label", error=rf"{where}:{first}: unknown label 'maybe'")(
            training_file(task, "\n".join([*lines, _with_label(record, label_column, "maybe")]) + "\n")
        )
    empty = rf"{where}: empty file \(expected a header line\)" if header else rf"{where}: no records \(empty file\)"
    row(kind, "empty file", error=empty)(training_file(task, ""))
    if header:
        row(kind, "header only", error=rf"{where}: no records after the header")(training_file(task, header + "\n"))
        row(kind, "header with a missing column", error=rf"{where}:1: header has {columns - 1} tab-separated")(
            training_file(task, header.rsplit("\t", 1)[0] + "\n" + record + "\n")
        )
    row(kind, "not UTF-8", error=rf"{where}:{first}: not UTF-8 text")(
        training_file(task, ("\n".join([*lines, record]) + "\n").encode("euc-kr"))
    )
row("task naver-ner", "word/tag count mismatch", error=r"{in}/data/naver-ner/train\.tsv:1: 3 words but 2 tags")(
    lambda c: finetune(c, "naver-ner", "비토리오 양일 만에\tPER-B DAT-B\n")
)


def read(task: str, ctx: Ctx, content: str):
    from krelectra.finetune.tasks import TASKS

    return TASKS[task].reader(ctx.write(f"{task}.txt", content))


def _ner_bom(result, ctx):
    assert result.examples == [{"words": ["비토리오", "양일", "만에"], "tags": ["PER-B", "DAT-B", "O"]}]


row("task naver-ner", "UTF-8 byte order mark", check=_ner_bom)(
    lambda c: read("naver-ner", c, "\ufeff비토리오 양일 만에\tPER-B DAT-B O\n")
)


def _nsmc_crlf(result, ctx):
    assert result.examples == [{"text": "정말 재미있는 영화", "label": "1"}, {"text": "별로", "label": "0"}]


row("task nsmc", "CRLF line ends and blank lines", check=_nsmc_crlf)(
    lambda c: read("nsmc", c, "id\tdocument\tlabel\r\n1\t정말 재미있는 영화\t1\r\n\r\n2\t별로\t0\r\n")
)


def _stray_cr(result, ctx):
    # a record ends at LF only: a CR inside a field stays there (the tokenizer reads it as a space)
    assert result.examples == [{"text": "정말\r재미있는 영화", "label": "1"}]


row("task nsmc", "a stray CR inside a field", check=_stray_cr)(
    lambda c: read("nsmc", c, "id\tdocument\tlabel\n1\t정말\r재미있는 영화\t1\n")
)


def _paws_empty(result, ctx):
    assert result.skipped == 1 and [e["text"] for e in result.examples] == ["첫 문장"]


row("task paws", "empty sentence (skipped and counted, as the reference)", check=_paws_empty)(
    lambda c: read("paws", c, "id\tsentence1\tsentence2\tlabel\n1\t첫 문장\t둘째\t0\n2\t \t둘째\t1\n")
)

KORQUAD = {
    "version": "KorQuAD_v1.0_train",
    "data": [
        {
            "title": "t",
            "paragraphs": [
                {
                    "context": "1995년 서울에서 만났다.",
                    "qas": [{"id": "q1", "question": "어디서", "answers": [{"text": "서울", "answer_start": 6}]}],
                }
            ],
        }
    ],
}


def korquad(change: Callable[[dict], object] | None = None, raw: bytes | str | None = None):
    def run(ctx):
        document = copy.deepcopy(KORQUAD)
        if change:
            change(document)
        finetune(ctx, "korquad", raw if raw is not None else json.dumps(document, ensure_ascii=False))

    return run


KQ = r"{in}/data/korquad/KorQuAD_v1\.0_train\.json"
PARAGRAPH = lambda d: d["data"][0]["paragraphs"][0]
for name, run, error in [
    ("not JSON", korquad(raw='{"data": ['), rf"{KQ}: not valid JSON: .*line 1 column 11"),
    ("empty file", korquad(raw=""), rf"{KQ}: not valid JSON"),
    ("not UTF-8", korquad(raw=json.dumps(KORQUAD, ensure_ascii=False).encode("euc-kr")), rf"{KQ}:1: not UTF-8"),
    ("a list, not an object", korquad(raw="[]"), rf"{KQ}: missing 'data'"),
    ("no data", korquad(lambda d: d.pop("data")), rf"{KQ}: missing 'data'"),
    ("no questions", korquad(lambda d: d.update(data=[])), rf"{KQ}: no questions"),
    ("missing context", korquad(lambda d: PARAGRAPH(d).pop("context")), rf"{KQ}: data\[0\]\.paragraphs\[0\]: missing"),
    ("missing qas", korquad(lambda d: PARAGRAPH(d).pop("qas")), rf"{KQ}: data\[0\]\.paragraphs\[0\]: missing 'qas'"),
    ("missing id", korquad(lambda d: PARAGRAPH(d)["qas"][0].pop("id")), r"paragraphs\[0\]\.qas\[0\]: missing 'id'"),
    ("id not a string", korquad(lambda d: PARAGRAPH(d)["qas"][0].update(id=7)), r"'id' should be a str, not int"),
    (
        "missing answer text",
        korquad(lambda d: PARAGRAPH(d)["qas"][0]["answers"][0].pop("text")),
        rf"{KQ}: question q1: missing 'text'",
    ),
    ("no answers", korquad(lambda d: PARAGRAPH(d)["qas"][0].update(answers=[])), rf"{KQ}: question q1: no answers"),
    (
        "duplicate question ids",
        korquad(lambda d: PARAGRAPH(d)["qas"].append(copy.deepcopy(PARAGRAPH(d)["qas"][0]))),
        rf"{KQ}: question q1: duplicate question id",
    ),
]:
    row("KorQuAD JSON", name, error=error)(run)


def _korquad_bom(result, ctx):
    assert [e["id"] for e in result.examples] == ["q1"]


row("KorQuAD JSON", "UTF-8 byte order mark", check=_korquad_bom)(
    lambda c: read("korquad", c, "\ufeff" + json.dumps(KORQUAD, ensure_ascii=False))
)


# -- TF checkpoints --------------------------------------------------------------------------


def checkpoint_case(change: Callable[[dict], None] | None = None, damage: Callable[[Path], None] | None = None):
    """`krelectra convert` of a checkpoint with the recipe's variable names (tiny sizes),
    changed or damaged."""

    def run(ctx):
        shapes = recipe_variables(TINY)
        if change:
            change(shapes)
        prefix = ctx.inp / "ckpt" / "model.ckpt"
        prefix.parent.mkdir(parents=True)
        write_checkpoint(prefix, shapes)
        if damage:
            damage(prefix)
        (ctx.inp / "model_config.json").write_text(json.dumps(TINY))
        write_vocab_dir(ctx.inp / "vocab", CASED)
        cli(
            *("convert", "--checkpoint", prefix, "--model-config", ctx.inp / "model_config.json"),
            *("--vocab-dir", ctx.inp / "vocab", "--output-dir", ctx.out),
        )

    return run


def _truncate(suffix: str):
    def damage(prefix: Path):
        path = Path(f"{prefix}{suffix}")
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    return damage


CKPT = r"{in}/ckpt/model\.ckpt"
LAYER = "electra/encoder/layer_1/output/dense/kernel"
for name, case, error in [
    (
        "no checkpoint",
        checkpoint_case(damage=lambda p: Path(f"{p}.index").unlink()),
        rf"{CKPT}: no TF1 checkpoint with this prefix",
    ),
    ("missing variable", checkpoint_case(lambda s: s.pop(LAYER)), rf"{LAYER}"),
    (
        "extra variable",
        checkpoint_case(lambda s: s.update({"electra/encoder/layer_9/output/dense/kernel": (32, 16)})),
        r"electra/encoder/layer_9/output/dense/kernel",
    ),
    (
        "mis-shaped variable",
        checkpoint_case(lambda s: s.update({LAYER: (16, 16)})),
        rf"{LAYER}: checkpoint shape \[16, 16\]",
    ),
    (
        "truncated data file",
        checkpoint_case(damage=_truncate(".data-00000-of-00001")),
        rf"{CKPT}\.data-00000-of-00001: cannot read variable .* \(truncated or corrupt file",
    ),
    (
        "corrupt index file",
        checkpoint_case(damage=_truncate(".index")),
        rf"{CKPT}\.index: not a readable TF checkpoint index",
    ),
]:
    row("TF checkpoint", name, error=error)(case)


# -- vocabulary folders ----------------------------------------------------------------------


def vocab_folder(ctx: Ctx, change: Callable[[Path], None] | None = None) -> Path:
    from krelectra.vocab.alphabet import DEFAULT_ALPHABET, guaranteed_alphabet
    from krelectra.vocab.tokenizer import SPECIAL_TOKENS, write_tokenizer_dir

    alphabet = guaranteed_alphabet(DEFAULT_ALPHABET)
    folder = ctx.inp / "vocab"
    write_tokenizer_dir(SPECIAL_TOKENS + alphabet + [f"##{c}" for c in alphabet] + ["문장", "##입니다"], folder)
    if change:
        change(folder)
    return folder


def examples_with(change: Callable[[Path], None]):
    """`krelectra pretrain examples`, which loads the vocabulary folder as every stage does."""

    def run(ctx):
        folder = vocab_folder(ctx, change)
        cli(
            *("pretrain", "examples", "--shard", ctx.write("shard.txt", KOREAN), "--vocab-dir", folder),
            *("--train-out", ctx.out / "t.tfrecord", "--eval-out", ctx.out / "e.tfrecord"),
            *("--stats", ctx.out / "s.json", "--config", '{"examples": {"max_seq_length": 64}}'),
        )

    return run


def _edit_json(name: str, edit: Callable[[dict], None]):
    def change(folder: Path):
        data = json.loads((folder / name).read_text("utf-8"))
        edit(data)
        (folder / name).write_text(json.dumps(data), encoding="utf-8")

    return change


def _lowercasing_normalizer(data):
    data["normalizer"]["normalizers"][1]["lowercase"] = True


def _swap_vocab_lines(folder: Path):
    lines = (folder / "vocab.txt").read_text("utf-8").splitlines()
    lines[7], lines[8] = lines[8], lines[7]
    (folder / "vocab.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


VOCAB_DIR = r"{in}/vocab"
for name, change, error in [
    ("missing vocab.txt", lambda f: (f / "vocab.txt").unlink(), rf"{VOCAB_DIR}/vocab\.txt: missing"),
    ("missing tokenizer.json", lambda f: (f / "tokenizer.json").unlink(), rf"{VOCAB_DIR}/tokenizer\.json: missing"),
    (
        "missing tokenizer_config.json",
        lambda f: (f / "tokenizer_config.json").unlink(),
        rf"{VOCAB_DIR}/tokenizer_config\.json: missing; without it AutoTokenizer returns no token_type_ids",
    ),
    (
        "lower-casing tokenizer_config.json",
        _edit_json("tokenizer_config.json", lambda d: d.update(do_lower_case=True)),
        rf"{VOCAB_DIR}/tokenizer_config\.json: do_lower_case must be false .*'do_lower_case': True",
    ),
    (
        "tokenizer_config.json without do_lower_case",
        _edit_json("tokenizer_config.json", lambda d: d.pop("do_lower_case")),
        rf"{VOCAB_DIR}/tokenizer_config\.json: do_lower_case must be false",
    ),
    (
        "accent-stripping tokenizer_config.json",
        _edit_json("tokenizer_config.json", lambda d: d.update(strip_accents=True)),
        rf"{VOCAB_DIR}/tokenizer_config\.json: do_lower_case must be false and strip_accents false",
    ),
    (
        "lower-casing tokenizer.json",
        _edit_json("tokenizer.json", _lowercasing_normalizer),
        rf"{VOCAB_DIR}: the tokenizer lower-cases or strips accents \('ELECTRA 한국어 Émile' -> 'electra",
    ),
    (
        "tokenizer.json without NFC",
        _edit_json("tokenizer.json", lambda d: d["normalizer"]["normalizers"].pop(0)),
        rf"{VOCAB_DIR}/tokenizer\.json: the normalizer does not start with NFC",
    ),
    (
        "tokenizer.json of another vocabulary (stale)",
        _swap_vocab_lines,
        rf"{VOCAB_DIR}: tokenizer\.json and vocab\.txt disagree \(line 8",
    ),
    (
        "tokenizer.json not JSON",
        lambda f: (f / "tokenizer.json").write_text("{"),
        rf"{VOCAB_DIR}/tokenizer.json: cannot load",
    ),
]:
    row("vocabulary folder", name, error=error)(examples_with(change))


def _bare_vocab(result, ctx):
    from krelectra.vocab.tokenizer import load_tokenizer

    folder = ctx.out / "discriminator"
    assert {p.name for p in folder.iterdir()} >= {"vocab.txt", "tokenizer.json", "tokenizer_config.json"}
    assert load_tokenizer(folder).tokenize("한국어 나는 ELECTRA") == ["한국", "##어", "나", "##는", "ELECTRA"]


def _convert_bare(ctx):
    from krelectra.convert.export import convert

    prefix = ctx.inp / "ckpt" / "model.ckpt"
    prefix.parent.mkdir(parents=True)
    write_checkpoint(prefix, recipe_variables(TINY))
    (ctx.inp / "model_config.json").write_text(json.dumps(TINY))
    convert(prefix, ctx.inp / "model_config.json", write_vocab_dir(ctx.inp / "vocab"), ctx.out, verify=False)


row(
    "vocabulary folder",
    "only vocab.txt (google-research layout): the converter writes the project's tokenizer",
    check=_bare_vocab,
)(_convert_bare)


def _convert_without_mask(ctx):
    prefix = ctx.inp / "ckpt" / "model.ckpt"
    prefix.parent.mkdir(parents=True)
    write_checkpoint(prefix, recipe_variables(TINY))
    (ctx.inp / "model_config.json").write_text(json.dumps(TINY))
    write_vocab_dir(ctx.inp / "vocab", vocab=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "가"])
    cli(
        *("convert", "--checkpoint", prefix, "--model-config", ctx.inp / "model_config.json"),
        *("--vocab-dir", ctx.inp / "vocab", "--output-dir", ctx.out),
    )


row(
    "vocabulary folder",
    "vocab.txt without [MASK] (converter)",
    error=r"{in}/vocab/vocab\.txt: special token \[MASK\] is not in the vocabulary",
)(_convert_without_mask)


# -- downloads ---------------------------------------------------------------------------------

PAYLOAD = ("id\tdocument\tlabel\n" + "".join(f"{i}\t영화 {i}\t1\n" for i in range(200))).encode("utf-8")


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = {"/nsmc/good.txt": PAYLOAD, "/nsmc/corrupt.txt": PAYLOAD.replace(b"1\n", b"0\n", 1)}.get(self.path)
        if self.path == "/nsmc/truncated.txt":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD[: len(PAYLOAD) // 3])
            self.close_connection = True
            return
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@functools.cache
def _server() -> str:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def download(name: str, stale: bool = False):
    """`krelectra finetune download` of nsmc/<name> from a local server, verified against
    a manifest that gives the good file's git blob SHA-1."""

    def run(ctx):
        sha1 = hashlib.sha1(b"blob %d\0" % len(PAYLOAD) + PAYLOAD).hexdigest()
        manifest = ctx.write(
            "manifest.tsv",
            f"task\tfile\turl\tgit_blob_sha1\tbytes\tsha256\nnsmc\t{name}\t{_server()}/nsmc/{name}\t{sha1}\t\t\n",
        )
        output = ctx.out / "nsmc" / name
        if stale:
            output.parent.mkdir(parents=True)
            output.write_bytes(b"a copy from an earlier run")
        cli(
            *("finetune", "download", "--task", "nsmc", "--file", name, "--manifest", manifest),
            *("--base-url", _server(), "--output", output, "--timeout", 10),
        )
        return output

    return run


def _good_download(result, ctx):
    assert result.read_bytes() == PAYLOAD and files(ctx.out) == [result]


row("download", "good file (the control)", check=_good_download)(download("good.txt"))
row("download", "corrupt file", error=r"nsmc/corrupt\.txt \(from http://.*\): git blob SHA-1 mismatch")(
    download("corrupt.txt")
)
row("download", "truncated transfer", error=rf"nsmc/truncated\.txt .*received {len(PAYLOAD) // 3} of {len(PAYLOAD)}")(
    download("truncated.txt")
)
row("download", "corrupt file over a stale copy", error=r"nsmc/corrupt\.txt .*git blob SHA-1 mismatch")(
    download("corrupt.txt", stale=True)
)
row("download", "missing on the server", error=r"nsmc/gone\.txt .*HTTP 404")(download("gone.txt"))


# -- the table ---------------------------------------------------------------------------------


@pytest.mark.parametrize("row", [pytest.param(r, id=r.id, marks=[pytest.mark.slow] if r.slow else []) for r in ROWS])
def test_bad_input(row: Row, tmp_path):
    ctx = Ctx(tmp_path)
    if row.error is not None:
        with pytest.raises((KrelectraError, Failed)) as raised:
            row.run(ctx)
        message = str(raised.value)
        assert re.search(row.error.replace("{in}", re.escape(str(ctx.inp))), message, re.DOTALL), message
        assert "Traceback" not in message, message
        assert files(ctx.out) == [], f"partial output left behind: {files(ctx.out)}"
    else:
        result = row.run(ctx)
        assert row.check is not None
        row.check(result, ctx)
        hidden = [p for p in files(ctx.out) if p.name.startswith(".") or p.name.endswith(".tmp")]
        assert hidden == [], f"temporary files left behind: {hidden}"


def test_rows_are_unique_and_the_readme_counts_them():
    ids = [r.id for r in ROWS]
    assert len(ids) == len(set(ids))
    readme = (REPO / "README.md").read_text("utf-8")
    stated = re.search(r"tries (\d+) bad inputs", readme)
    assert stated and int(stated.group(1)) == len(ROWS), (stated and stated.group(0), len(ROWS))
    kinds = {r.kind.split(" ")[0] for r in ROWS}
    assert {"corpus", "config", "task", "KorQuAD", "TF", "vocabulary", "download"} <= kinds
    assert {r.kind for r in ROWS if r.kind.startswith("task ")} == {f"task {t}" for t in FORMATS}
