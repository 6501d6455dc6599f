"""Small stand-in datasets for the eight tasks, in the exact upstream file formats.

`finetune.data: fixtures` (the embedded default) trains on these so that the whole
workflow runs in minutes on a laptop, with the same readers as on the real data. Every
sentence is built here from templates and short word lists (no text of the real
datasets), with a label that follows from surface cues a tiny model can learn:
sentiment words (NSMC), entity word lists (NER), a changed verb versus swapped roles
(PAWS), negation / added detail / generalisation (KorNLI), the number of changed words
(KorSTS), the same versus another question, with an annotation artifact that a
tiny model learns more easily (Question Pair), question words that point at
one slot of a templated paragraph (KorQuAD) and cue phrases (Hate Speech; its target
groups are invented names, and the insults are mild).

Generation is seeded and deterministic: `write_fixtures` gives byte-identical files on
every run. All Hangul used is in KS X 1001 (the 2,350 syllables in everyday use, which
the project's vocabularies always contain).
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from pathlib import Path

from krelectra.io import atomic_open

SEED = 20220301

# ---------------------------------------------------------------------------------------
# Korean particles: the form depends on whether the word ends in a final consonant.

_PARTICLES = {
    "이": ("이", "가"),
    "은": ("은", "는"),
    "을": ("을", "를"),
    "과": ("과", "와"),
    "으로": ("으로", "로"),
    "이다": ("이다", "다"),
}


def _final_consonant(word: str) -> int:
    """Index of the final consonant of the last syllable (0: none)."""
    last = word[-1]
    return (ord(last) - ord("가")) % 28 if "가" <= last <= "힣" else 0


def josa(word: str, particle: str) -> str:
    """`word` with `particle` in the form that fits it (e.g. josa("서울", "으로") = "서울로")."""
    if particle not in _PARTICLES:
        return word + particle
    with_final, without = _PARTICLES[particle]
    final = _final_consonant(word)
    if particle == "으로" and final == 8:  # a final ㄹ takes 로
        return word + without
    return word + (with_final if final else without)


def _tsv(header: list[str] | None, rows: list[list[str]]) -> str:
    lines = (["\t".join(header)] if header else []) + ["\t".join(row) for row in rows]
    for line in lines:
        if "\n" in line or line.count("\t") != len(rows[0]) - 1:
            raise ValueError(f"fixture row breaks the TSV format: {line!r}")
    return "\n".join(lines) + "\n"


def _unique(make: Callable[[], tuple], seen: set, tries: int = 200) -> tuple:
    """A record from `make` whose text (all but its last item, the label) has not been
    generated before for this task."""
    for _ in range(tries):
        record = make()
        key = record[:-1]
        if key not in seen:
            seen.add(key)
            return record
    raise RuntimeError("fixture templates too small for the requested size")


def _balanced_labels(rng: random.Random, labels: list, n: int) -> list:
    values = [labels[i % len(labels)] for i in range(n)]
    rng.shuffle(values)
    return values


PEOPLE_SURNAMES = ["김", "이", "박", "최", "정", "강", "조", "윤", "장", "임", "한", "오", "서", "신", "권"]
PEOPLE_GIVEN = [
    "민준",
    "서연",
    "지훈",
    "하은",
    "도윤",
    "수아",
    "예준",
    "지우",
    "시우",
    "서윤",
    "주원",
    "지민",
    "현우",
    "채원",
    "준서",
    "유진",
    "건우",
    "다은",
    "우진",
    "소율",
    "선우",
    "은서",
    "연우",
    "지아",
]


def _person(rng: random.Random) -> str:
    return rng.choice(PEOPLE_SURNAMES) + rng.choice(PEOPLE_GIVEN)


# ---------------------------------------------------------------------------------------
# NSMC: movie reviews, 1 = positive, 0 = negative.

NSMC_ASPECTS = [
    "이 영화",
    "배우 연기",
    "스토리",
    "결말",
    "음악",
    "영상미",
    "연출",
    "주인공",
    "대사",
    "전개",
    "분위기",
    "캐릭터",
]
NSMC_POSITIVE = [
    "재미있다",
    "최고다",
    "감동적이다",
    "훌륭하다",
    "좋았다",
    "따뜻하다",
    "멋지다",
    "신선하다",
    "탄탄하다",
    "아름답다",
]
NSMC_NEGATIVE = [
    "지루하다",
    "최악이다",
    "실망스럽다",
    "아깝다",
    "별로다",
    "뻔하다",
    "어색하다",
    "유치하다",
    "답답하다",
    "엉성하다",
]
NSMC_POSITIVE_TAILS = ["꼭 보세요", "다시 보고 싶다", "강력 추천합니다", "시간 가는 줄 몰랐다", "명작입니다"]
NSMC_NEGATIVE_TAILS = ["돈이 아깝다", "보다가 졸았다", "추천하지 않습니다", "두 번은 못 보겠다", "시간 낭비였다"]
NSMC_OPENERS = [
    "",
    "",
    "주말에 가족과 봤는데",
    "어제 친구랑 봤는데",
    "기대 없이 봤는데",
    "극장에서 봤는데",
    "솔직히 말하면",
]
NSMC_INTENSIFIERS = ["", "진짜", "너무", "정말", "완전", "꽤", "생각보다"]


def _nsmc_review(rng: random.Random, label: str) -> str:
    cues, tails = (NSMC_POSITIVE, NSMC_POSITIVE_TAILS) if label == "1" else (NSMC_NEGATIVE, NSMC_NEGATIVE_TAILS)
    opener, aspect = rng.choice(NSMC_OPENERS), rng.choice(NSMC_ASPECTS)
    words = [opener, josa(aspect, "이"), rng.choice(NSMC_INTENSIFIERS), rng.choice(cues)]
    if rng.random() < 0.5:
        words.append(rng.choice(tails))
    if rng.random() < 0.15:
        # A contrast: the other polarity first, the verdict after "지만".
        other = NSMC_NEGATIVE if label == "1" else NSMC_POSITIVE
        first = rng.choice(other)[:-1] + "지만"
        words = [josa(rng.choice(NSMC_ASPECTS), "은"), first, josa(aspect, "은"), rng.choice(cues)]
    return " ".join(word for word in words if word)


def _nsmc_split(rng: random.Random, n: int, seen: set, ids: set) -> list[list[str]]:
    rows = []
    for label in _balanced_labels(rng, ["0", "1"], n):
        text, _ = _unique(lambda: (_nsmc_review(rng, label), label), seen)
        review_id = rng.randrange(1_000_000, 10_000_000)
        while review_id in ids:
            review_id = rng.randrange(1_000_000, 10_000_000)
        ids.add(review_id)
        rows.append([str(review_id), text, label])
    return rows


def make_nsmc(rng: random.Random) -> dict[str, str]:
    seen: set[tuple] = set()
    ids: set[int] = set()
    header = ["id", "document", "label"]
    return {
        "ratings_train.txt": _tsv(header, _nsmc_split(rng, 1200, seen, ids)),
        "ratings_test.txt": _tsv(header, _nsmc_split(rng, 300, seen, ids)),
    }


# ---------------------------------------------------------------------------------------
# Naver NER: eojeols with suffix-style tags; an entity may span several words and the
# particle stays on its last word.

NER_ENTITIES = {
    "PER": [
        ["김민수"],
        ["이서연"],
        ["박지훈"],
        ["최하늘"],
        ["강다은"],
        ["윤재원"],
        ["조은비"],
        ["임도윤"],
        ["한유진"],
        ["오건우"],
        ["에밀리", "존슨"],
        ["토마스", "밀러"],
    ],
    "LOC": [
        ["서울"],
        ["부산"],
        ["대구"],
        ["인천"],
        ["제주도"],
        ["강원도"],
        ["한강"],
        ["설악산"],
        ["남산"],
        ["경주"],
        ["서울", "종로구"],
        ["강원도", "속초"],
    ],
    "ORG": [
        ["한빛", "전자"],
        ["미래", "대학교"],
        ["푸른", "병원"],
        ["새벽", "신문사"],
        ["국립", "도서관"],
        ["하나", "은행"],
        ["별빛", "극단"],
    ],
    "DAT": [
        ["2019년"],
        ["2021년", "5월"],
        ["3월", "5일"],
        ["지난해"],
        ["올해", "봄"],
        ["1998년", "7월"],
        ["10월", "9일"],
    ],
    "TIM": [["오후", "3시"], ["아침", "7시"], ["밤", "10시"], ["새벽", "2시"], ["정오"], ["저녁", "6시", "30분"]],
    "NUM": [["세", "명"], ["열두", "개"], ["100만", "원"], ["다섯", "권"], ["두", "배"], ["20여", "명"]],
    "EVT": [["월드컵"], ["올림픽"], ["전국", "체전"], ["부산", "영화제"], ["광복절", "행사"], ["봄", "축제"]],
    "ANM": [
        ["고양이"],
        ["강아지"],
        ["호랑이"],
        ["독수리"],
        ["돌고래"],
        ["여우"],
        ["시베리아", "호랑이"],
        ["북극", "곰"],
    ],
    "PLT": [["소나무"], ["장미"], ["벚꽃"], ["대나무"], ["해바라기"], ["은행나무"], ["단풍", "나무"], ["산", "벚나무"]],
    "MAT": [["철"], ["구리"], ["플라스틱"], ["유리"], ["나무"], ["금"], ["탄소", "섬유"], ["스테인리스", "강철"]],
    "TRM": [
        ["인공지능"],
        ["블록체인"],
        ["알고리즘"],
        ["유전자"],
        ["반도체"],
        ["빅데이터"],
        ["양자", "컴퓨터"],
        ["기계", "학습"],
    ],
    "FLD": [["물리학"], ["경제학"], ["심리학"], ["의학"], ["천문학"], ["언어학"], ["컴퓨터", "과학"], ["생명", "공학"]],
    "AFW": [["훈민정음"], ["거북선"], ["별이", "빛나는", "밤"], ["아리랑"], ["무지개", "다리"], ["달빛", "소나타"]],
    "CVL": [
        ["교사"],
        ["의사"],
        ["대통령"],
        ["시장"],
        ["학생"],
        ["기자"],
        ["요리사"],
        ["소방", "공무원"],
        ["국회", "의원"],
    ],
}

# "{TYPE/particle}" is an entity slot; other words are tagged O.
NER_TEMPLATES = [
    "{PER/은} {DAT/에} {LOC/에서} 열린 {EVT/에} 참가했다",
    "{ORG/은} {NUM/의} {CVL/을} 새로 뽑았다",
    "{PER/은} {FLD/을} 공부한 {CVL/이다}",
    "{TIM/에} {LOC/에서} {ANM/이} 발견되었다",
    "{PER/은} {AFW/을} 보고 크게 감동했다",
    "{ORG/은} {TRM/을} 이용한 새 서비스를 발표했다",
    "{LOC/에는} {PLT/이} 많이 자란다",
    "{MAT/으로} 만든 {AFW/이} {LOC/에서} 전시된다",
    "{DAT/부터} {EVT/이} 시작된다",
    "오늘 {TIM/에} {PER/과} {PER/이} 만났다",
    "{CVL/인} {PER/은} {NUM/을} 기부했다",
    "{ORG/의} {CVL/은} {FLD/에} 관심이 많다",
    "{ANM/과} {PLT/을} 그린 그림이 {ORG/에} 걸려 있다",
    "우리는 {DAT/에} {LOC/으로} 여행을 갔다",
    "그 {CVL/은} {MAT/과} {MAT/을} 섞어 실험했다",
    "{PER/은} {TIM/까지} {ORG/에서} {TRM/을} 연구했다",
]


def _ner_sentence(rng: random.Random, template: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    words, tags = [], []
    for slot in template.split():
        if slot.startswith("{"):
            kind, particle = slot[1:-1].split("/")
            entity = list(rng.choice(NER_ENTITIES[kind]))
            entity[-1] = josa(entity[-1], particle)
            words += entity
            tags += [f"{kind}-B"] + [f"{kind}-I"] * (len(entity) - 1)
        else:
            words.append(slot)
            tags.append("O")
    return tuple(words), tuple(tags)


def _ner_split(rng: random.Random, n: int, seen: set) -> list[list[str]]:
    rows = []
    for _ in range(n):
        words, tags = _unique(lambda: _ner_sentence(rng, rng.choice(NER_TEMPLATES)), seen)
        rows.append([" ".join(words), " ".join(tags)])
    return rows


def make_naver_ner(rng: random.Random) -> dict[str, str]:
    seen: set[tuple] = set()
    return {"train.tsv": _tsv(None, _ner_split(rng, 1000, seen)), "test.tsv": _tsv(None, _ner_split(rng, 250, seen))}


# ---------------------------------------------------------------------------------------
# PAWS: 1 = paraphrase (the verb replaced by a synonym), 0 = not (the two people swap
# roles: the same words, another meaning). Either may also move the place to the front,
# which keeps the meaning because Korean particles mark the roles.

PAWS_VERBS = [  # (object, verb, synonym of the verb)
    ("책", "주었다", "건넸다"),
    ("편지", "보냈다", "부쳤다"),
    ("사진", "보여 주었다", "내보였다"),
    ("선물", "주었다", "전했다"),
    ("소식", "알렸다", "전했다"),
    ("비밀", "말했다", "털어놓었다"),
    ("노래", "가르쳤다", "알려 주었다"),
    ("돈", "빌려주었다", "꾸어 주었다"),
    ("우산", "빌려주었다", "내주었다"),
    ("꽃", "주었다", "선물했다"),
]
PAWS_PLACES = ["학교", "공원", "회사", "도서관", "카페", "식당", "교실", "역 앞", "병원", "시장"]
PAWS_TIMES = ["어제", "오늘 아침", "지난주", "주말에", "점심때", "방학 동안"]


def _paws_pair(rng: random.Random, label: str) -> tuple[str, str, str]:
    giver, receiver = _person(rng), _person(rng)
    while receiver == giver:
        receiver = _person(rng)
    obj, verb, synonym = rng.choice(PAWS_VERBS)
    if rng.random() < 0.5:
        verb, synonym = synonym, verb
    time, place = rng.choice(PAWS_TIMES), rng.choice(PAWS_PLACES)

    def sentence(a: str, b: str, v: str, place_first: bool) -> str:
        core = [josa(a, "이"), f"{b}에게", josa(obj, "을"), v]
        where = [time, f"{place}에서"]
        return " ".join(where + core if place_first else core[:1] + where + core[1:]) + "."

    first = rng.random() < 0.5
    second = first if rng.random() < 0.5 else not first
    s1 = sentence(giver, receiver, verb, first)
    s2 = sentence(giver, receiver, synonym, second) if label == "1" else sentence(receiver, giver, verb, second)
    return s1, s2, label


def _paws_split(rng: random.Random, n: int, n_empty: int, seen: set, ids: list) -> list[list[str]]:
    rows = [list(_unique(lambda: _paws_pair(rng, label), seen)) for label in _balanced_labels(rng, ["0", "1"], n)]
    for _ in range(n_empty):  # a missing translation: the reference skips these rows
        s1, _, label = _paws_pair(rng, rng.choice(["0", "1"]))
        rows.insert(rng.randrange(len(rows)), [s1, "", label] if rng.random() < 0.7 else ["", s1, label])
    out = []
    for row in rows:
        ids[0] += 1
        out.append([str(ids[0])] + row)
    return out


def make_paws(rng: random.Random) -> dict[str, str]:
    seen: set[tuple] = set()
    ids = [0]
    header = ["id", "sentence1", "sentence2", "label"]
    return {
        "translated_train.tsv": _tsv(header, _paws_split(rng, 1000, 4, seen, ids)),
        "dev_2k.tsv": _tsv(header, _paws_split(rng, 200, 1, seen, ids)),
        "test_2k.tsv": _tsv(header, _paws_split(rng, 200, 1, seen, ids)),
    }


# ---------------------------------------------------------------------------------------
# KorNLI: the hypothesis generalises the premise (entailment), denies it (contradiction)
# or adds a detail the premise does not give (neutral).

KORNLI_ACTIVITIES = [  # (activity, its kind, the place it happens)
    ("축구", "운동", "운동장"),
    ("농구", "운동", "체육관"),
    ("수영", "운동", "수영장"),
    ("피아노 연주", "음악", "연습실"),
    ("노래", "음악", "노래방"),
    ("요리", "집안일", "부엌"),
    ("청소", "집안일", "거실"),
    ("그림 그리기", "미술", "화실"),
    ("독서", "공부", "도서관"),
    ("숙제", "공부", "교실"),
]
KORNLI_COMPANIONS = ["친구", "동생", "아버지", "어머니", "선생님", "이웃"]
KORNLI_EXTRA = ["오늘 처음", "매일 아침", "두 시간 동안", "대회를 앞두고", "비를 맞으며"]
KORNLI_OTHER_STATES = ["집에서 잠을 자고 있다", "버스를 타고 있다", "병원에 누워 있다", "멀리 여행을 떠나 있다"]


def _kornli_pair(rng: random.Random, label: str) -> tuple[str, str, str]:
    person = _person(rng)
    activity, kind, place = rng.choice(KORNLI_ACTIVITIES)
    subject = josa(person, "이")
    premise = rng.choice(
        [
            f"{subject} {place}에서 {josa(activity, '을')} 하고 있다.",
            f"{person}{'과' if _final_consonant(person) else '와'} 친구들이 {place}에서 {josa(activity, '을')} 한다.",
            f"{place}에서 {subject} 열심히 {josa(activity, '을')} 하는 중이다.",
        ]
    )
    if label == "entailment":
        hypothesis = rng.choice(
            [
                f"{subject} {josa(kind, '을')} 하고 있다.",
                f"{subject} {place}에 있다.",
                f"누군가 {place}에서 {josa(activity, '을')} 한다.",
                f"{subject} 무언가를 하고 있다.",
            ]
        )
    elif label == "contradiction":
        hypothesis = rng.choice(
            [
                f"{subject} {josa(activity, '을')} 하고 있지 않다.",
                f"{subject} 지금 {place}에 없다.",
                f"{subject} {rng.choice(KORNLI_OTHER_STATES)}.",
                f"아무도 {josa(activity, '을')} 하지 않는다.",
            ]
        )
    else:
        hypothesis = rng.choice(
            [
                f"{subject} {rng.choice(KORNLI_COMPANIONS)}와 함께 {josa(activity, '을')} 하고 있다.",
                f"{subject} {rng.choice(KORNLI_EXTRA)} {josa(activity, '을')} 한다.",
                f"{subject} {josa(activity, '을')} 아주 좋아한다.",
                f"{subject} 내일도 {place}에 올 것이다.",
            ]
        )
    return premise, hypothesis, label


def _kornli_split(rng: random.Random, n: int, seen: set) -> list[list[str]]:
    labels = ["contradiction", "entailment", "neutral"]
    return [list(_unique(lambda: _kornli_pair(rng, label), seen)) for label in _balanced_labels(rng, labels, n)]


def make_kornli(rng: random.Random) -> dict[str, str]:
    seen: set[tuple] = set()
    header = ["sentence1", "sentence2", "gold_label"]
    return {
        "multinli.train.ko.tsv": _tsv(header, _kornli_split(rng, 1200, seen)),
        "xnli.dev.ko.tsv": _tsv(header, _kornli_split(rng, 300, seen)),
        "xnli.test.ko.tsv": _tsv(header, _kornli_split(rng, 300, seen)),
    }


# ---------------------------------------------------------------------------------------
# KorSTS: sentence 2 copies sentence 1 and changes k of its four content words; the score
# is 5 × (4 − k) / 4 plus a little noise, so similarity follows word overlap.

# Common words that small vocabularies keep whole (verbs: their stems), for the reason
# given at Question Pair below.
KORSTS_SUBJECTS = ["여자", "아이", "친구", "가족", "부모", "사람", "개", "고양이"]
KORSTS_PLACES = ["학교", "집", "시장", "바다", "산", "식당", "회사", "길"]
KORSTS_OBJECTS = ["책", "사진", "선물", "가방", "옷", "빵", "우산", "자전거"]
KORSTS_VERBS = ["본다", "찾는다", "받는다", "확인한다", "사용한다"]
KORSTS_GENRES = [
    ("main-captions", "fixture-captions"),
    ("main-news", "fixture-news"),
    ("main-forums", "fixture-forums"),
]


def _korsts_sentence(subject: str, place: str, obj: str, verb: str) -> str:
    return f"{josa(subject, '이')} {place}에서 {josa(obj, '을')} {verb}."


def _korsts_pair(rng: random.Random, changed: int) -> tuple[str, str, float]:
    slots = [KORSTS_SUBJECTS, KORSTS_PLACES, KORSTS_OBJECTS, KORSTS_VERBS]
    words = [rng.choice(choices) for choices in slots]
    other = list(words)
    for index in rng.sample(range(4), changed):
        other[index] = rng.choice([word for word in slots[index] if word != words[index]])
    noise = rng.choice([-0.2, -0.1, 0.0, 0.0, 0.1, 0.2])
    score = min(5.0, max(0.0, 5.0 * (4 - changed) / 4 + noise))
    return _korsts_sentence(*words), _korsts_sentence(*other), round(score, 1)


def _korsts_split(rng: random.Random, n: int, seen: set, ids: list) -> list[list[str]]:
    rows = []
    for changed in _balanced_labels(rng, [0, 1, 2, 3, 4], n):
        s1, s2, score = _unique(lambda: _korsts_pair(rng, changed), seen)
        genre, filename = rng.choice(KORSTS_GENRES)
        ids[0] += 1
        rows.append([genre, filename, "2024", f"{ids[0]:04d}", f"{score:.3f}", s1, s2])
    return rows


def make_korsts(rng: random.Random) -> dict[str, str]:
    seen: set[tuple] = set()
    ids = [0]
    header = ["genre", "filename", "year", "id", "score", "sentence1", "sentence2"]
    return {
        "sts-train.tsv": _tsv(header, _korsts_split(rng, 2000, seen, ids)),
        "sts-dev.tsv": _tsv(header, _korsts_split(rng, 250, seen, ids)),
        "sts-test.tsv": _tsv(header, _korsts_split(rng, 250, seen, ids)),
    }


# ---------------------------------------------------------------------------------------
# Question Pair: 0 = the same question asked two ways, 1 = a different question (another
# thing in 3 of 4 pairs, else the same thing and another action).
#
# The 2-layer embedded model does not reliably learn to match the thing and action across
# the two questions: with the pair relation as the only cue, runs stay at or near chance
# or escape to 70-85% depending on the seed and the sample (benchmarks/pair_matching.py;
# short questions of words the vocabulary keeps whole did best, so they are used here).
# So, like the hypothesis-only cues of the KorNLI fixture above, the fixture also carries
# an annotation artifact: in 9 of 10 duplicates the second question opens with "혹시"
# ("by any chance", a rewriter's habit), and in 1 of 10 non-duplicates. The cue alone
# gives about 90%; a model that also matches the questions can do better.
QP_ARTIFACT = "혹시"
QP_ARTIFACT_RATE = 0.9

# Each action is a verbal noun (it takes 하다).
QP_TOPICS = {
    "예약": ["취소", "변경", "확인"],
    "주문": ["취소", "변경", "확인"],
    "배송": ["확인", "변경", "취소"],
    "계약": ["연장", "해제", "변경"],
    "요금": ["청구", "확인", "변경"],
    "시험": ["신청", "취소", "확인"],
    "교육": ["신청", "취소", "연장"],
    "자격": ["확인", "등록", "심사"],
}
QP_TEMPLATES = [
    "{noun} {action} 방법?",
    "{noun} {action} 문의",
    "{noun} {action} 가능?",
    "{noun} {action} 질문",
    "{noun} {action} 안내",
    "{noun} {action} 방법 좀",
    "{noun} {action/이} 안 돼요",
    "{noun} {action} 방법요",
]


def _qp_question(rng: random.Random, noun: str, action: str) -> str:
    text = rng.choice(QP_TEMPLATES).replace("{noun}", noun)
    text = text.replace("{action/이}", josa(action, "이"))
    return text.replace("{action}", action)


def _qp_pair(rng: random.Random, label: str) -> tuple[str, str, str]:
    noun = rng.choice(sorted(QP_TOPICS))
    action = rng.choice(QP_TOPICS[noun])
    first = _qp_question(rng, noun, action)
    if label == "0":
        second = _qp_question(rng, noun, action)
        while second == first:
            second = _qp_question(rng, noun, action)
    elif rng.random() < 0.75:
        other = rng.choice([n for n in sorted(QP_TOPICS) if n != noun])
        second = _qp_question(rng, other, rng.choice(QP_TOPICS[other]))
    else:
        second = _qp_question(rng, noun, rng.choice([a for a in QP_TOPICS[noun] if a != action]))
    if (rng.random() < QP_ARTIFACT_RATE) == (label == "0"):
        second = f"{QP_ARTIFACT} {second}"
    return first, second, label


def _qp_split(rng: random.Random, n: int, n_empty: int, seen: set) -> list[list[str]]:
    rows = [
        list(_unique(lambda: _qp_pair(rng, label), seen, tries=2000)) for label in _balanced_labels(rng, ["0", "1"], n)
    ]
    for _ in range(n_empty):  # an empty question: the reference skips these rows
        first, _, label = _qp_pair(rng, rng.choice(["0", "1"]))
        rows.insert(rng.randrange(len(rows)), [first, "", label] if rng.random() < 0.5 else ["", first, label])
    return rows


def make_question_pair(rng: random.Random) -> dict[str, str]:
    seen: set[tuple] = set()
    header = ["question1", "question2", "is_duplicate"]
    return {
        "train.tsv": _tsv(header, _qp_split(rng, 1000, 4, seen)),
        "dev.tsv": _tsv(header, _qp_split(rng, 200, 1, seen)),
        "test.tsv": _tsv(header, _qp_split(rng, 200, 1, seen)),
    }


# ---------------------------------------------------------------------------------------
# KorQuAD: short templated biographies; each question word points at one slot.

QA_CITIES = ["서울", "부산", "대구", "인천", "광주", "대전", "울산", "수원", "전주", "춘천", "경주", "목포"]
QA_SCHOOLS = ["한빛대학교", "미래대학교", "푸른대학교", "새벽대학교", "하늘대학교", "바다대학교"]
QA_FIELDS = ["물리학", "경제학", "심리학", "의학", "천문학", "언어학", "건축학", "화학"]
QA_JOBS = ["교수", "의사", "기자", "작가", "연구원", "변호사", "교사", "건축가"]
QA_BOOKS = ["별의 노래", "바람의 길", "푸른 도시", "작은 정원", "마지막 여름", "겨울 바다", "달과 시계", "숲속의 집"]
QA_PRIZES = ["한빛문학상", "미래과학상", "푸른예술상", "새벽학술상"]


def _korquad_article(rng: random.Random, number: int, multiple_answers: bool) -> dict:
    person = _person(rng)
    facts = {
        "year": f"{rng.randrange(1940, 2000)}년",
        "city": rng.choice(QA_CITIES),
        "school": rng.choice(QA_SCHOOLS),
        "field": rng.choice(QA_FIELDS),
        "job": rng.choice(QA_JOBS),
        "book": rng.choice(QA_BOOKS),
        "prize": rng.choice(QA_PRIZES),
        "count": f"{rng.randrange(2, 60)}만 부",
    }
    field, job, prize, book = facts["field"], facts["job"], facts["prize"], facts["book"]
    # Sentences of the paragraph: text pieces and (slot, text) pieces.
    sentences: list[list[str | tuple[str]]] = [
        [josa(person, "은") + " ", ("year",), " ", ("city",), "에서 태어났다."],
        [
            ("school",),
            "에서 ",
            ("field",),
            josa(field, "을")[len(field) :] + " 공부했고, 이후 ",
            ("job",),
            josa(job, "으로")[len(job) :] + " 일했다.",
        ],
        [
            "그가 쓴 책 《",
            ("book",),
            "》" + josa(book, "은")[len(book) :] + " ",
            ("count",),
            "가 팔렸고, 그는 이 책으로 ",
            ("prize",),
            josa(prize, "을")[len(prize) :] + " 받았다.",
        ],
    ]
    if rng.random() < 0.5:  # vary the order of the last two sentences
        sentences[1], sentences[2] = sentences[2], sentences[1]
    context, starts = "", {}
    for sentence in sentences:
        context += " " if context else ""
        for piece in sentence:
            if isinstance(piece, tuple):
                starts[piece[0]] = len(context)
                context += facts[piece[0]]
            else:
                context += piece
    subject = josa(person, "이")
    questions = {
        "year": [f"{subject} 태어난 해는?", f"{subject} 태어난 때는 언제인가?"],
        "city": [f"{subject} 태어난 곳은 어디인가?", f"{subject} 태어난 도시는?"],
        "school": [f"{subject} 공부한 학교는 어디인가?", f"{subject} 다닌 대학은?"],
        "field": [f"{subject} 공부한 분야는 무엇인가?", f"{subject} 전공한 학문은?"],
        "job": [f"{subject} 가진 직업은 무엇인가?", f"{person}의 직업은?"],
        "book": [f"{subject} 쓴 책의 제목은?", f"{person}의 책 이름은 무엇인가?"],
        "prize": [f"{subject} 받은 상은 무엇인가?", f"{person}에게 주어진 상의 이름은?"],
        "count": [f"{person}의 책은 얼마나 팔렸나?", f"{person}의 책이 팔린 부수는?"],
    }
    slots = rng.sample(sorted(questions), 3)
    qas = []
    for q, slot in enumerate(slots):
        answers = [{"text": facts[slot], "answer_start": starts[slot]}]
        if multiple_answers and slot in ("year", "count") and rng.random() < 0.5:
            # A second gold answer without the counter word ("1987" for "1987년").
            bare = facts[slot].split("만")[0] + "만" if slot == "count" else facts[slot][:-1]
            answers.append({"text": bare, "answer_start": starts[slot]})
        qas.append({"answers": answers, "id": f"{number}-0-{q}", "question": rng.choice(questions[slot])})
    return {"paragraphs": [{"qas": qas, "context": context}], "title": person}


def make_korquad(rng: random.Random) -> dict[str, str]:
    def dataset(version: str, n_articles: int, first: int, multiple_answers: bool) -> str:
        data = [_korquad_article(rng, first + i, multiple_answers) for i in range(n_articles)]
        return json.dumps({"version": version, "data": data}, ensure_ascii=False) + "\n"

    return {
        "KorQuAD_v1.0_train.json": dataset("KorQuAD_v1.0_train", 110, 6500000, False),
        "KorQuAD_v1.0_dev.json": dataset("KorQuAD_v1.0_dev", 35, 6600000, True),
    }


# ---------------------------------------------------------------------------------------
# Korean Hate Speech: comments under entertainment news. "hate" comments attack an
# invented group (the names below are made up and refer to nobody); "offensive" ones are
# mild insults at the person in the news; "none" ones are neutral or kind.

HATE_GROUPS = ["가나족", "다라족", "마바족", "사아족"]  # invented stand-in groups
HATE_TITLES = [
    "{person} 주연 새 드라마 첫 방송",
    "{person}, 연말 시상식에서 신인상 수상",
    "{person} 새 앨범 발표 앞두고 인터뷰",
    "{person} 출연 예능 시청률 상승",
    "{person}, 팬미팅에서 감사 인사",
]
# "{p}" is the person in the headline (a particle may follow as "{p/은}").
HATE_NONE = [
    "{p} 응원합니다 앞으로도 좋은 작품 기대할게요",
    "{p} 연기 잘하던데 보기 좋네요",
    "기사 잘 봤습니다",
    "{p} 노래 좋아요 계속 듣고 있어요",
    "{p} 수상 축하드려요",
    "다음 방송도 챙겨 볼게요",
    "{p} 늘 건강하세요",
    "이번 드라마 재미있네요",
    "{p} 목소리가 참 좋다",
    "오랜만에 보니 반갑네요",
    "{p/은} 언제나 성실해서 좋다",
    "{p} 다음 작품도 기다릴게요",
]
HATE_OFFENSIVE = [
    "{p} 연기 진짜 못한다 그만 나와라",
    "{p} 얼굴 보기 싫다 좀 사라져라",
    "수준 낮은 기사 쓰지 마라",
    "{p/은} 바보 같은 소리만 하고 있네",
    "{p} 한심하다 정말",
    "{p} 노래 실력이 형편없다 창피한 줄 알아라",
    "이런 걸 기사라고 쓰냐 멍청하다",
    "{p/은} 뻔뻔하기가 이를 데 없다",
    "{p} 또 나왔네 지겹다 좀 꺼져라",
]
HATE_HATEFUL = [
    "{g} 사람들은 다 똑같다 전부 내쫓아야 한다",
    "역시 {g} 출신이라 저 모양이지",
    "{p/은} {g}이라서 안 된다",
    "{g/은} 이 나라에서 다 나가라",
    "{g} 놈들은 방송에 못 나오게 해야 한다",
    "{g/이} 하는 일이 다 그렇지 믿을 수가 없다",
    "{g/은} 사람 취급하면 안 된다",
    "{p}도 {g}이던데 당장 퇴출시켜라",
]
HATE_OPENERS = ["", "", "", "와", "솔직히", "아니", "기사 보니까"]
HATE_ENDINGS = ["", "", "", "진짜", "정말", "...", "!!"]


def _fill(template: str, slots: dict[str, str]) -> str:
    for key, value in slots.items():
        for particle in ("은", "이"):
            template = template.replace(f"{{{key}/{particle}}}", josa(value, particle))
        template = template.replace(f"{{{key}}}", value)
    return template


def _hate_comment(rng: random.Random, label: str) -> tuple[str, str, str, str]:
    person = _person(rng)
    title = rng.choice(HATE_TITLES).replace("{person}", person)
    templates = {"none": HATE_NONE, "offensive": HATE_OFFENSIVE, "hate": HATE_HATEFUL}[label]
    comment = _fill(rng.choice(templates), {"p": person, "g": rng.choice(HATE_GROUPS)})
    comment = " ".join(w for w in (rng.choice(HATE_OPENERS), comment, rng.choice(HATE_ENDINGS)) if w)
    return title, comment, "others" if label == "hate" else "none", label


def _hate_split(rng: random.Random, n: int, seen: set) -> list[list[str]]:
    labels = ["none"] * 4 + ["offensive"] * 3 + ["hate"] * 3
    rows = []
    for label in _balanced_labels(rng, labels, n):

        def make():
            row = _hate_comment(rng, label)
            return row[1], row  # unique by the comment, the text the model reads

        rows.append(list(_unique(make, seen)[1]))
    return rows


def make_hate_speech(rng: random.Random) -> dict[str, str]:
    seen: set[tuple] = set()
    header = ["title", "comment", "bias", "hate"]
    return {
        "train.tsv": _tsv(header, _hate_split(rng, 1000, seen)),
        "val.tsv": _tsv(header, _hate_split(rng, 250, seen)),
    }


GENERATORS: dict[str, Callable[[random.Random], dict[str, str]]] = {
    "nsmc": make_nsmc,
    "naver-ner": make_naver_ner,
    "paws": make_paws,
    "kornli": make_kornli,
    "korsts": make_korsts,
    "question-pair": make_question_pair,
    "korquad": make_korquad,
    "hate-speech": make_hate_speech,
}


def generate(task: str, seed: int = SEED) -> dict[str, str]:
    """{upstream file name: file text} for one task (its own seeded generator, so that
    changing one task's templates leaves the other tasks' files as they were)."""
    return GENERATORS[task](random.Random(f"{seed}:{task}"))


def write_fixtures(out_dir: str | os.PathLike, seed: int = SEED) -> list[Path]:
    """Write `<task>/<file>` for every task under `out_dir`; returns the paths written."""
    written = []
    for task in GENERATORS:
        for name, text in generate(task, seed).items():
            path = Path(out_dir) / task / name
            with atomic_open(path, "w", newline="\n") as handle:
                handle.write(text)
            written.append(path)
    return written
