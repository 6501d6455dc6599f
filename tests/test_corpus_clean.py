import unicodedata

import pytest

from krelectra.corpus.clean import Cleaner, CleaningOptions
from krelectra.errors import KrelectraError


def sentences(text, **options):
    return Cleaner(CleaningOptions(**options)).sentences(text)


def test_nfd_hangul_is_composed_to_nfc():
    decomposed = unicodedata.normalize("NFD", "대한민국은 민주공화국이다.")
    assert decomposed != "대한민국은 민주공화국이다."
    assert sentences(decomposed) == ["대한민국은 민주공화국이다."]


def test_control_and_zero_width_characters_are_removed():
    cleaner = Cleaner(CleaningOptions())
    assert cleaner.sentences("배송이\u200b 빨라요\ufeff\x07 정말\u00ad 좋아요") == ["배송이 빨라요 정말 좋아요"]
    assert cleaner.counts["control_characters_removed"] == 4


def test_urls_emails_and_mentions_are_dropped():
    cleaner = Cleaner(CleaningOptions())
    text = "자세한 건 https://example.com/a?b=1 와 www.example.org 참고 a.b@example.com 로 문의 @user_12 님 감사"
    assert cleaner.sentences(text) == ["자세한 건 와 참고 로 문의 님 감사"]
    assert (cleaner.counts["urls_removed"], cleaner.counts["emails_removed"], cleaner.counts["mentions_removed"]) == (
        2,
        1,
        1,
    )


def test_switched_off_steps_keep_the_text():
    text = "메일은 a@example.com 입니다"
    assert sentences(text, remove_emails=False, remove_mentions=False) == [text]


def test_long_repeats_are_shortened_but_numbers_are_not():
    assert sentences("ㅋㅋㅋㅋㅋㅋ 너무 웃겨요!!!!! 1000000원") == ["ㅋㅋ 너무 웃겨요!!", "1000000원"]
    assert sentences("ㅋㅋㅋㅋㅋ 웃겨요", max_char_repeat=3) == ["ㅋㅋㅋ 웃겨요"]
    assert sentences("ㅋㅋㅋㅋㅋ 웃겨요", max_char_repeat=None) == ["ㅋㅋㅋㅋㅋ 웃겨요"]


def test_hanja_removal_is_optional():
    assert sentences("大韓 민국의 국민") == ["大韓 민국의 국민"]
    assert sentences("大韓 민국의 국민", remove_hanja=True) == ["민국의 국민"]


def test_sentence_split_keeps_dates_together():
    text = "발의연월일은 2010. 11. 12. 입니다. 정말요? 네, 맞습니다!  다음 문장…  끝났습니다"
    assert sentences(text, min_sentence_chars=1) == [
        "발의연월일은 2010. 11. 12. 입니다.",
        "정말요?",
        "네, 맞습니다!",
        "다음 문장…",
        "끝났습니다",
    ]


def test_length_filters_count_what_they_drop():
    cleaner = Cleaner(CleaningOptions(min_sentence_chars=5, max_sentence_chars=14))
    assert cleaner.sentences("짧다. 이 문장은 충분히 길다. 이 문장은 너무나도 길어서 잘린다.") == [
        "이 문장은 충분히 길다."
    ]
    assert cleaner.counts["dropped_too_short"] == 1
    assert cleaner.counts["dropped_too_long"] == 1


def test_unknown_option_is_rejected():
    with pytest.raises(KrelectraError, match="lowercase"):
        CleaningOptions.from_dict({"lowercase": True})
