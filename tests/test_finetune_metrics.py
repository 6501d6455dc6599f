"""The task metrics are the reference code's library calls (spec tasks.md, "How the
reference code computes and filters"); KorQuAD follows the official v1.0 evaluation.

Expected values are typed in: worked by hand from the libraries' documented definitions
and equal to what scikit-learn 1.9, scipy 1.17 and seqeval 1.2 return for these calls.
"""

import math

import pytest

from krelectra.finetune import metrics
from krelectra.finetune.tasks import TASKS


def test_accuracy_is_the_share_of_equal_labels():
    assert metrics.accuracy(["0", "1", "1", "0"], ["0", "1", "0", "0"]) == 75.0
    assert metrics.accuracy([2, 0, 1], [2, 0, 1]) == 100.0


def test_macro_f1_averages_over_the_classes_present_as_the_reference_call_does():
    # spec tasks.md: gold none/offensive/offensive/none, predicted none/offensive/offensive/
    # offensive. "hate" is in neither, so f1_score(average="macro") without labels= leaves
    # it out: (F1 none 2/3 + F1 offensive 4/5) / 2 = 73.33, not 48.89 over three classes.
    gold = ["none", "offensive", "offensive", "none"]
    predicted = ["none", "offensive", "offensive", "offensive"]
    assert metrics.macro_f1(gold, predicted) == pytest.approx(100 * (2 / 3 + 4 / 5) / 2)
    assert round(metrics.macro_f1(gold, predicted), 2) == 73.33
    assert metrics.compute(TASKS["hate-speech"], gold, predicted)["macro_f1"] == pytest.approx(73.3333333333)


def test_macro_f1_counts_a_class_only_predicted_or_only_gold_as_zero():
    # "hate" predicted once but never gold: it is present, so it is averaged with F1 0;
    # none: tp 2, fp 0, fn 1 -> 4/5; offensive: tp 0, fn 1 -> 0.
    gold, predicted = ["none", "none", "offensive", "none"], ["none", "none", "hate", "hate"]
    assert metrics.macro_f1(gold, predicted) == pytest.approx(100 * (4 / 5 + 0 + 0) / 3)


def test_correlations_with_ties_and_a_constant_prediction():
    # Ranks of [1, 2, 2, 3] are [1, 2.5, 2.5, 4]; against [1, 2, 3, 4]:
    # cov 4.5, variances 5 and 4.5 -> r = 4.5 / sqrt(22.5) = 0.948683 for both.
    scores = metrics.correlations([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 2.0, 3.0])
    assert scores["spearman"] == pytest.approx(94.8683298, abs=1e-6)
    assert scores["pearson"] == pytest.approx(94.8683298, abs=1e-6)
    # Spearman differs from Pearson on a monotone but not linear prediction: Pearson is
    # cov 149 / sqrt(5 * 7205) = 0.785026.
    scores = metrics.correlations([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 100.0])
    assert scores["spearman"] == pytest.approx(100.0) and scores["pearson"] == pytest.approx(78.5026, abs=1e-4)
    # A constant prediction has no correlation: scipy returns nan, and so do we.
    scores = metrics.correlations([1.0, 2.0, 3.0], [2.0, 2.0, 2.0])
    assert math.isnan(scores["spearman"]) and math.isnan(scores["pearson"])


def test_entity_f1_reads_suffix_tags_in_seqevals_default_mode():
    # Default (non-strict) mode: an I tag after O starts an entity, so PER-I PER-I is the
    # same PER entity as PER-B PER-I (strict IOB2 mode would score this 0).
    assert metrics.entity_f1([["PER-B", "PER-I", "O"]], [["PER-I", "PER-I", "O"]]) == 100.0
    # A type change ends an entity; B starts a new one. Gold: PER(0-1), LOC(3-4);
    # predicted: PER(0-1), LOC(3), ORG(4): 1 of 3 predicted right, 1 of 2 gold found
    # -> P 1/3, R 1/2, F1 0.4.
    gold = [["PER-B", "PER-I", "O", "LOC-B", "LOC-I"]]
    predicted = [["PER-B", "PER-I", "O", "LOC-B", "ORG-I"]]
    assert metrics.entity_f1(gold, predicted) == pytest.approx(40.0)
    # Entities never cross a sentence boundary; one of two predicted entities is right.
    truth = [["PER-B", "PER-I"], ["PER-I", "O"]]
    pred = [["PER-B", "PER-I"], ["O", "LOC-B"]]
    assert metrics.entity_f1(truth, pred) == pytest.approx(50.0)
    # No entity found at all scores 0.
    assert metrics.entity_f1([["PER-B"]], [["O"]]) == 0.0


# KorQuAD v1.0: hand-worked cases, one per normalisation rule.
@pytest.mark.parametrize(
    "text, normalized",
    [
        ("'세종'", "세종"),  # ASCII quotes become spaces, then whitespace collapses
        ('"세종" 대왕', "세종 대왕"),
        ("《훈민정음》", "훈민정음"),
        ("〈용비어천가〉", "용비어천가"),
        ("<해례본>", "해례본"),
        ("집현전(集賢殿)", "집현전 集賢殿"),  # brackets become spaces, not deleted
        ("‘한글’날", "한글 날"),
        ("a'b", "a b"),  # a quote is replaced by a space, not deleted
        ("a-b,c.d!", "abcd"),  # other ASCII punctuation is deleted
        ("1,443년", "1443년"),
        ("ELECTRA Base", "electra base"),  # lower-cased
        ("  세종 \t\n 대왕  ", "세종 대왕"),  # whitespace collapsed
        ("「세종」·", "「세종」·"),  # non-ASCII punctuation outside the list is kept
    ],
)
def test_korquad_normalization(text, normalized):
    assert metrics.normalize_answer(text) == normalized


def test_korquad_exact_match_and_character_f1_by_hand():
    # Spaces differ: not an exact match, but F1 is over characters so it is perfect.
    assert metrics.korquad_exact_match("세종 대왕", "세종대왕") == 0.0
    assert metrics.korquad_f1("세종 대왕", "세종대왕") == 1.0
    # Normalisation makes these equal.
    assert metrics.korquad_exact_match("《세종대왕》", "세종대왕") == 1.0
    # prediction 세종대왕 (4 chars) vs gold 세종 (2 chars): P = 2/4, R = 2/2, F1 = 2/3.
    assert metrics.korquad_f1("세종대왕", "세종") == pytest.approx(2 / 3)
    # Repeated characters count as a multiset: 가가나 vs 가나나 share 가, 나 -> P = R = 2/3.
    assert metrics.korquad_f1("가가나", "가나나") == pytest.approx(2 / 3)
    # No overlap, or nothing left after normalisation, scores 0.
    assert metrics.korquad_f1("세종", "태조") == 0.0
    assert metrics.korquad_f1("...", "세종") == 0.0


def test_korquad_scores_take_the_best_gold_answer_and_count_unanswered_questions():
    references = {"q1": ["1443년", "1443"], "q2": ["세종대왕"], "q3": ["집현전"], "q4": ["한글"]}
    predictions = {"q1": "1443", "q2": "세종", "q3": "집현전의", "extra": "ignored"}  # q4 unanswered
    scores = metrics.korquad_scores(predictions, references)
    # EM: q1 matches its second answer -> 1 of 4.
    assert scores["exact_match"] == pytest.approx(100 * 1 / 4)
    # F1: q1 = 1; q2 = 2·(1·0.5)/(1.5) = 2/3; q3 = P 3/4, R 1 -> 6/7; q4 = 0.
    assert scores["f1"] == pytest.approx(100 * (1 + 2 / 3 + 6 / 7 + 0) / 4)


def test_compute_gives_every_metric_of_each_task_in_order():
    assert metrics.compute(TASKS["nsmc"], ["0", "1", "1", "0"], ["0", "1", "0", "0"]) == {"accuracy": 75.0}
    hate = metrics.compute(TASKS["hate-speech"], ["none", "hate", "offensive"], ["none", "hate", "hate"])
    assert list(hate) == ["macro_f1"] and hate["macro_f1"] == pytest.approx(100 * (1 + 2 / 3 + 0) / 3)
    sts = metrics.compute(TASKS["korsts"], [0.0, 1.0, 2.0, 5.0], [0.1, 3.0, 0.9, 4.0])
    assert list(sts) == ["spearman", "pearson"] and sts["spearman"] == pytest.approx(80.0)
    ner = metrics.compute(TASKS["naver-ner"], [["PER-B", "O"]], [["PER-B", "O"]])
    assert ner == {"f1": 100.0}
    qa = metrics.compute(TASKS["korquad"], {"a": ["세종"]}, {"a": "세종"})
    assert list(qa) == ["exact_match", "f1"] and qa == {"exact_match": 100.0, "f1": 100.0}


def test_mismatched_lengths_are_rejected():
    with pytest.raises(ValueError, match="3 references but 2 predictions"):
        metrics.accuracy(["a", "b", "c"], ["a", "b"])
    with pytest.raises(ValueError, match="no examples"):
        metrics.macro_f1([], [])
    with pytest.raises(ValueError, match="sentence 0"):
        metrics.entity_f1([["O", "O"]], [["O"]])
