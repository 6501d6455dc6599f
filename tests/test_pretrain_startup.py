"""Before pretraining's first step: the fingerprint hashes every example file once, and
the example counts come from the `pretrain examples` stats whose hashes match."""

from __future__ import annotations

import hashlib
import json

import pytest

from krelectra import fingerprint as fp
from krelectra.errors import KrelectraError
from krelectra.pretrain import train


def write_records(path, count: int) -> None:
    import tensorflow as tf

    with tf.io.TFRecordWriter(str(path)) as writer:
        for i in range(count):
            writer.write(f"record {i} of {path.name}".encode())


@pytest.fixture
def shards(tmp_path):
    """Two shards' training files (3 and 5 records) and held-out files (1 and 2 records),
    with stats as `pretrain examples` writes them."""
    train_files, eval_files = [], []
    for shard, (n_train, n_eval) in (("00000", (3, 1)), ("00001", (5, 2))):
        train_file, eval_file = tmp_path / f"{shard}.tfrecord", tmp_path / f"{shard}.eval.tfrecord"
        write_records(train_file, n_train)
        write_records(eval_file, n_eval)
        stats = {
            "train_examples": n_train,
            "eval_examples": n_eval,
            "train_sha256": hashlib.sha256(train_file.read_bytes()).hexdigest(),
            "eval_sha256": hashlib.sha256(eval_file.read_bytes()).hexdigest(),
        }
        (tmp_path / f"{shard}.json").write_text(json.dumps(stats))
        train_files.append(train_file)
        eval_files.append(eval_file)
    return train_files, eval_files


def counts(train_files, eval_files):
    return (
        train.count_examples(train_files, "train", fp.files_sha256(train_files)),
        train.count_examples(eval_files, "eval", fp.files_sha256(eval_files)),
    )


def test_counts_come_from_stats_whose_hash_matches_without_reading_the_records(shards, monkeypatch):
    def no_reading(paths):
        raise AssertionError(f"read {paths} to count them")

    monkeypatch.setattr(train, "count_records", no_reading)
    assert counts(*shards) == (8, 3)


def test_files_without_stats_or_with_older_stats_are_counted_by_reading(shards):
    train_files, eval_files = shards
    (train_files[0].parent / "00000.json").unlink()
    older = train_files[1].parent / "00001.json"  # stats from before they held hashes
    older.write_text(json.dumps({"train_examples": 99, "eval_examples": 99}))
    assert counts(train_files, eval_files) == (8, 3)


def test_stats_of_another_version_of_a_file_are_refused(shards):
    train_files, eval_files = shards
    write_records(train_files[1], 6)  # rewritten after its stats
    with pytest.raises(KrelectraError, match=r"00001\.json: train_sha256 is .*00001\.tfrecord now has SHA-256"):
        counts(train_files, eval_files)


def test_files_sha256_in_threads_equals_hashing_one_by_one(tmp_path):
    paths = []
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        for i in range(5):
            path = tmp_path / folder / f"{i}.bin"
            path.write_bytes(bytes([i]) * (300_000 * i + 7) + folder.encode())
            paths.append(path)
    paths.append(tmp_path / "a" / "only.bin")
    paths[-1].write_bytes(b"x")
    expected = {(p.name if p.name == "only.bin" else str(p)): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}
    assert fp.files_sha256(paths, workers=4) == expected
    assert list(fp.files_sha256(paths, workers=4)) == list(expected)  # in the order of `paths`
    assert fp.files_sha256(paths, workers=1) == expected
    with pytest.raises(KrelectraError, match=r"missing\.bin: cannot read it"):
        fp.files_sha256([*paths, tmp_path / "missing.bin"], workers=4)
