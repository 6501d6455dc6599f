"""KR-ELECTRA reproduction: corpus, vocabulary, pretraining, conversion, finetuning, paper."""

__version__ = "0.1.0"
