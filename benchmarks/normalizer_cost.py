"""What the one text normalisation costs the tokenizer, and what the rejected wider rule
would have cost (krelectra/text.py).

Three pipelines over the same vocabulary (the guaranteed alphabet) and the same text
(konlpy's legal text and our informal comments, one line a call, single-threaded),
identical but for the normalizer:
- previous: BERT's normalizer alone (the pipeline before the NFC step; the baseline);
- shipped: NFC, then BERT's normalizer (this project's tokenizer.json);
- wider: NFC, one Replace step per Hangul compatibility letter that maps its conjoining
  and halfwidth forms onto it (51 steps, what unifying NFKC's jamo with the compatibility
  jamo would take in a `tokenizers` normalizer), then BERT's normalizer.
Runs alternate, medians of --rounds rounds; the machine may be shared, so read ratios,
not absolute times.

    PYTHONPATH=src python benchmarks/normalizer_cost.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import time
import unicodedata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def lines() -> list[str]:
    import konlpy

    corpus = Path(konlpy.__file__).parent / "data" / "corpus"
    text = [line for path in sorted(corpus.glob("*/*.txt")) for line in path.read_text("utf-8").splitlines()]
    text += (REPO / "resources/corpus/spoken_sample.txt").read_text("utf-8").splitlines()
    return [line for line in text if line.strip()]


def wider_steps():
    """One Replace per compatibility letter U+3131-U+3163: its conjoining forms (initial,
    medial, final) and its halfwidth form, found by Unicode name."""
    from tokenizers import Regex, normalizers

    steps = []
    for code in range(0x3131, 0x3164):
        letter = chr(code)
        name = unicodedata.name(letter)
        sources = [
            chr(c)
            for c in [*range(0x1100, 0x1200), *range(0xFFA0, 0xFFDD)]
            if unicodedata.name(chr(c), "").replace("HALFWIDTH ", "") == name
            or any(
                unicodedata.name(chr(c), "").replace(p, "LETTER ") == name
                for p in ("CHOSEONG ", "JUNGSEONG ", "JONGSEONG ")
            )
        ]
        steps.append(normalizers.Replace(Regex("[" + "".join(sources) + "]"), letter))
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    from tokenizers import normalizers

    from krelectra.vocab.alphabet import DEFAULT_ALPHABET, guaranteed_alphabet
    from krelectra.vocab.tokenizer import SPECIAL_TOKENS, build_backend

    alphabet = guaranteed_alphabet(DEFAULT_ALPHABET)
    tokenizer = build_backend(SPECIAL_TOKENS + alphabet + [f"##{c}" for c in alphabet])
    bert = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False)
    pipelines = {
        "previous": bert,
        "shipped": normalizers.Sequence([normalizers.NFC(), bert]),
        "wider": normalizers.Sequence([normalizers.NFC(), *wider_steps(), bert]),
    }
    text = lines()
    seconds: dict[str, list[float]] = {name: [] for name in pipelines}
    for _ in range(args.rounds):
        for name, normalizer in pipelines.items():
            tokenizer.normalizer = normalizer
            started = time.perf_counter()
            for line in text:
                tokenizer.encode(line, add_special_tokens=False)
            seconds[name].append(time.perf_counter() - started)
    median = {name: statistics.median(values) for name, values in seconds.items()}
    characters = sum(map(len, text))
    for name, value in median.items():
        print(f"{name:9} {characters / value / 1e6:6.2f} M characters/s  ({value:.3f} s for {len(text)} lines)")
    print(f"shipped / previous time: {median['shipped'] / median['previous']:.2f}")
    print(f"wider / previous time:   {median['wider'] / median['previous']:.2f}")


if __name__ == "__main__":
    main()
