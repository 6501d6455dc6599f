"""Corpus stage: raw text -> clean, deduplicated, register-balanced sentence shards."""
