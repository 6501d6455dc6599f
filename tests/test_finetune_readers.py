"""The readers accept the exact upstream formats and stop on malformed records with the file and line."""

import json
import re

import pytest

from krelectra.errors import KrelectraError
from krelectra.finetune import readers


def _write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_nsmc(tmp_path):
    path = _write(
        tmp_path,
        "ratings_test.txt",
        "id\tdocument\tlabel\n6270596\t굳 ㅋ\t1\n9274899\t\t0\n\n8544678\t뭐야 이 평점들은....\t0\n",
    )
    result = readers.read_nsmc(path)
    # An empty review is kept (the reference keeps it); a blank line is not a record.
    assert result.examples == [
        {"text": "굳 ㅋ", "label": "1"},
        {"text": "", "label": "0"},
        {"text": "뭐야 이 평점들은....", "label": "0"},
    ]
    assert result.skipped == 0 and result.path == path


def test_windows_line_endings_are_read_like_unix_ones(tmp_path):
    path = _write(tmp_path, "ratings_train.txt", "id\tdocument\tlabel\r\n1\t좋다\t1\r\n2\t별로\t0\r\n")
    assert [e["label"] for e in readers.read_nsmc(path).examples] == ["1", "0"]


def test_naver_ner_suffix_tags(tmp_path):
    path = _write(
        tmp_path,
        "train.tsv",
        "비토리오 양일 만에 영사관 감호 용퇴\tPER-B DAT-B DAT-I ORG-B CVL-B O\n김민수는 서울로 갔다\tPER-B LOC-B O\n",
    )
    result = readers.read_naver_ner(path)
    assert result.examples[1] == {"words": ["김민수는", "서울로", "갔다"], "tags": ["PER-B", "LOC-B", "O"]}
    assert len(readers.NER_LABELS) == 29 and readers.NER_LABELS[0] == "O"


def test_naver_ner_word_tag_count_mismatch_names_file_and_line(tmp_path):
    path = _write(tmp_path, "test.tsv", "김민수는 서울로 갔다\tPER-B LOC-B O\n김민수는 서울로 갔다\tPER-B O\n")
    with pytest.raises(KrelectraError, match=rf"{re.escape(str(path))}:2: 3 words but 2 tags"):
        readers.read_naver_ner(path)


def test_naver_ner_prefix_style_tag_is_unknown(tmp_path):
    path = _write(tmp_path, "test.tsv", "김민수는 갔다\tB-PER O\n")
    with pytest.raises(KrelectraError, match=rf"{re.escape(str(path))}:1: unknown label 'B-PER'"):
        readers.read_naver_ner(path)


def test_paws_skips_and_counts_rows_with_an_empty_sentence(tmp_path):
    path = _write(
        tmp_path,
        "translated_train.tsv",
        "id\tsentence1\tsentence2\tlabel\n1\t가는 나를 만났다.\t나는 가를 만났다.\t0\n"
        "2\t\t문장\t1\n3\t문장\t \t0\n4\t하나\t둘\t1\n",
    )
    result = readers.read_paws(path)
    assert result.skipped == 2
    assert result.examples == [
        {"text": "가는 나를 만났다.", "text_pair": "나는 가를 만났다.", "label": "0"},
        {"text": "하나", "text_pair": "둘", "label": "1"},
    ]


def test_question_pair_skips_empty_questions_and_rejects_other_labels(tmp_path):
    good = _write(
        tmp_path,
        "dev.tsv",
        "question1\tquestion2\tis_duplicate\n비밀번호 변경?\t비밀번호 바꾸기?\t0\n\t배송 조회?\t1\n",
    )
    result = readers.read_question_pair(good)
    assert (len(result.examples), result.skipped) == (1, 1)
    bad = _write(tmp_path, "test.tsv", "question1\tquestion2\tis_duplicate\n가?\t나?\t0\n가?\t나?\tyes\n")
    with pytest.raises(KrelectraError, match=rf"{re.escape(str(bad))}:3: unknown label 'yes'"):
        readers.read_question_pair(bad)


def test_kornli(tmp_path):
    path = _write(
        tmp_path, "xnli.dev.ko.tsv", "sentence1\tsentence2\tgold_label\n그는 달렸다.\t그는 움직였다.\tentailment\n"
    )
    assert readers.read_kornli(path).examples == [
        {"text": "그는 달렸다.", "text_pair": "그는 움직였다.", "label": "entailment"}
    ]
    bad = _write(tmp_path, "xnli.test.ko.tsv", "sentence1\tsentence2\tgold_label\n가\t나\tEntailment\n")
    with pytest.raises(KrelectraError, match=rf"{re.escape(str(bad))}:2: unknown label 'Entailment'"):
        readers.read_kornli(bad)


def test_korsts_scores_are_floats_in_range(tmp_path):
    header = "genre\tfilename\tyear\tid\tscore\tsentence1\tsentence2\n"
    path = _write(
        tmp_path,
        "sts-dev.tsv",
        header + "main-captions\tMSRvid\t2012test\t0000\t5.000\t남자가 모자를 쓴다.\t남자가 모자를 쓰고 있다.\n",
    )
    assert readers.read_korsts(path).examples == [
        {"text": "남자가 모자를 쓴다.", "text_pair": "남자가 모자를 쓰고 있다.", "label": 5.0}
    ]
    for score in ("high", "5.2", "nan"):
        bad = _write(tmp_path, "sts-test.tsv", header + f"g\tf\ty\t1\t{score}\t가\t나\n")
        with pytest.raises(KrelectraError, match=rf"{re.escape(str(bad))}:2: score '{score}'"):
            readers.read_korsts(bad)


def test_hate_speech_uses_comment_and_hate_columns(tmp_path):
    path = _write(
        tmp_path,
        "val.tsv",
        "title\tcomment\tbias\thate\n제목\t좋은 기사네요\tnone\tnone\n제목\t가나족은 나가라\tothers\thate\n",
    )
    assert readers.read_hate_speech(path).examples == [
        {"text": "좋은 기사네요", "label": "none"},
        {"text": "가나족은 나가라", "label": "hate"},
    ]


@pytest.mark.parametrize(
    "reader, name, text, line, columns",
    [
        (readers.read_nsmc, "ratings_train.txt", "id\tdocument\tlabel\n1\t좋다\t1\n2\t탭이\t있는\t1\n", 3, 4),
        (readers.read_paws, "dev_2k.tsv", "id\tsentence1\tsentence2\tlabel\n1\t가\t0\n", 2, 3),
        (readers.read_hate_speech, "train.tsv", "title\tcomment\tbias\n", 1, 3),
        (readers.read_naver_ner, "train.tsv", "김민수는 갔다\n", 1, 1),
        (readers.read_korsts, "sts-train.tsv", "genre\tfilename\tyear\tid\tscore\tsentence1\tsentence2\na\tb\n", 2, 2),
    ],
)
def test_wrong_column_count_names_file_and_line(tmp_path, reader, name, text, line, columns):
    path = _write(tmp_path, name, text)
    with pytest.raises(KrelectraError, match=rf"{re.escape(str(path))}:{line}: .* {columns} tab-separated columns"):
        reader(path)


def test_missing_empty_and_non_utf8_files(tmp_path):
    with pytest.raises(KrelectraError, match="cannot read"):
        readers.read_nsmc(tmp_path / "absent.txt")
    with pytest.raises(KrelectraError, match="empty file"):
        readers.read_nsmc(_write(tmp_path, "empty.txt", ""))
    with pytest.raises(KrelectraError, match="not UTF-8"):
        readers.read_nsmc(_write(tmp_path, "euc.txt", "id\tdocument\tlabel\n1\t좋다\t1\n", encoding="euc-kr"))


def _squad(qas, context="세종은 1443년에 훈민정음을 만들었다."):
    return {
        "version": "KorQuAD_v1.0_dev",
        "data": [{"title": "세종", "paragraphs": [{"context": context, "qas": qas}]}],
    }


def test_korquad_one_example_per_question_with_all_answers(tmp_path):
    qas = [
        {
            "id": "1-0",
            "question": "훈민정음을 만든 해는?",
            "answers": [{"text": "1443년", "answer_start": 4}, {"text": "1443", "answer_start": 4}],
        },
        {"id": "1-1", "question": "세종이 만든 것은?", "answers": [{"text": "훈민정음", "answer_start": 11}]},
    ]
    path = _write(tmp_path, "KorQuAD_v1.0_dev.json", json.dumps(_squad(qas), ensure_ascii=False))
    examples = readers.read_korquad(path).examples
    assert [e["id"] for e in examples] == ["1-0", "1-1"]
    assert examples[0]["answers"] == [{"text": "1443년", "answer_start": 4}, {"text": "1443", "answer_start": 4}]
    assert examples[1]["context"] == "세종은 1443년에 훈민정음을 만들었다."


@pytest.mark.parametrize(
    "qas, message",
    [
        ([{"id": "7-3", "question": "q", "answers": []}], "question 7-3: no answers"),
        (
            [{"id": "7-4", "question": "q", "answers": [{"text": "세종", "answer_start": "0"}]}],
            "question 7-4: 'answer_start' should be a int",
        ),
        (
            [{"id": "7-5", "question": "q", "answers": [{"text": "세종", "answer_start": 0}]}] * 2,
            "question 7-5: duplicate question id",
        ),
        ([{"id": "7-6", "answers": [{"text": "세종", "answer_start": 0}]}], "question 7-6: missing 'question'"),
    ],
)
def test_korquad_malformed_answers_name_the_question(tmp_path, qas, message):
    path = _write(tmp_path, "KorQuAD_v1.0_train.json", json.dumps(_squad(qas), ensure_ascii=False))
    with pytest.raises(KrelectraError, match=re.escape(f"{path}: {message}")):
        readers.read_korquad(path)


def test_korquad_answer_offsets_are_kept_as_given_for_training_to_place(tmp_path):
    # A misplaced answer_start is not a format error: the reference maps it to whitespace
    # words when training (features.locate_answer) and never uses it to evaluate.
    qas = [
        {"id": "8-1", "question": "q", "answers": [{"text": "1443년", "answer_start": 6}]},  # 2 past its start
        {"id": "8-2", "question": "q", "answers": [{"text": "1443년", "answer_start": 99}]},  # outside the context
    ]
    path = _write(tmp_path, "KorQuAD_v1.0_train.json", json.dumps(_squad(qas), ensure_ascii=False))
    examples = readers.read_korquad(path).examples
    assert [e["answers"] for e in examples] == [
        [{"text": "1443년", "answer_start": 6}],
        [{"text": "1443년", "answer_start": 99}],
    ]


def test_korquad_not_json(tmp_path):
    path = _write(tmp_path, "KorQuAD_v1.0_train.json", '{"data": [')
    with pytest.raises(KrelectraError, match=re.escape(f"{path}: not valid JSON")):
        readers.read_korquad(path)
