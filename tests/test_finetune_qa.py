"""KorQuAD features and decoding: sliding windows over the context, training targets,
and n-best span decoding back to the exact original context text."""

import numpy as np
import pytest

from krelectra.errors import KrelectraError
from krelectra.finetune import qa
from krelectra.finetune.features import encode_qa, locate_answer

CONTEXT = "1995년 서울에서 김철수가 이영희를  만났다. 두 사람은 (한국어) 질문과 답변을 공부했다. 그 뒤 부산으로 떠났다."
# The case: the answer "2003년" with an answer_start 2 characters past its start.
CONTEXT_2003 = "그 대회는 2003년에 처음 열렸고 2007년에 다시 열렸다."


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    from transformers import AutoTokenizer, BertTokenizer

    folder = tmp_path_factory.mktemp("tokenizer")
    chars = sorted(set(CONTEXT.replace(" ", "")) | set(CONTEXT_2003.replace(" ", "")) | set("누가어디로무엇을"))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + chars + [f"##{c}" for c in chars]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    # transformers 5: the vocabulary file is the `vocab` argument (`vocab_file` is ignored).
    BertTokenizer(vocab=str(folder / "vocab.txt"), do_lower_case=False, strip_accents=False).save_pretrained(folder)
    return AutoTokenizer.from_pretrained(folder)


def example(answer: str, occurrence: int = 0, qid: str = "q1") -> dict:
    start = -1
    for _ in range(occurrence + 1):
        start = CONTEXT.index(answer, start + 1)
    return {
        "id": qid,
        "question": "누가 무엇을",
        "context": CONTEXT,
        "answers": [{"text": answer, "answer_start": start}],
    }


def window_text(features, window: int, start: int, end: int) -> str:
    offsets = features.offsets[window]
    return CONTEXT[offsets[start][0] : offsets[end][1]]


def test_windows_cover_the_context_doc_stride_apart(tokenizer):
    features = encode_qa(
        tokenizer, [example("부산")], max_length=20, doc_stride=6, max_query_length=3, with_labels=False
    )
    context_tokens = tokenizer(CONTEXT, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    assert len(features.features) > 3
    first_chars = []
    for window, feature in enumerate(features.features):
        ids = feature["input_ids"]
        assert len(ids) <= 20
        assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
        # [CLS] + question cut to 3 tokens + [SEP] come first; the context has token type 1
        assert ids[4] == tokenizer.sep_token_id
        assert feature["token_type_ids"][:5] == [0] * 5 and set(feature["token_type_ids"][5:]) == {1}
        spans = [span for span in features.offsets[window] if span is not None]
        first_chars.append(spans[0][0])
    starts = [next(i for i, span in enumerate(context_tokens) if span[0] == c) for c in first_chars]
    assert starts == list(range(0, 6 * len(starts), 6))
    assert features.offsets[-1][-2] == tuple(context_tokens[-1])  # the last window reaches the end
    # every context token is the "max context" token of exactly one window
    owners = {}
    for window in range(len(features.features)):
        for span, is_max in zip(features.offsets[window], features.max_context[window]):
            if span is not None and is_max:
                assert span not in owners
                owners[span] = window
    assert set(owners) == {tuple(span) for span in context_tokens}


def test_training_targets_point_at_the_answer_in_the_windows_that_hold_it(tokenizer):
    answer = "부산으로"  # near the end: not in the first windows
    features = encode_qa(
        tokenizer, [example(answer)], max_length=20, doc_stride=6, max_query_length=3, with_labels=True
    )
    holding = [w for w, f in enumerate(features.features) if f["start_positions"] != 0]
    assert holding and holding[0] > 0
    for window, feature in enumerate(features.features):
        if window in holding:
            assert window_text(features, window, feature["start_positions"], feature["end_positions"]) == answer
        else:
            assert feature["start_positions"] == feature["end_positions"] == 0  # [CLS]: answer not inside
    assert features.answers_outside == len(features.features) - len(holding)


def test_an_answer_cut_by_a_window_boundary_is_only_a_target_where_it_is_whole(tokenizer):
    answer = "김철수가 이영희를"
    features = encode_qa(
        tokenizer, [example(answer)], max_length=16, doc_stride=4, max_query_length=2, with_labels=True
    )
    answer_start = CONTEXT.index(answer)
    answer_end = answer_start + len(answer)
    partial = whole = 0
    for window, feature in enumerate(features.features):
        spans = [s for s in features.offsets[window] if s is not None]
        overlaps = spans[0][0] < answer_end and spans[-1][1] > answer_start
        contains = spans[0][0] <= answer_start and spans[-1][1] >= answer_end
        if contains:
            whole += 1
            assert window_text(features, window, feature["start_positions"], feature["end_positions"]) == answer
        else:
            partial += overlaps
            assert feature["start_positions"] == 0
    assert partial > 0 and whole > 0


# ---------------------------------------------- training answers: the reference's rule


def test_an_answer_start_off_inside_its_word_is_kept_and_points_at_the_answer():
    # "2003년" with answer_start 2 characters past its start, inside "2003년에": the
    # reference maps the start to the word "2003년에" and the end (start + 5 - 1, the space
    # after it) to the same word; "2003년" is inside "2003년에", so the example is kept
    # and the answer is where the text is.
    right = CONTEXT_2003.index("2003년")
    assert locate_answer(CONTEXT_2003, "2003년", right + 2) == (right, right + len("2003년"))
    # An offset that points at the text is used as is, even where the text occurs earlier
    # in the same words ("열렸" twice in the last two words).
    second = CONTEXT_2003.index("열렸", CONTEXT_2003.index("열렸") + 1)
    assert locate_answer(CONTEXT_2003, "열렸", second) == (second, second + 2)


def test_an_answer_not_in_the_words_at_answer_start_is_skipped():
    # answer_start 0 ("그") and the end 0 + 5 - 1 = 4 ("는"): the words are "그 대회는",
    # "2003년" is not in them, so the reference skips the example ("Could not find answer").
    assert locate_answer(CONTEXT_2003, "2003년", 0) is None
    # Two characters later the end reaches "2003년에": the words hold the answer, kept.
    assert locate_answer(CONTEXT_2003, "2003년", 2) == (6, 11)
    # The right text at the wrong year: "2007년" is not inside "2003년에".
    assert locate_answer(CONTEXT_2003, "2007년", CONTEXT_2003.index("2003년")) is None
    # Offsets outside the context and empty answers cannot be placed.
    assert locate_answer(CONTEXT_2003, "2003년", len(CONTEXT_2003)) is None
    assert locate_answer(CONTEXT_2003, "2003년", -1) is None
    assert locate_answer(CONTEXT_2003, " ", 0) is None


def test_whitespace_in_the_answer_is_compared_collapsed():
    # CONTEXT has two spaces in "이영희를  만났다"; an answer written with one space is found
    # in the words joined by single spaces and spans the context's own text.
    start = CONTEXT.index("이영희를")
    span = locate_answer(CONTEXT, "이영희를 만났다", start)
    assert span is not None and CONTEXT[span[0] : span[1]] == "이영희를  만났다"


def test_training_keeps_the_misplaced_answer_and_skips_the_one_not_found(tokenizer):
    def qa_example(qid, text, start):
        return {
            "id": qid,
            "question": "언제",
            "context": CONTEXT_2003,
            "answers": [{"text": text, "answer_start": start}],
        }

    right = CONTEXT_2003.index("2003년")
    examples = [qa_example("off", "2003년", right + 2), qa_example("lost", "2007년", right)]
    features = encode_qa(tokenizer, examples, max_length=64, doc_stride=16, max_query_length=3, with_labels=True)
    assert features.answers_not_found == ["lost"]
    assert features.example_index == [0]  # no window of the skipped example
    (feature,), offsets = features.features, features.offsets[0]
    start, end = offsets[feature["start_positions"]], offsets[feature["end_positions"]]
    assert CONTEXT_2003[start[0] : end[1]] == "2003년"
    # Evaluation never skips: offsets are not used there.
    assert encode_qa(tokenizer, examples, 64, 16, 3, with_labels=False).example_index == [0, 1]


def test_question_longer_than_max_length_is_a_user_error(tokenizer):
    with pytest.raises(KrelectraError, match="max_seq_length"):
        encode_qa(tokenizer, [example("부산")], max_length=6, doc_stride=2, max_query_length=10, with_labels=False)


def logits_for(features, picks: dict[int, list[tuple[int, float, int, float]]]):
    """Start/end logits that are -50 everywhere except the given (start, score, end,
    score) positions per window."""
    width = max(len(f["input_ids"]) for f in features.features)
    start = np.full((len(features.features), width), -50.0)
    end = np.full((len(features.features), width), -50.0)
    for window, spans in picks.items():
        for s, s_score, e, e_score in spans:
            start[window, s] = s_score
            end[window, e] = e_score
    return start, end


def token_span(features, window: int, text: str, occurrence: int = 0) -> tuple[int, int]:
    """Token positions in `window` of the `occurrence`-th `text` in the context."""
    char_start = -1
    for _ in range(occurrence + 1):
        char_start = CONTEXT.index(text, char_start + 1)
    char_end = char_start + len(text)
    positions = [
        i for i, s in enumerate(features.offsets[window]) if s is not None and s[0] < char_end and s[1] > char_start
    ]
    return positions[0], positions[-1]


def test_decoding_returns_the_exact_original_text_from_a_later_window(tokenizer):
    # The answer keeps the context's double space verbatim (the tokens do not hold it).
    answer = "이영희를  만났다"
    ex = example(answer)
    features = encode_qa(tokenizer, [ex], max_length=24, doc_stride=5, max_query_length=3, with_labels=False)
    assert not _holds(features, 0, answer) and _holds(features, 1, answer)
    s, e = token_span(features, 1, answer)
    assert features.max_context[1][s]
    start, end = logits_for(features, {1: [(s, 9.0, e, 9.0)]})
    assert qa.decode(start, end, features, [ex], n_best_size=5, max_answer_length=30) == {"q1": answer}


def _holds(features, window: int, text: str) -> bool:
    spans = [s for s in features.offsets[window] if s is not None]
    start = CONTEXT.index(text)
    return spans[0][0] <= start and spans[-1][1] >= start + len(text)


def test_decoding_picks_the_best_valid_span_over_all_windows(tokenizer):
    ex = example("부산으로", qid="q9")
    features = encode_qa(tokenizer, [ex], max_length=20, doc_stride=6, max_query_length=3, with_labels=False)
    window = next(
        w
        for w in range(len(features.features))
        if _holds(features, w, "부산으로") and features.max_context[w][token_span(features, w, "부산")[0]]
    )
    assert window > 0
    s, e = token_span(features, window, "부산으로")
    # a better-scored but invalid pick in window 0: the end before the start
    s0, e0 = token_span(features, 0, "서울")
    start, end = logits_for(features, {0: [(e0 + 1, 20.0, s0, 20.0)], window: [(s, 3.0, e, 3.0)]})
    assert qa.decode(start, end, features, [ex], n_best_size=5, max_answer_length=30) == {"q9": "부산으로"}
    # too long for max_answer_length: no valid span left, the prediction is empty
    assert qa.decode(start, end, features, [ex], n_best_size=5, max_answer_length=e - s) == {"q9": ""}


def test_a_start_outside_its_max_context_window_is_not_used(tokenizer):
    ex = example("공부했다")
    features = encode_qa(tokenizer, [ex], max_length=20, doc_stride=4, max_query_length=3, with_labels=False)
    holders = [w for w in range(len(features.features)) if _holds(features, w, "공부했다")]
    assert len(holders) >= 2
    spans = {w: token_span(features, w, "공부했다") for w in holders}
    best = [w for w in holders if features.max_context[w][spans[w][0]]]
    other = [w for w in holders if not features.max_context[w][spans[w][0]]]
    assert len(best) == 1 and other
    # a high score for the answer in a window where its start lacks context, and a lower
    # score for a shorter span ("공부") in the max-context window: the latter wins
    s_best, _ = spans[best[0]]
    _, e_short = token_span(features, best[0], "공부")
    s_other, e_other = spans[other[0]]
    start, end = logits_for(
        features, {other[0]: [(s_other, 10.0, e_other, 10.0)], best[0]: [(s_best, 1.0, e_short, 1.0)]}
    )
    assert qa.decode(start, end, features, [ex], n_best_size=5, max_answer_length=30) == {"q1": "공부"}


def test_several_questions_are_decoded_from_their_own_windows(tokenizer):
    exs = [example("김철수가", qid="a"), example("부산으로", qid="b")]
    features = encode_qa(tokenizer, exs, max_length=64, doc_stride=16, max_query_length=3, with_labels=False)
    windows_a = [w for w, i in enumerate(features.example_index) if i == 0]
    windows_b = [w for w, i in enumerate(features.example_index) if i == 1]
    assert windows_a and windows_b
    picks = {}
    for windows, text in ((windows_a, "김철수가"), (windows_b, "부산으로")):
        w = next(
            w
            for w in windows
            if _holds(features, w, text) and features.max_context[w][token_span(features, w, text)[0]]
        )
        s, e = token_span(features, w, text)
        picks[w] = [(s, 5.0, e, 5.0)]
    start, end = logits_for(features, picks)
    assert qa.decode(start, end, features, exs, n_best_size=20, max_answer_length=30) == {
        "a": "김철수가",
        "b": "부산으로",
    }
