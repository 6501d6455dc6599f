"""The eight finetuning tasks of KR-ELECTRA, one declarative entry each (spec: tasks.md).

Adding a task means adding one `Task` to `TASKS` (and a reader if its format is new).
Hyperparameters are the per-task table KR-ELECTRA used; the config may override them.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from krelectra.errors import KrelectraError
from krelectra.finetune import readers
from krelectra.finetune.readers import ReadResult

PROBLEMS = ("single_sentence", "sentence_pair", "regression", "token_classification", "extractive_qa")
SPLITS = ("train", "dev", "test")

# The data files of the KR-ELECTRA repository at this commit (identical blobs are in
# KoELECTRA's repository); `resources/finetune/manifest.tsv` lists each file's git blob SHA-1.
UPSTREAM_COMMIT = "759ea55a8232ab8e1ca082dfae5616aad3134d25"
UPSTREAM_BASE_URL = f"https://raw.githubusercontent.com/snunlp/KR-ELECTRA/{UPSTREAM_COMMIT}/finetune/data"

# Settings KR-ELECTRA used for every task: no warmup, no weight decay, gradient norm
# clipped at 1.0, linear decay (bias and LayerNorm weights excluded from weight decay).
COMMON_HYPERPARAMETERS = {"warmup_proportion": 0.0, "weight_decay": 0.0, "max_grad_norm": 1.0}

# Keys a config may set (finetune.hyperparameters, finetune.task_hyperparameters); the
# QA keys are ignored for the other tasks. The seed is set per run (finetune.seeds).
OVERRIDABLE = (
    "learning_rate",
    "num_train_epochs",
    "train_batch_size",
    "eval_batch_size",
    "max_seq_length",
    "adam_epsilon",
    "warmup_proportion",
    "weight_decay",
    "max_grad_norm",
    "save_steps",
    "doc_stride",
    "max_query_length",
    "max_answer_length",
    "n_best_size",
)

# In finetune.seeds: each task's own reference seed (the seed column of KR-ELECTRA's table).
REFERENCE_SEED = "reference"


def _hyperparameters(lr, epochs, train_batch, eval_batch, max_len, eps, seed, save_steps, **extra) -> dict:
    return {
        "learning_rate": lr,
        "num_train_epochs": epochs,
        "train_batch_size": train_batch,
        "eval_batch_size": eval_batch,
        "max_seq_length": max_len,
        "adam_epsilon": eps,
        "seed": seed,
        # dev and test are scored after every optimizer step that is a multiple of it
        # (save_points.py; KR-ELECTRA's save_steps, spec tasks.md "Which checkpoints")
        "save_steps": save_steps,
        **COMMON_HYPERPARAMETERS,
        **extra,
    }


@dataclass(frozen=True)
class Task:
    name: str
    problem: str
    files: dict[str, str | None]  # split -> upstream file name; None: carved from train
    reader: Callable[[Path], ReadResult]
    labels: tuple[str, ...] | None  # label strings in id order; None for regression and QA
    metrics: tuple[str, ...]  # the first one is the headline number
    hyperparameters: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.problem not in PROBLEMS:
            raise ValueError(f"task {self.name}: unknown problem type {self.problem!r}")
        if set(self.files) != set(SPLITS) or not self.files["train"] or not self.files["test"]:
            raise ValueError(f"task {self.name}: files must name train and test (dev may be None)")

    @property
    def file_names(self) -> list[str]:
        """The upstream files of this task, in split order."""
        return [name for name in (self.files[split] for split in SPLITS) if name]


_TASK_LIST = [
    Task(
        name="nsmc",
        problem="single_sentence",
        files={"train": "ratings_train.txt", "dev": None, "test": "ratings_test.txt"},
        reader=readers.read_nsmc,
        labels=readers.NSMC_LABELS,
        metrics=("accuracy",),
        hyperparameters=_hyperparameters(5e-5, 10, 32, 128, 128, 1e-6, 41, 2000),
    ),
    Task(
        name="naver-ner",
        problem="token_classification",
        files={"train": "train.tsv", "dev": None, "test": "test.tsv"},
        reader=readers.read_naver_ner,
        labels=readers.NER_LABELS,
        metrics=("f1",),
        hyperparameters=_hyperparameters(5e-5, 20, 32, 128, 128, 1e-6, 41, 1000),
    ),
    Task(
        name="paws",
        problem="sentence_pair",
        files={"train": "translated_train.tsv", "dev": "dev_2k.tsv", "test": "test_2k.tsv"},
        reader=readers.read_paws,
        labels=readers.PAWS_LABELS,
        metrics=("accuracy",),
        hyperparameters=_hyperparameters(3e-5, 15, 32, 64, 128, 1e-5, 41, 1000),
    ),
    Task(
        name="kornli",
        problem="sentence_pair",
        files={"train": "multinli.train.ko.tsv", "dev": "xnli.dev.ko.tsv", "test": "xnli.test.ko.tsv"},
        reader=readers.read_kornli,
        labels=readers.KORNLI_LABELS,
        metrics=("accuracy",),
        hyperparameters=_hyperparameters(3e-5, 15, 64, 256, 128, 1e-6, 41, 3000),
    ),
    Task(
        name="korsts",
        problem="regression",
        files={"train": "sts-train.tsv", "dev": "sts-dev.tsv", "test": "sts-test.tsv"},
        reader=readers.read_korsts,
        labels=None,
        metrics=("spearman", "pearson"),
        hyperparameters=_hyperparameters(5e-5, 10, 32, 64, 128, 1e-5, 41, 100),
    ),
    Task(
        name="question-pair",
        problem="sentence_pair",
        files={"train": "train.tsv", "dev": "dev.tsv", "test": "test.tsv"},
        reader=readers.read_question_pair,
        labels=readers.QUESTION_PAIR_LABELS,
        metrics=("accuracy",),
        hyperparameters=_hyperparameters(5e-5, 10, 32, 64, 128, 1e-5, 42, 100),
    ),
    Task(
        name="korquad",
        problem="extractive_qa",
        # The reported "(Dev)" number is on the upstream dev file, used here as test.
        files={"train": "KorQuAD_v1.0_train.json", "dev": None, "test": "KorQuAD_v1.0_dev.json"},
        reader=readers.read_korquad,
        labels=None,
        metrics=("exact_match", "f1"),
        hyperparameters=_hyperparameters(
            5e-5,
            7,
            8,
            32,
            512,
            1e-6,
            42,
            1000,
            doc_stride=128,
            max_query_length=64,
            max_answer_length=30,
            n_best_size=20,
        ),
    ),
    Task(
        name="hate-speech",
        problem="single_sentence",
        # The reported "(Dev)" number is on the upstream dev set, published as val.tsv.
        files={"train": "train.tsv", "dev": None, "test": "val.tsv"},
        reader=readers.read_hate_speech,
        labels=readers.HATE_SPEECH_LABELS,
        metrics=("macro_f1",),
        hyperparameters=_hyperparameters(5e-5, 10, 32, 64, 128, 1e-5, 41, 100),
    ),
]

# In the column order of the paper's table.
TASKS: dict[str, Task] = {task.name: task for task in _TASK_LIST}


def configured_hyperparameters(task: Task, *layers: dict | None) -> dict:
    """Every hyperparameter of a run of `task` except its seed: the task's reference
    values (KR-ELECTRA's table), then the non-null values of each layer in turn (the
    config's `finetune.hyperparameters`, then `finetune.task_hyperparameters.<task>`).
    Keys that do not apply to the task are ignored. Raises KrelectraError for a key
    that is not in OVERRIDABLE."""
    used = {key: value for key, value in task.hyperparameters.items() if key != "seed"}
    for layer in layers:
        for key, value in (layer or {}).items():
            if key not in OVERRIDABLE:
                raise KrelectraError(f"finetune hyperparameters: unknown key {key!r} (known: {', '.join(OVERRIDABLE)})")
            if value is not None and key in used:
                used[key] = value
    return used


def resolve_hyperparameters(task: Task, overrides: dict, seed: int) -> dict:
    """The hyperparameters of one run: `configured_hyperparameters(task, overrides)`
    and the run's `seed`."""
    return {**configured_hyperparameters(task, overrides), "seed": seed}


def resolve_seeds(task: Task, seeds) -> list[int]:
    """The training seeds of `task` for the config's `finetune.seeds`: integers as given
    and "reference" as the task's reference seed (41; 42 for question-pair and korquad),
    in order, each once. Raises KrelectraError for anything else."""
    resolved: list[int] = []
    for seed in seeds:
        if seed == REFERENCE_SEED:
            seed = task.hyperparameters["seed"]
        elif not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise KrelectraError(f"finetune.seeds: {seed!r} is neither a seed (an integer >= 0) nor {REFERENCE_SEED!r}")
        if seed not in resolved:
            resolved.append(seed)
    if not resolved:
        raise KrelectraError("finetune.seeds: no seed given")
    return resolved


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise KrelectraError(f"unknown task {name!r} (known: {', '.join(TASKS)})")
    return TASKS[name]


def data_dir_for(setting: str, results: str | os.PathLike, repo_root: str | os.PathLike) -> Path:
    """The folder holding `<task>/<file>` for the config value `finetune.data`:
    "fixtures" (the small datasets shipped in resources/finetune), "download" (the
    verified upstream files under RESULTS) or a folder laid out like upstream
    `finetune/data/` (relative paths are taken from `repo_root`)."""
    if setting == "fixtures":
        return Path(repo_root) / "resources" / "finetune"
    if setting == "download":
        return Path(results) / "finetune" / "data" / "download"
    if not setting:
        raise KrelectraError("finetune.data: expected 'fixtures', 'download' or a folder, got an empty string")
    path = Path(setting).expanduser()
    return path if path.is_absolute() else Path(repo_root) / path


def carve_dev(examples: list[dict], fraction: float, seed: int, group: Callable[[dict], str] | None = None):
    """Split `examples` into (train, dev) with a seeded shuffle of groups (one group per
    example unless `group` is given: QA questions are grouped by context so that no
    context is seen in both). Both keep the file order."""
    if not 0.0 < fraction < 1.0:
        raise KrelectraError(f"finetune.dev_fraction must be between 0 and 1 (exclusive), got {fraction}")
    keys = [group(example) if group else index for index, example in enumerate(examples)]
    unique = list(dict.fromkeys(keys))
    if len(unique) < 2:
        raise KrelectraError(f"cannot carve a dev split out of {len(unique)} training group(s)")
    random.Random(seed).shuffle(unique)
    n_dev = min(max(1, round(len(unique) * fraction)), len(unique) - 1)
    dev_keys = set(unique[:n_dev])
    train = [example for key, example in zip(keys, examples) if key not in dev_keys]
    dev = [example for key, example in zip(keys, examples) if key in dev_keys]
    return train, dev


def load_splits(task: Task, data_dir: str | os.PathLike, dev_fraction: float, seed: int) -> dict[str, ReadResult]:
    """train/dev/test of `task` from `data_dir/<task>/`. Tasks without a dev file (nsmc,
    naver-ner, hate-speech, korquad) get one carved from train with `seed`; the returned
    train excludes it. KorQuAD's test is the upstream dev file."""
    folder = Path(data_dir) / task.name
    splits = {split: task.reader(folder / name) for split, name in task.files.items() if name}
    if task.files["dev"] is None:
        train = splits["train"]
        group = (lambda example: example["context"]) if task.problem == "extractive_qa" else None
        try:
            kept, dev = carve_dev(train.examples, dev_fraction, seed, group)
        except KrelectraError as error:
            raise KrelectraError(f"{train.path}: {error}") from None
        splits["train"] = ReadResult(kept, train.skipped, train.path)
        splits["dev"] = ReadResult(dev, 0, train.path)
    return {split: splits[split] for split in SPLITS}
