import json
import os
import re
import stat

import numpy as np
import pytest

from krelectra.corpus.documents import partition
from krelectra.corpus.pipeline import balance_fractions, clean_shard, dedup, finalize, summarize
from krelectra.corpus.reading import read_shard_documents
from krelectra.corpus.sources import resolve_sources
from krelectra.errors import KrelectraError


def run_corpus(tmp_path, sources, num_shards=3, spoken_ratio=None, buckets=4, options=None):
    """The corpus stage end to end, as the rules chain it (in the rules' folder names)."""
    partitions, partition_stats = {}, []
    for source in sources:
        outputs = [tmp_path / "partitions" / source.name / f"{i}.jsonl" for i in range(num_shards)]
        stats = tmp_path / "partitions" / f"{source.name}.json"
        partition(source.name, source.register, source.documents, list(source.files), outputs, stats)
        partitions[source.name] = outputs
        partition_stats.append(stats)
    hashes, keeps, cleaned = [], [], []
    for i in range(num_shards):
        paths = [partitions[s.name][i] for s in sources]
        c, h, s = (tmp_path / "cleaned" / f"{i}.{ext}" for ext in ("jsonl", "npz", "json"))
        clean_shard(paths, options or {}, c, h, s)
        hashes.append(h)
        cleaned.append((c, s))
        keeps.append(tmp_path / "dedup" / f"{i}.npy")
    plan = tmp_path / "dedup" / "plan.json"
    dedup(hashes, keeps, plan, deduplicate=True, buckets=buckets, spoken_ratio=spoken_ratio)
    shard_stats = []
    for i, (c, s) in enumerate(cleaned):
        finalize(c, keeps[i], plan, s, tmp_path / "shards" / f"{i}.txt", tmp_path / "shards" / f"{i}.json")
        shard_stats.append(tmp_path / "shards" / f"{i}.json")
    return summarize(shard_stats, partition_stats, plan, tmp_path / "stats.json")


def shard_sentences(tmp_path):
    return [s for p in sorted((tmp_path / "shards").glob("*.txt")) for d in read_shard_documents(p) for s in d]


def test_invalid_utf8_is_replaced_counted_and_removed(tmp_path):
    raw = tmp_path / "raw.txt"
    raw.write_bytes(
        "첫 번째 문장입니다.\n".encode() + b"\xff\xfe\xff bad bytes here\n" + "두 번째 문장입니다.\n".encode()
    )
    source = resolve_sources([{"name": "s", "paths": [str(raw)], "register": "written", "documents": "line"}])
    summary = run_corpus(tmp_path, source)
    assert summary["sources"]["s"]["invalid_utf8_sequences_replaced"] == 3
    assert "\ufffd" not in "".join(shard_sentences(tmp_path))
    assert "bad bytes here" in shard_sentences(tmp_path)


def test_duplicates_across_shards_are_removed_keeping_one(tmp_path):
    raw = tmp_path / "raw.txt"
    # Three documents (paragraphs) that share sentences; they land in different shards.
    raw.write_text(
        "공통 문장이 여기 있다. 첫 문서의 고유한 문장.\n\n"
        "둘째 문서의 고유한 문장. 공통 문장이 여기 있다.\n\n"
        "공통 문장이 여기 있다. 셋째 문서의 고유한 문장.\n",
        encoding="utf-8",
    )
    source = resolve_sources([{"name": "s", "paths": [str(raw)], "register": "written"}])
    summary = run_corpus(tmp_path, source, num_shards=3, buckets=2)
    kept = shard_sentences(tmp_path)
    assert kept.count("공통 문장이 여기 있다.") == 1
    assert len(kept) == 4
    assert summary["dropped_sentences"]["duplicate"] == 2


def test_dedup_result_does_not_depend_on_bucket_count(tmp_path):
    rng = np.random.default_rng(0)
    files, keeps = [], {}
    for shard in range(3):
        path = tmp_path / f"{shard}.npz"
        np.savez(
            path,
            hash=rng.integers(0, 50, 200).astype(np.uint64),
            chars=np.ones(200, dtype=np.int64),
            register=np.zeros(200, dtype=np.uint8),
            document=np.arange(200),
        )
        files.append(path)
    for buckets in (1, 7):
        outs = [tmp_path / f"keep{buckets}_{s}.npy" for s in range(3)]
        dedup(files, outs, tmp_path / "plan.json", deduplicate=True, buckets=buckets, spoken_ratio=None)
        keeps[buckets] = [np.load(o) for o in outs]
    for a, b in zip(keeps[1], keeps[7]):
        assert np.array_equal(a, b)
    assert sum(k.sum() for k in keeps[1]) == 50
    assert keeps[1][0][:50].sum() == len(set(np.load(files[0])["hash"][:50].tolist()))


def test_balance_downsamples_the_larger_register():
    assert balance_fractions({"written": 300, "spoken": 100}, 0.5) == {"written": pytest.approx(1 / 3), "spoken": 1.0}
    assert balance_fractions({"written": 100, "spoken": 300}, 0.5) == {"written": 1.0, "spoken": pytest.approx(1 / 3)}
    assert balance_fractions({"written": 100, "spoken": 300}, None) == {"written": 1.0, "spoken": 1.0}
    with pytest.raises(KrelectraError, match="no spoken text"):
        balance_fractions({"written": 100, "spoken": 0}, 0.5)


def test_balanced_corpus_reaches_the_target_ratio(tmp_path):
    written = tmp_path / "written.txt"
    spoken = tmp_path / "spoken.txt"
    written.write_text("".join(f"법률 제{i}조의 내용은 다음과 같이 정한다.\n" for i in range(400)), encoding="utf-8")
    spoken.write_text("".join(f"{i}번째 댓글인데 배송 진짜 빨랐어요\n" for i in range(100)), encoding="utf-8")
    sources = resolve_sources(
        [
            {"name": "w", "paths": [str(written)], "register": "written", "documents": "line"},
            {"name": "s", "paths": [str(spoken)], "register": "spoken", "documents": "line"},
        ]
    )
    summary = run_corpus(tmp_path, sources, spoken_ratio=0.5)
    assert summary["spoken_ratio_achieved"] == pytest.approx(0.5, abs=0.06)
    assert summary["registers"]["spoken"]["documents"] == 100
    assert summary["dropped_sentences"]["balance_written"] > 250


def test_shard_format_is_one_sentence_per_line_with_blank_line_between_documents(tmp_path):
    raw = tmp_path / "raw.txt"
    raw.write_text("첫 문서의 첫 문장이다. 첫 문서의 둘째 문장이다.\n\n둘째 문서의 문장이다.\n", encoding="utf-8")
    run_corpus(tmp_path, resolve_sources([{"name": "s", "paths": [str(raw)], "register": "written"}]), num_shards=1)
    text = (tmp_path / "shards" / "0.txt").read_text(encoding="utf-8")
    documents = [d.split("\n") for d in text.strip("\n").split("\n\n")]
    assert sorted(documents) == sorted(
        [["첫 문서의 첫 문장이다.", "첫 문서의 둘째 문장이다."], ["둘째 문서의 문장이다."]]
    )
    mode = stat.S_IMODE(os.stat(tmp_path / "shards" / "0.txt").st_mode)
    assert mode & 0o044, "outputs must be readable by others, like any file the user writes"


def test_empty_corpus_after_filtering_is_an_error_and_writes_no_keep_files(tmp_path):
    raw = tmp_path / "raw.txt"
    raw.write_text("짧다\n아니\n", encoding="utf-8")
    source = resolve_sources([{"name": "s", "paths": [str(raw)], "register": "written", "documents": "line"}])
    cleaned = re.escape(str(tmp_path / "cleaned"))
    cause = r"cleaning dropped every sentence of the 2 documents \(empty document 2, too short 2\)"
    with pytest.raises(
        KrelectraError, match=rf"empty after cleaning: {cause}; see the clean stats in {cleaned}/\*.json"
    ):
        run_corpus(tmp_path, source, num_shards=2)
    assert not list((tmp_path / "dedup").glob("*"))


@pytest.mark.parametrize("text", ["", "\n \n\t\n"])
def test_sources_without_text_are_named_as_the_cause_of_an_empty_corpus(tmp_path, text):
    raw = tmp_path / "raw.txt"
    raw.write_text(text, encoding="utf-8")
    source = resolve_sources([{"name": "s", "paths": [str(raw)], "register": "written"}])
    partitions = re.escape(str(tmp_path / "partitions"))
    with pytest.raises(
        KrelectraError, match=rf"the corpus is empty: the sources gave no text .* {partitions}/\*.json"
    ) as error:
        run_corpus(tmp_path, source, num_shards=2)
    assert "cleaning" not in str(error.value)


def test_missing_source_names_the_source_and_pattern(tmp_path):
    with pytest.raises(KrelectraError, match=r"corpus.sources\[0\] \('news'\): no file matches '.*nothing/\*.txt'"):
        resolve_sources([{"name": "news", "paths": [str(tmp_path / "nothing/*.txt")], "register": "written"}])


def test_konlpy_sources_are_found_in_the_installed_package():
    source = resolve_sources([{"name": "law", "paths": ["konlpy:kolaw/*.txt"], "register": "written"}])[0]
    assert [p.name for p in source.files] == ["constitution.txt"]
    assert "대한민국" in source.files[0].read_text(encoding="utf-8")


def test_partition_is_deterministic_and_complete(tmp_path):
    raw = tmp_path / "raw.txt"
    raw.write_text("".join(f"문서 {i}번의 문장입니다\n" for i in range(50)), encoding="utf-8")
    outs = []
    for run in range(2):
        paths = [tmp_path / f"r{run}" / f"{i}.jsonl" for i in range(4)]
        stats = partition("s", "written", "line", [raw], paths, tmp_path / f"r{run}.json")
        outs.append([p.read_bytes() for p in paths])
    assert outs[0] == outs[1]
    assert sum(stats["documents_per_shard"]) == 50
    records = [json.loads(line) for blob in outs[0] for line in blob.decode().splitlines()]
    assert {r["origin"].rsplit(":", 1)[1] for r in records} == {str(i) for i in range(1, 51)}
