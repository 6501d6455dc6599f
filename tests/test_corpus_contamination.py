"""Contamination audit, decontamination and near-duplicate removal on planted cases: the
corpus stage's functions chained as the rules chain them (clean -> dedup -> finalize ->
summarize, and the audit over the clean step's hits)."""

import json

import numpy as np
import pytest

from krelectra.corpus.contamination import EvaluationIndex, audit, build_index, simplify, text_ngrams, window_hashes
from krelectra.corpus.near_dup import NearDupOptions, band_hashes
from krelectra.corpus.pipeline import (
    DocumentDecisions,
    DocumentOutputs,
    clean_shard,
    dedup,
    finalize,
    summarize,
)
from krelectra.corpus.reading import read_shard_documents
from krelectra.errors import KrelectraError

NGRAM = 13

VERBATIM = "이 영화는 배우들의 연기가 정말 훌륭하고 마지막 장면이 오래 기억에 남는다"
RESPACED_TEST = "주인공이 친구를 찾아 바닷가 마을로 떠나는 이야기가 잔잔하게 펼쳐진다."
RESPACED_IN_CORPUS = "주인공이친구를 찾아바닷가 마을로떠나는 이야기가, 잔잔하게 펼쳐진다!!"
COMMON_WORDS_TEST = "오늘 저녁에는 시장에서 산 사과로 파이를 구워 가족과 함께 먹었다"
COMMON_WORDS_IN_CORPUS = "오늘 저녁에는 친구와 함께 공원을 오래 걸었다."
SHORT_TEST = "굿"
CONTEXT = (
    "한주원은 1940년 광주에서 태어났다. 한빛대학교에서 심리학을 공부했고, 이후 교사로 일했다. "
    "그가 쓴 첫 소설은 바닷가 마을의 겨울을 그렸다."
)
QUESTIONS = [("한주원이 공부한 학교는 어디인가?", "한빛대학교", 22), ("한주원이 태어난 도시는?", "광주", 11)]


def words(start, count):
    return " ".join(f"낱말{i}번" for i in range(start, start + count))


def write_tasks(root):
    (root / "nsmc").mkdir(parents=True)
    rows = [VERBATIM, RESPACED_TEST, COMMON_WORDS_TEST, SHORT_TEST]
    (root / "nsmc" / "ratings_test.txt").write_text(
        "id\tdocument\tlabel\n" + "".join(f"{i}\t{t}\t1\n" for i, t in enumerate(rows)), encoding="utf-8"
    )
    # The training file is not evaluation text: a training sentence in the corpus is no hit.
    (root / "nsmc" / "ratings_train.txt").write_text(
        "id\tdocument\tlabel\n1\t" + COMMON_WORDS_IN_CORPUS + "\t0\n", encoding="utf-8"
    )
    (root / "korquad").mkdir()
    qas = [
        {"id": f"q{i}", "question": q, "answers": [{"text": a, "answer_start": s}]}
        for i, (q, a, s) in enumerate(QUESTIONS)
    ]
    data = {"version": "test", "data": [{"paragraphs": [{"context": CONTEXT, "qas": qas}]}]}
    (root / "korquad" / "KorQuAD_v1.0_dev.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


NEAR = words(0, 60)
NEAR_COPY = words(0, 59) + " 다른낱말"  # 55 of 57 word 5-grams shared: Jaccard 0.96
FAR = words(100, 40)
FAR_COPY = words(100, 12) + " " + words(200, 28)  # 8 of 64 shared: Jaccard 0.125

DOCUMENTS = [
    ("written", "머리말이다. " + VERBATIM + ". 끝맺음 문장이다."),  # 0: contaminated (nsmc)
    ("spoken", RESPACED_IN_CORPUS),  # 1: contaminated (nsmc)
    ("spoken", COMMON_WORDS_IN_CORPUS),  # 2: clean
    ("written", CONTEXT),  # 3: contaminated (korquad context)
    ("written", NEAR),  # 4: kept, first of its cluster
    ("written", NEAR_COPY),  # 5: near-duplicate of 4
    ("written", FAR),  # 6: kept
    ("written", FAR_COPY),  # 7: kept (below the threshold)
]


def run(tmp_path, decontaminate=True, near_dedup=True):
    write_tasks(tmp_path / "data")
    index, examples = tmp_path / "index.npz", tmp_path / "examples.json"
    build_index(tmp_path / "data", ["nsmc", "korquad"], NGRAM, index, examples)
    partition = tmp_path / "part.jsonl"
    partition.write_text(
        "".join(
            json.dumps({"register": r, "origin": f"planted:{i}", "text": t}, ensure_ascii=False) + "\n"
            for i, (r, t) in enumerate(DOCUMENTS)
        ),
        encoding="utf-8",
    )
    c, h, s, hits, bands = (tmp_path / f"clean.{ext}" for ext in ("jsonl", "npz", "json", "hits.npz", "bands.u64"))
    outputs = DocumentOutputs(EvaluationIndex.load(index, examples), hits, NearDupOptions(), bands)
    clean_shard([partition], {}, c, h, s, outputs)
    keep, codes, plan = tmp_path / "keep.npy", tmp_path / "codes.npy", tmp_path / "plan.json"
    decisions = DocumentDecisions(
        [codes], [hits], index, decontaminate=decontaminate, bands=[bands] if near_dedup else None
    )
    dedup([h], [keep], plan, deduplicate=True, buckets=2, spoken_ratio=None, decisions=decisions)
    finalize(c, keep, plan, s, tmp_path / "shard.txt", tmp_path / "shard.json", codes)
    part_stats = tmp_path / "part.stats.json"
    part_stats.write_text(
        json.dumps(
            {
                "source": "planted",
                "register": "written",
                "bytes": 1,
                "documents": 8,
                "invalid_utf8_sequences_replaced": 0,
            }
        )
    )
    stats = summarize([tmp_path / "shard.json"], [part_stats], plan, tmp_path / "stats.json")
    report = audit(index, examples, [hits], tmp_path / "audit.json")
    rows = {(r["task"], r["split"], r["part"]): r for r in report["splits"]}
    return stats, rows, list(read_shard_documents(tmp_path / "shard.txt"))


def test_planted_evaluation_text_is_found_and_counted(tmp_path):
    _, rows, _ = run(tmp_path)
    nsmc = rows[("nsmc", "test", "text")]
    # verbatim and re-spaced/re-punctuated found; common words only and the 1-character review not
    assert (nsmc["examples"], nsmc["too_short"], nsmc["contaminated"]) == (4, 1, 2)
    assert nsmc["contaminated_indices"] == [0, 1]
    assert (nsmc["dirty"], nsmc["clean"]) == (2, 1)  # the too-short review is in neither bucket
    assert nsmc["contaminated_share"] == pytest.approx(2 / 3)
    # the KorQuAD paragraph is context overlap, not question/answer overlap
    qa = rows[("korquad", "test", "question+answers")]
    contexts = rows[("korquad", "test", "contexts")]
    assert (qa["examples"], qa["contaminated"]) == (2, 0)
    assert (contexts["examples"], contexts["contaminated"], contexts["dirty"]) == (1, 1, 1)
    assert contexts["contaminated_indices"] == [0, 1]  # the questions on that context


def test_decontamination_and_near_dedup_drop_exactly_the_planted_documents(tmp_path):
    stats, _, documents = run(tmp_path)
    assert stats["decontamination"]["documents_removed"] == 3
    assert stats["decontamination"]["documents_removed_per_task"] == {"nsmc": 2, "korquad": 1}
    assert stats["near_dedup"] == {"documents_compared": 5, "clusters": 1, "documents_removed": 1}
    kept = [" ".join(d) for d in documents]
    assert kept == [COMMON_WORDS_IN_CORPUS, NEAR, FAR, FAR_COPY]
    assert stats["dropped_sentences"]["contaminated"] == 3 + 1 + 3  # sentences of documents 0, 1 and 3
    assert stats["dropped_sentences"]["near_duplicate"] == 1


def test_without_decontamination_the_corpus_keeps_the_evaluation_text(tmp_path):
    stats, rows, documents = run(tmp_path, decontaminate=False, near_dedup=False)
    assert "decontamination" not in stats and "near_dedup" not in stats
    assert len(documents) == len(DOCUMENTS)
    assert rows[("nsmc", "test", "text")]["contaminated"] == 2  # the audit measures either way


def test_simplify_removes_spacing_and_punctuation_but_whitespace_words_differ():
    assert simplify(RESPACED_IN_CORPUS) == simplify(RESPACED_TEST)
    assert RESPACED_IN_CORPUS.split() != RESPACED_TEST.split()
    assert simplify("ㅋㅋㅋㅋㅋ 재밌다!!!") == "ㅋㅋ재밌다"


def test_window_hashes_match_per_window_and_stay_empty_below_n():
    codes = np.array([3, 1, 4, 1, 5], dtype=np.uint64)
    hashes = window_hashes(codes, 2)
    assert len(hashes) == 4 and hashes[1] == hashes[1] and hashes[0] != hashes[1]
    assert window_hashes(codes[:1], 2).size == 0
    assert text_ngrams("가나다가나", 2)[0] == text_ngrams("가나다가나", 2)[3]


def test_near_dup_options_are_checked():
    assert NearDupOptions().threshold == pytest.approx((1 / 14) ** (1 / 8))
    with pytest.raises(KrelectraError, match=r"corpus\.near_dedup\.bands"):
        NearDupOptions.from_dict({"bands": 0})
    with pytest.raises(KrelectraError, match="unknown option"):
        NearDupOptions.from_dict({"band": 3})
    assert band_hashes([["가 나 다"]], NearDupOptions()).shape == (1, 14)


def test_codes_from_another_run_are_refused(tmp_path):
    run(tmp_path)
    np.save(tmp_path / "codes.npy", np.zeros(2, dtype=np.uint8))
    with pytest.raises(KrelectraError, match="out of date"):
        finalize(
            tmp_path / "clean.jsonl",
            tmp_path / "keep.npy",
            tmp_path / "plan.json",
            tmp_path / "clean.json",
            tmp_path / "again.txt",
            tmp_path / "again.json",
            tmp_path / "codes.npy",
        )


def test_near_duplicates_with_an_empty_shard_and_out_of_date_band_files(tmp_path):
    from krelectra.corpus.near_dup import near_duplicates

    options = NearDupOptions()
    full, empty = tmp_path / "a.u64", tmp_path / "b.u64"
    band_hashes([[NEAR], [NEAR_COPY], [FAR]], options).astype("<u8").tofile(full)
    empty.write_bytes(b"")
    duplicate, clusters = near_duplicates([full, empty], [np.ones(3, dtype=bool), np.zeros(0, dtype=bool)])
    assert duplicate[0].tolist() == [False, True, False] and duplicate[1].size == 0 and clusters == 1
    with pytest.raises(KrelectraError, match="out of date"):
        near_duplicates([full], [np.ones(4, dtype=bool)])
