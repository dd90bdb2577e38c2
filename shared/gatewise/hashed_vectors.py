"""Deterministic embeddings: hashed word, word-pair and letter-trigram features, scaled to unit length.

Feature hashing (rather than one hash of the whole text) keeps the vectors a little useful:
texts that share words point in similar directions, and the trigrams keep a misspelt or inflected
word ("adress", "cancelled") near its usual form, so similarity code gets sensible figures.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re

import numpy as np

DEFAULT_DIMENSIONS = 256
MAX_DIMENSIONS = 8192
_WORD = re.compile(r"\w+")
_TRIGRAM_WEIGHT = 0.3


def _slot(feature: str, dimensions: int) -> tuple[int, float]:
    digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
    number = int.from_bytes(digest, "little")
    return (number >> 1) % dimensions, 1.0 if number & 1 else -1.0


def embed(text: str, dimensions: int = DEFAULT_DIMENSIONS) -> np.ndarray:
    """A unit vector (float32) that depends only on ``text`` and ``dimensions``."""
    vector = np.zeros(dimensions, dtype=np.float64)
    words = _WORD.findall(text.lower())
    features = [(w, 1.0) for w in words] + [(f"{a} {b}", 0.5) for a, b in itertools.pairwise(words)]
    for word in words:
        marked = f"<{word}>"
        features += [(marked[i:i + 3], _TRIGRAM_WEIGHT) for i in range(len(marked) - 2)]
    for feature, weight in features:
        index, sign = _slot(feature, dimensions)
        vector[index] += sign * weight
    if not features or not vector.any():
        # No words (or perfectly cancelling ones): fall back to a vector seeded by the raw text.
        seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
        vector = np.random.default_rng(seed).standard_normal(dimensions)
    vector /= np.linalg.norm(vector)
    return vector.astype(np.float32)


def encode(vector: np.ndarray, encoding_format: str) -> list[float] | str:
    if encoding_format == "base64":  # OpenAI's form: little-endian float32 bytes
        return base64.b64encode(vector.astype("<f4").tobytes()).decode()
    return [float(x) for x in vector.tolist()]
