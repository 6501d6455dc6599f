"""Finetuning on the eight Korean benchmarks KR-ELECTRA reports: task registry, data
readers, fixtures and verified downloads, metrics, and training."""
