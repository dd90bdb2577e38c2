"""Prompt difficulty: how much a premium model is expected to add over a cheap one, from text alone.

A logistic model over hashed word uni/bi-grams and a few counts (length, numbers, operators,
answer choices), trained by ``scripts/train_difficulty.py`` on RouteLLM's per-prompt correctness of
a strong model (gpt-4-1106-preview) and a weak one (Mixtral-8x7B) on GSM8K and MMLU.

The training target is ``(1 + strong_correct - weak_correct) / 2``, so ``score`` estimates
``0.5 + E[gain] / 2`` where gain is the premium model's accuracy advantage on this prompt: above 0.5
escalating is expected to help, below it the cheap model is expected to do as well. A plain
"weak model wrong" target ranks worse because it also flags prompts both models fail.

It is an estimate learnt from two benchmarks with two specific models: useful for ranking
prompts against a threshold, not a calibrated probability for arbitrary traffic.
``bench/routing_replay.py`` measures it on held-out prompts.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

ARTEFACT = "difficulty_model.json"
FORMAT = 1
# Bounds the cost on huge prompts; every training prompt is shorter.
MAX_CHARS = 8_000

_TOKEN = re.compile(rb"[a-z]+|\d+(?:[.,]\d+)*|[^\sa-z\d]")
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[A-Za-z]+")
_SENTENCE_END = re.compile(r"[.?!](?:\s|$)")
_CHOICE = re.compile(r"^[ \t]*[A-J][.)][ \t]", re.MULTILINE)
_OPERATORS = "+-*/=^%$"

_STEM = ("chars", "words", "numbers", "distinct_numbers", "sentences", "operators", "word_length")
# Stem counts mean different things in a multiple-choice question and in an open problem, so each
# gets its own weight per format.
DENSE_FEATURES: tuple[str, ...] = (
    *(f"mc_{name}" for name in _STEM),
    *(f"open_{name}" for name in _STEM),
    "choice_length",
    "choice_numbers",
    "multiple_choice",
)


def _tokens(text: str) -> list[bytes]:
    # Every digit becomes 0: exact numbers carry no signal, their shape (digits, decimals) does.
    return _TOKEN.findall(text.lower().encode().translate(_DIGITS_TO_ZERO))


@dataclass(frozen=True, slots=True)
class Features:
    buckets: set[int]  # hashed n-grams
    dense: list[float]  # in DENSE_FEATURES order
    multiple_choice: bool


def features(text: str, bits: int) -> Features:
    """The model's view of one prompt.

    Answer choices (lines like ``B. ...``) contribute unigrams only: their bigrams mostly add noise.
    """
    text = text[:MAX_CHARS]
    first_choice = _CHOICE.search(text)
    split = first_choice.start() if first_choice else len(text)
    stem, choices = text[:split], text[split:]
    choice_lines = [line for line in choices.splitlines() if _CHOICE.match(line)]
    mc = 1.0 if len(choice_lines) >= 2 else 0.0

    mask = (1 << bits) - 1
    stem_tokens = _tokens(stem)
    unigrams = list(map(zlib.crc32, stem_tokens))
    buckets = {h & mask for h in unigrams}
    # crc32 continued over b" next" equals crc32 of b"prev next": a bigram key no unigram can have.
    buckets.update(zlib.crc32(b" " + t, h) & mask for h, t in zip(unigrams, stem_tokens[1:], strict=False))
    buckets.update(h & mask for h in map(zlib.crc32, _tokens(choices)))

    numbers = _NUMBER.findall(stem)
    words = _WORD.findall(stem)
    counts = [
        math.log1p(len(stem)),
        math.log1p(len(words)),
        math.log1p(len(numbers)),
        math.log1p(len(set(numbers))),
        math.log1p(len(_SENTENCE_END.findall(stem))),
        math.log1p(sum(stem.count(c) for c in _OPERATORS)),
        math.log1p(sum(map(len, words)) / len(words) if words else 0.0),
    ]
    choice_length = sum(map(len, choice_lines)) / len(choice_lines) if choice_lines else 0.0
    dense = [
        *(c * mc for c in counts),
        *(c * (1.0 - mc) for c in counts),
        math.log1p(choice_length),
        math.log1p(len(_NUMBER.findall(choices))),
        mc,
    ]
    return Features(buckets, dense, mc == 1.0)


@dataclass(frozen=True, slots=True)
class DifficultyModel:
    """Logistic model: bucket weights (scaled by 1/sqrt(#buckets)) plus dense weights.

    An n-gram can mean one thing in a multiple-choice question and another in an open problem, so
    there is one bucket table per format; training shares a common part between the two.
    """

    bits: int
    bias: float
    dense_weights: tuple[float, ...]
    mc_weights: tuple[float, ...] = field(repr=False)  # 2**bits each
    open_weights: tuple[float, ...] = field(repr=False)
    meta: dict[str, Any] = field(repr=False)

    def score(self, text: str) -> float:
        """Difficulty in [0, 1]: 0.5 + half the expected accuracy gain of premium over cheap."""
        f = features(text, self.bits)
        z = self.bias + sum(w * x for w, x in zip(self.dense_weights, f.dense, strict=True))
        if f.buckets:
            table = self.mc_weights if f.multiple_choice else self.open_weights
            z += sum(map(table.__getitem__, f.buckets)) / math.sqrt(len(f.buckets))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def scores(self, texts: Sequence[str]) -> list[float]:
        return [self.score(t) for t in texts]

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> DifficultyModel:
        if payload.get("format") != FORMAT:
            raise ValueError(f"unsupported difficulty model format {payload.get('format')!r}")
        if tuple(payload["dense_features"]) != DENSE_FEATURES:
            raise ValueError("difficulty model was trained on other dense features; retrain it")
        bits, unit = int(payload["bits"]), float(payload["weight_unit"])
        tables = {}
        for name in ("mc_weights", "open_weights"):
            tables[name] = tuple(unit * w for w in payload[name])
            if len(tables[name]) != 1 << bits:
                raise ValueError(f"difficulty model has {len(tables[name])} {name}, expected {1 << bits}")
        meta = {k: v for k, v in payload.items() if k not in tables}
        return cls(bits, float(payload["bias"]), tuple(map(float, payload["dense_weights"])), meta=meta,
                   **tables)


@cache
def load_default() -> DifficultyModel:
    """The bundled model, parsed once per process."""
    text = resources.files("gatewise.data").joinpath(ARTEFACT).read_text(encoding="utf-8")
    return DifficultyModel.from_json(json.loads(text))
