"""Which n-gram unit finds Korean evaluation text in a corpus: whitespace words or
characters of the text without whitespace and symbols (docs/contamination.md).

Usage: python benchmarks/contamination_unit.py

Examples: the 702 informal comments and reviews of resources/corpus/spoken_sample.txt
(this project's own writing, the register of NSMC and Korean Hate Speech).

- found when re-typed: each example is put in the corpus re-spaced (every space removed,
  or a space inserted after every third character) with its punctuation changed; the
  share of examples found is the unit's recall (it should be 100%).
- found by chance: each example against a corpus of every *other* example and the
  Korean constitution and bills konlpy ships; these are different sentences, so the
  share found measures matches on common phrases (it should be near 0).
- judged: the share of examples with at least one n-gram (shorter ones cannot be judged).

Deterministic (no timing): the same table on every machine.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from krelectra.corpus.contamination import simplify, text_ngrams
from krelectra.corpus.sources import konlpy_corpus_dir

ROOT = Path(__file__).resolve().parent.parent
PUNCTUATION = re.compile(r"[.,!?~…]+")


def respaced(text: str, rng: random.Random) -> str:
    text = PUNCTUATION.sub("", text)
    letters = text.replace(" ", "")
    if rng.random() < 0.5:
        spaced = letters
    else:
        spaced = " ".join(letters[i : i + 3] for i in range(0, len(letters), 3))
    return spaced + rng.choice(["!!", "..", " ㅋㅋ", "?"])


def word_grams(text: str, n: int) -> set[tuple[str, ...]]:
    """GPT-3 / lm-evaluation-harness unit: lower-cased whitespace words, punctuation removed."""
    words = PUNCTUATION.sub(" ", text.lower()).split()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def char_grams(text: str, n: int) -> set[int]:
    return {int(h) for h in text_ngrams(simplify(text), n)}


def rates(examples: list[str], corpora: list[list[str]], grams, n: int) -> tuple[float, float, float]:
    """(judged, found when re-typed, found by chance), each a share of the judged examples."""
    retyped, chance = corpora
    retyped_grams = [grams(t, n) for t in retyped]
    judged = found_retyped = found_chance = 0
    chance_sets = [grams(t, n) for t in chance]
    everything = set().union(*chance_sets)
    counts: dict = {}
    for s in chance_sets:
        for g in s:
            counts[g] = counts.get(g, 0) + 1
    for i, example in enumerate(examples):
        own = grams(example, n)
        if not own:
            continue
        judged += 1
        found_retyped += bool(own & retyped_grams[i])
        # the corpus of other examples: remove the example's own copy from the counts
        found_chance += any(g in everything and counts[g] > (g in chance_sets[i]) for g in own)
    return judged / len(examples), found_retyped / max(1, judged), found_chance / max(1, judged)


def main() -> None:
    rng = random.Random(0)
    lines = (ROOT / "resources" / "corpus" / "spoken_sample.txt").read_text(encoding="utf-8").splitlines()
    examples = list(dict.fromkeys(line.strip() for line in lines if line.strip()))
    legal = [
        p.read_text(encoding="utf-8")
        for folder in ("kolaw", "kobill")
        for p in (konlpy_corpus_dir() / folder).glob("*.txt")
    ]
    retyped = [respaced(e, rng) for e in examples]
    chance = examples + legal
    print(f"{len(examples)} examples; chance corpus: the other examples and {len(legal)} legal texts")
    print(f"{'unit':28s} {'judged':>7s} {'re-typed found':>15s} {'found by chance':>16s}")
    for n in (3, 5, 8, 13):
        j, r, c = rates(examples, [retyped, chance], word_grams, n)
        print(f"{f'whitespace words, n={n}':28s} {j:7.1%} {r:15.1%} {c:16.1%}")
    for n in (8, 10, 13, 16, 20, 25):
        j, r, c = rates(examples, [retyped, chance], char_grams, n)
        print(f"{f'characters, n={n}':28s} {j:7.1%} {r:15.1%} {c:16.1%}")


if __name__ == "__main__":
    main()
