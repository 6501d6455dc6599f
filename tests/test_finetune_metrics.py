"""The task metrics agree with the reference libraries and the official KorQuAD v1.0 evaluation."""

import math
import random

import pytest
from scipy.stats import pearsonr, spearmanr
from seqeval.metrics import f1_score as seqeval_f1
from sklearn.metrics import accuracy_score, f1_score

from krelectra.finetune import metrics
from krelectra.finetune.tasks import TASKS

NER_TAGS = ["O", "PER-B", "PER-I", "LOC-B", "LOC-I", "ORG-B", "ORG-I"]


def _noisy_copy(rng, values, choices, p):
    return [rng.choice(choices) if rng.random() < p else value for value in values]


def test_accuracy_matches_sklearn():
    rng = random.Random(1)
    truth = [rng.choice("ab") for _ in range(97)]
    pred = _noisy_copy(rng, truth, "ab", 0.4)
    assert metrics.accuracy(truth, pred) == pytest.approx(100 * accuracy_score(truth, pred))


@pytest.mark.parametrize("seed", range(5))
def test_macro_f1_matches_sklearn_over_the_three_classes(seed):
    rng = random.Random(seed)
    labels = ["none", "offensive", "hate"]
    truth = [rng.choice(labels) for _ in range(60)]
    pred = _noisy_copy(rng, truth, labels, 0.5)
    expected = 100 * f1_score(truth, pred, labels=labels, average="macro")
    assert metrics.macro_f1(truth, pred, labels) == pytest.approx(expected, abs=1e-9)


def test_macro_f1_class_never_true_nor_predicted_counts_as_zero():
    truth, pred = ["none", "offensive", "none"], ["none", "none", "none"]
    labels = ["none", "offensive", "hate"]
    expected = 100 * f1_score(truth, pred, labels=labels, average="macro", zero_division=0)
    assert metrics.macro_f1(truth, pred, labels) == pytest.approx(expected)
    assert metrics.macro_f1(truth, pred, labels) == pytest.approx(100 * (0.8 + 0 + 0) / 3)


@pytest.mark.parametrize("seed", range(5))
def test_correlations_match_scipy_with_ties(seed):
    rng = random.Random(seed)
    truth = [rng.choice([0.0, 0.5, 1.2, 2.0, 3.8, 5.0]) for _ in range(50)]  # many ties
    pred = [t + rng.gauss(0, 1.5) if rng.random() < 0.8 else 2.5 for t in truth]
    scores = metrics.correlations(truth, pred)
    assert scores["spearman"] == pytest.approx(100 * spearmanr(truth, pred).statistic, abs=1e-9)
    assert scores["pearson"] == pytest.approx(100 * pearsonr(truth, pred).statistic, abs=1e-9)


def test_correlation_of_a_constant_prediction_is_undefined_as_in_scipy():
    scores = metrics.correlations([1.0, 2.0, 3.0], [2.0, 2.0, 2.0])
    assert math.isnan(scores["spearman"]) and math.isnan(scores["pearson"])


def _to_prefix(tags):
    return [[tag if tag == "O" else f"{tag[-1]}-{tag[:-2]}" for tag in sentence] for sentence in tags]


@pytest.mark.parametrize("seed", range(8))
def test_entity_f1_matches_seqeval_with_suffix_tags(seed):
    rng = random.Random(seed)
    truth = [[rng.choice(NER_TAGS) for _ in range(rng.randint(1, 12))] for _ in range(30)]
    pred = [_noisy_copy(rng, sentence, NER_TAGS, 0.3) for sentence in truth]
    expected = 100 * seqeval_f1(truth, pred, suffix=True)
    assert metrics.entity_f1(truth, pred) == pytest.approx(expected, abs=1e-9)
    # The same entities read from prefix-style tags by seqeval's default reader.
    assert metrics.entity_f1(truth, pred) == pytest.approx(
        100 * seqeval_f1(_to_prefix(truth), _to_prefix(pred)), abs=1e-9
    )


def test_entity_rules_by_hand():
    # An I after O starts an entity; a type change ends one; B starts a new one.
    tags = ["PER-I", "PER-I", "O", "LOC-B", "LOC-I", "ORG-I", "ORG-B", "ORG-B", "ORG-I"]
    assert metrics.entities(tags) == {("PER", 0, 1), ("LOC", 3, 4), ("ORG", 5, 5), ("ORG", 6, 6), ("ORG", 7, 8)}
    # Entities never cross a sentence boundary; one of two predicted entities is right.
    truth = [["PER-B", "PER-I"], ["PER-I", "O"]]
    pred = [["PER-B", "PER-I"], ["O", "LOC-B"]]
    assert metrics.entity_f1(truth, pred) == pytest.approx(100 * 0.5)
    with pytest.raises(ValueError, match="B-PER"):
        metrics.entity_f1([["B-PER"]], [["O"]])


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
    with pytest.raises(ValueError, match="sentence 0"):
        metrics.entity_f1([["O", "O"]], [["O"]])
