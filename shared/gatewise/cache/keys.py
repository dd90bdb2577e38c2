"""Cache keys: a sha256 over a normalised request, so equivalent requests share one entry.

Normalisation only folds differences that cannot change an upstream answer: key order, None-valued
parameters, whitespace at the ends of message text, float spelling, and how image bytes are carried.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import math
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

# Bump when normalisation changes, so old entries stop matching instead of matching wrongly.
KEY_VERSION = 1

# Fields holding prose whose leading/trailing whitespace a model ignores. Other strings (ids,
# stop sequences, URLs) are kept exactly, since whitespace there can matter.
_TEXT_FIELDS = frozenset({"content", "text", "prompt", "system", "query", "question", "instructions"})
_SPACES = re.compile(r"\s+")


def content_hash(data: bytes) -> str:
    """The identity of an image or file by its bytes; pass it in a request instead of the bytes."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def request_hash(key: bytes, text: str) -> str | None:
    """A keyed hash (HMAC-SHA256) of a request's text with letter case and runs of whitespace
    folded, so repeats can be counted in the ledger without storing what was asked; None for no
    text. Keyed, so a short question cannot be recovered by hashing guesses."""
    folded = _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()
    if not folded:
        return None
    mac = _keyed(key).copy()
    mac.update(folded.encode())
    return mac.hexdigest()


@functools.lru_cache(maxsize=8)
def _keyed(key: bytes) -> hmac.HMAC:
    """An HMAC-SHA256 with the key set up, copied per call: setting one up is about half the cost
    of hashing a short text; one key per installation."""
    return hmac.new(key, digestmod="sha256")


def cache_key(namespace: str, request: Mapping[str, Any]) -> str:
    """A hex sha256 for ``request`` (model and every generation parameter) within ``namespace``."""
    if not namespace:
        raise ValueError("namespace must not be empty")
    doc = {"v": KEY_VERSION, "ns": namespace, "req": _normalise(request, None)}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _normalise(value: Any, field: str | None) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, str):
        payload = _data_url_bytes(value)
        if payload is not None:
            return {"$content": content_hash(payload)}
        return value.strip() if field in _TEXT_FIELDS else value
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$content": content_hash(bytes(value))}
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"request keys must be strings, not {type(key).__name__}")
            if item is not None:
                out[key] = _normalise(item, key)
        return out
    if isinstance(value, list | tuple):
        return [_normalise(item, field) for item in value]
    raise TypeError(f"cannot build a cache key from a {type(value).__name__}")


def _float(value: float) -> Any:
    # 1.0 and 1 mean the same temperature; -0.0 folds into 0 this way too.
    if not math.isfinite(value):
        return {"$float": repr(value)}
    return int(value) if value.is_integer() else value


def _data_url_bytes(value: str) -> bytes | None:
    """The decoded payload of a base64 ``data:`` URL, or None for any other string."""
    if not value.startswith("data:"):
        return None
    header, sep, payload = value.partition(",")
    if not sep or not header.endswith(";base64"):
        return None
    try:
        return base64.b64decode(payload.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
