"""Stable 64-bit hashes: the same text gives the same number on every machine and run
(Python's built-in hash() is salted per process, so it cannot be used for sharding)."""

import hashlib


def stable_hash64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def unit_interval(text: str, salt: str = "") -> float:
    """A deterministic pseudo-random number in [0, 1) drawn from the text."""
    return stable_hash64(salt + text) / 2.0**64
