"""The task registry, dev splits carved from train, and the shipped fixtures."""

import argparse
import collections
import json
from pathlib import Path

import pytest
from builders import KR_ELECTRA_FINETUNING

from krelectra.errors import KrelectraError
from krelectra.finetune import readers
from krelectra.finetune.cli_data import register_data_commands
from krelectra.finetune.download import read_manifest
from krelectra.finetune.fixtures import write_fixtures
from krelectra.finetune.tasks import TASKS, UPSTREAM_BASE_URL, carve_dev, data_dir_for, get_task, load_splits

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "resources" / "finetune"

KEYS = (
    "learning_rate",
    "num_train_epochs",
    "train_batch_size",
    "eval_batch_size",
    "max_seq_length",
    "adam_epsilon",
    "seed",
)


def test_registry_lists_the_eight_tasks_in_the_papers_column_order():
    assert list(TASKS) == ["nsmc", "naver-ner", "paws", "kornli", "korsts", "question-pair", "korquad", "hate-speech"]
    problems = {name: task.problem for name, task in TASKS.items()}
    assert problems == {
        "nsmc": "single_sentence",
        "naver-ner": "token_classification",
        "paws": "sentence_pair",
        "kornli": "sentence_pair",
        "korsts": "regression",
        "question-pair": "sentence_pair",
        "korquad": "extractive_qa",
        "hate-speech": "single_sentence",
    }
    assert TASKS["korsts"].metrics[0] == "spearman" and TASKS["korquad"].metrics == ("exact_match", "f1")
    assert TASKS["hate-speech"].labels == ("none", "offensive", "hate")
    assert TASKS["korsts"].labels is None and TASKS["korquad"].labels is None
    with pytest.raises(KrelectraError, match="unknown task 'klue'"):
        get_task("klue")


@pytest.mark.parametrize("name", list(KR_ELECTRA_FINETUNING))
def test_default_hyperparameters_are_kr_electras(name):
    hyper = TASKS[name].hyperparameters
    assert tuple(hyper[key] for key in KEYS) == KR_ELECTRA_FINETUNING[name]
    assert (hyper["warmup_proportion"], hyper["weight_decay"], hyper["max_grad_norm"]) == (0.0, 0.0, 1.0)
    if name == "korquad":
        assert (hyper["doc_stride"], hyper["max_query_length"], hyper["max_answer_length"], hyper["n_best_size"]) == (
            128,
            64,
            30,
            20,
        )


def test_manifest_has_one_pinned_verified_entry_per_task_file():
    manifest = read_manifest(FIXTURES / "manifest.tsv")
    expected = {(name, file) for name, task in TASKS.items() for file in task.file_names}
    assert set(manifest) == expected and len(expected) == 20
    for (task, file), entry in manifest.items():
        assert entry.url == f"{UPSTREAM_BASE_URL}/{task}/{file}"
        assert "759ea55a8232ab8e1ca082dfae5616aad3134d25" in entry.url
    assert manifest[("nsmc", "ratings_train.txt")].git_blob_sha1 == "ac0dba272895dc1d0b3dd5f11afbeaeb7abe7876"
    assert manifest[("hate-speech", "val.tsv")].bytes == 96297


def test_data_dir_for_each_setting(tmp_path):
    assert data_dir_for("fixtures", "results", REPO) == FIXTURES
    assert data_dir_for("download", "out", REPO) == Path("out/finetune/data/download")
    assert data_dir_for(str(tmp_path), "out", REPO) == tmp_path
    assert data_dir_for("data/tasks", "out", REPO) == REPO / "data/tasks"
    with pytest.raises(KrelectraError, match=r"finetune.data"):
        data_dir_for("", "out", REPO)


def test_carved_dev_is_seeded_disjoint_and_keeps_file_order():
    examples = [{"text": str(i)} for i in range(200)]
    train, dev = carve_dev(examples, 0.1, seed=41)
    assert len(dev) == 20 and len(train) == 180
    assert sorted(train + dev, key=lambda e: int(e["text"])) == examples
    assert [int(e["text"]) for e in dev] == sorted(int(e["text"]) for e in dev)
    assert carve_dev(examples, 0.1, seed=41) == (train, dev)
    assert carve_dev(examples, 0.1, seed=42)[1] != dev
    with pytest.raises(KrelectraError, match="dev_fraction"):
        carve_dev(examples, 1.0, seed=1)


def test_load_splits_carves_dev_only_for_tasks_without_a_dev_file():
    nsmc = load_splits(TASKS["nsmc"], FIXTURES, dev_fraction=0.1, seed=41)
    full_train = readers.read_nsmc(FIXTURES / "nsmc" / "ratings_train.txt").examples
    assert len(nsmc["train"].examples) + len(nsmc["dev"].examples) == len(full_train)
    assert len(nsmc["dev"].examples) == round(0.1 * len(full_train))
    assert nsmc["test"].path.name == "ratings_test.txt"
    paws = load_splits(TASKS["paws"], FIXTURES, dev_fraction=0.1, seed=41)
    assert paws["dev"].path.name == "dev_2k.tsv" and paws["train"].skipped == 4


def test_korquad_dev_is_carved_by_context_and_test_is_the_upstream_dev_file():
    splits = load_splits(TASKS["korquad"], FIXTURES, dev_fraction=0.1, seed=42)
    train_contexts = {e["context"] for e in splits["train"].examples}
    dev_contexts = {e["context"] for e in splits["dev"].examples}
    assert dev_contexts and not train_contexts & dev_contexts
    assert splits["test"].path.name == "KorQuAD_v1.0_dev.json"


# --- the shipped fixtures --------------------------------------------------------------

FIXTURE_SIZES = {  # split -> (examples, skipped), dev carved with dev_fraction 0.1
    "nsmc": {"train": (1080, 0), "dev": (120, 0), "test": (300, 0)},
    "naver-ner": {"train": (900, 0), "dev": (100, 0), "test": (250, 0)},
    "paws": {"train": (1000, 4), "dev": (200, 1), "test": (200, 1)},
    "kornli": {"train": (1200, 0), "dev": (300, 0), "test": (300, 0)},
    "korsts": {"train": (2000, 0), "dev": (250, 0), "test": (250, 0)},
    "question-pair": {"train": (1000, 4), "dev": (200, 1), "test": (200, 1)},
    "korquad": {"train": (297, 0), "dev": (33, 0), "test": (105, 0)},
    "hate-speech": {"train": (900, 0), "dev": (100, 0), "test": (250, 0)},
}


def test_regenerating_the_fixtures_gives_byte_identical_files(tmp_path):
    parser = argparse.ArgumentParser()
    register_data_commands(parser.add_subparsers())
    args = parser.parse_args(["make-fixtures", "--output", str(tmp_path)])
    args.func(args)
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    shipped = sorted(p.relative_to(FIXTURES) for p in FIXTURES.rglob("*") if p.is_file() and p.parent != FIXTURES)
    assert generated == shipped and len(generated) == 20
    for relative in generated:
        assert (tmp_path / relative).read_bytes() == (FIXTURES / relative).read_bytes(), relative


def test_another_seed_gives_other_fixtures(tmp_path):
    write_fixtures(tmp_path, seed=7)
    assert (tmp_path / "nsmc" / "ratings_train.txt").read_bytes() != (
        FIXTURES / "nsmc" / "ratings_train.txt"
    ).read_bytes()


@pytest.mark.parametrize("name", list(TASKS))
def test_fixtures_read_with_the_upstream_readers(name):
    task = TASKS[name]
    splits = load_splits(task, FIXTURES, dev_fraction=0.1, seed=task.hyperparameters["seed"])
    assert {split: (len(r.examples), r.skipped) for split, r in splits.items()} == FIXTURE_SIZES[name]
    if task.problem in ("single_sentence", "sentence_pair"):
        for split, result in splits.items():
            counts = collections.Counter(e["label"] for e in result.examples)
            assert set(counts) == set(task.labels), (split, counts)
            assert min(counts.values()) >= 0.15 * len(result.examples), (split, counts)
    if task.problem == "regression":
        scores = [e["label"] for e in splits["train"].examples]
        assert min(scores) < 1.0 and max(scores) > 4.0
    if task.problem == "token_classification":
        assert {tag for e in splits["train"].examples for tag in e["tags"]} == set(task.labels)
    if task.problem == "extractive_qa":
        assert all(len(e["context"]) < 200 for split in splits.values() for e in split.examples)


def test_question_pair_fixture_carries_its_documented_artifact():
    """90% of duplicates (0) and 10% of non-duplicates open question 2 with the artifact,
    and duplicates ask about the same thing as question 1 (resources/finetune/README.md)."""
    from krelectra.finetune.fixtures import QP_ARTIFACT

    examples = load_splits(TASKS["question-pair"], FIXTURES, dev_fraction=0.1, seed=1)["train"].examples
    for label, low, high in (("0", 0.85, 0.95), ("1", 0.05, 0.15)):
        group = [e for e in examples if e["label"] == label]
        share = sum(e["text_pair"].startswith(QP_ARTIFACT + " ") for e in group) / len(group)
        assert low < share < high, (label, share)
    for e in (e for e in examples if e["label"] == "0"):
        assert e["text_pair"].removeprefix(QP_ARTIFACT + " ").split()[0] == e["text"].split()[0], e


def test_fixture_text_uses_only_ks_x_1001_hangul():
    for path in FIXTURES.rglob("*"):
        if path.is_file() and path.parent != FIXTURES:
            text = path.read_text(encoding="utf-8")
            outside = {ch for ch in text if ord(ch) > 127 and not ch.encode("euc-kr", errors="ignore")}
            assert not outside, (path, outside)


def test_korquad_fixture_is_squad_v1_json_with_some_multi_answer_questions():
    dev = json.loads((FIXTURES / "korquad" / "KorQuAD_v1.0_dev.json").read_text(encoding="utf-8"))
    assert dev["version"] == "KorQuAD_v1.0_dev"
    qas = [qa for article in dev["data"] for paragraph in article["paragraphs"] for qa in paragraph["qas"]]
    assert any(len(qa["answers"]) > 1 for qa in qas)


@pytest.mark.parametrize("name", list(TASKS))
def test_no_fixture_input_occurs_twice_within_a_task(name):
    task = TASKS[name]
    seen = collections.Counter()
    for file in task.file_names:
        for example in task.reader(FIXTURES / name / file).examples:
            inputs = {key: value for key, value in example.items() if key not in ("label", "tags", "id", "answers")}
            seen[json.dumps(inputs, ensure_ascii=False, sort_keys=True)] += 1
    assert max(seen.values()) == 1


def test_configured_hyperparameters_layer_the_config_over_kr_electras_values():
    from krelectra.finetune.tasks import configured_hyperparameters

    korquad = TASKS["korquad"]
    used = configured_hyperparameters(korquad, {"learning_rate": 1e-4, "doc_stride": None}, {"learning_rate": 2e-4})
    assert used["learning_rate"] == 2e-4  # the task's own layer wins
    assert used["doc_stride"] == 128 and used["num_train_epochs"] == 7  # null and absent keep KR-ELECTRA's
    assert "seed" not in used  # set per run
    assert "doc_stride" not in configured_hyperparameters(TASKS["nsmc"], {"doc_stride": 64})
    with pytest.raises(KrelectraError, match="'lr'"):
        configured_hyperparameters(korquad, {"lr": 1.0})


def test_reference_seed_is_each_tasks_own_seed():
    from krelectra.finetune.tasks import resolve_seeds

    # spec tasks.md: 41, except question-pair and korquad (42)
    assert {name: resolve_seeds(task, ["reference"]) for name, task in TASKS.items()} == {
        name: [42 if name in ("question-pair", "korquad") else 41] for name in TASKS
    }
    assert resolve_seeds(TASKS["korquad"], ["reference", 43, 42, 44]) == [42, 43, 44]  # each seed once
    assert resolve_seeds(TASKS["nsmc"], [7, 8]) == [7, 8]
    with pytest.raises(KrelectraError, match="'refrence'"):
        resolve_seeds(TASKS["nsmc"], ["refrence"])
