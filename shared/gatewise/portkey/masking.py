"""Secrets in Admin API answers: shown once when created, masked everywhere else.

Portkey returns full secrets only on API-key creation and rotation, but other objects carry
provider keys and secret-manager credentials (virtual keys, integrations, secret references,
configs with ``api_key`` targets, audit logs holding request bodies and headers as JSON text).
Every field whose name says "secret" is masked before anything reaches a tool result, at any
depth and inside JSON text.
"""

from __future__ import annotations

import json
import re
from typing import Any

from gatewise.redact import mask

# Field names holding a secret value, at any depth (camelCase read as snake_case, "-" as "_").
# Names *about* a secret (its id, path or key name inside a secret manager) are not secrets and
# are left alone.
_SECRET_NAME = re.compile(
    r"^(api_key|apikey|secret|token|password|passwd|authorization|cookie|set_cookie|private_key"
    r"|client_secret|.*_(secret|token|password|api_key|access_key|private_key|secret_key|credentials"
    r"|service_account_json|authorization)|x_.*key)$",
    re.IGNORECASE,
)
_NOT_SECRET = frozenset({"secret_key", "secret_reference_id", "secret_path", "secret_mappings"})
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
# "key" is the secret of an API key, virtual key or integration object itself (and of a request
# body held as JSON text); deeper down it mostly names things (policy conditions, group_by,
# metadata) and is masked only when its value looks like a credential rather than a name.
ITEM_SECRET = "key"
# Fields naming what a sibling "value" holds: {"target_field": "key", "value": "AIza…"}.
_NAMING = ("key", "name", "target_field", "field", "header")
# Text fields holding JSON (audit logs' request_body, request_headers, response_body; stored
# configs) are decoded to be masked by field name too, up to this size, this many texts within
# texts and this depth.
MAX_JSON_TEXT = 1 << 20
MAX_TEXT_NESTING = 3
MAX_TEXT_DEPTH = 32  # objects and lists within one text
_JSON_OPENING = re.compile(r"\s*([\[{])")
# A "name": "value" pair in JSON text that cannot be decoded (cut off, or too large).
_TEXT_PAIR = re.compile(r'"([\w.-]{1,64})"(\s*:\s*")((?:[^"\\]|\\.)*)')


def is_secret_field(name: str, *, top: bool = False) -> bool:
    name = _CAMEL.sub("_", name).lower().replace("-", "_")
    if top and name == ITEM_SECRET:
        return True
    return name not in _NOT_SECRET and _SECRET_NAME.match(name) is not None


def _credential_like(text: str) -> bool:
    """Whether a nested ``key`` holds a credential rather than a name: long, one word, letters
    and digits mixed."""
    return (len(text) >= 16 and not any(c.isspace() for c in text)
            and any(c.isdigit() for c in text) and any(c.isalpha() for c in text))


def mask_secrets(value: Any, *, top: bool = True) -> Any:
    """A copy of ``value`` with every secret masked: strings held by a secret-named field, a
    nested ``key`` that looks like a credential, and a ``value`` whose sibling names a secret
    (``{"name": "Authorization", "value": …}``), at any depth, inside JSON text fields too.

    ``value`` is an item or a list of items; ``top`` marks the item level, where ``key`` is a secret.
    A JSON text keeps its type: it is written again (compactly) only when something in it was masked.
    """
    return _walk(value, top, 0)


def _walk(value: Any, top: bool, nesting: int, depth: int = 0) -> Any:
    if nesting and depth > MAX_TEXT_DEPTH:
        raise _TooDeep
    if isinstance(value, str):
        return _text(value, nesting)
    if isinstance(value, list):
        return [_walk(v, top, nesting, depth + 1) for v in value]
    if not isinstance(value, dict):
        return value
    named = _names_a_secret(value)
    return {k: (_masked(v) if isinstance(v, str) and _secret_here(str(k), v, top=top, named=named)
                else _walk(v, False, nesting, depth + 1))
            for k, v in value.items()}


def _names_a_secret(item: dict[Any, Any]) -> bool:
    """Whether a sibling names a secret: ``{"name": "Authorization", "value": …}``."""
    return any(isinstance(item.get(n), str) and is_secret_field(item[n], top=True) for n in _NAMING)


class _TooDeep(Exception):
    """JSON text nested deeper than MAX_TEXT_DEPTH."""


def _secret_here(name: str, value: str, *, top: bool, named: bool) -> bool:
    if is_secret_field(name, top=top):
        return True
    if name.lower() == ITEM_SECRET:
        return _credential_like(value)
    return named and name.lower() == "value" and any(c.isalnum() for c in value)


def _text(text: str, nesting: int) -> str:
    """A string with the secrets inside it masked when it is JSON text; otherwise as it is."""
    opened = _JSON_OPENING.match(text)
    if opened is None or (opened.group(1) == "[" and "{" not in text) or nesting >= MAX_TEXT_NESTING:
        return text
    if len(text) <= MAX_JSON_TEXT:
        try:
            decoded = json.loads(text)
            masked = _walk(decoded, True, nesting + 1)
        except (ValueError, RecursionError, _TooDeep):
            pass
        else:
            return text if masked == decoded else json.dumps(masked, ensure_ascii=False)
    # Cut off, too large or too deep to decode: each "name": "value" pair is judged by its name.
    return _TEXT_PAIR.sub(lambda m: m.group(0) if not is_secret_field(m.group(1), top=True)
                          else f'"{m.group(1)}"{m.group(2)}{_masked(m.group(3))}', text)


def _masked(value: str) -> str:
    # Portkey already masks keys in listings ("pk-…EwT9"); keep that form rather than shorten it.
    if "…" in value or "***" in value:
        return value
    return mask(value)


def config_secrets(text: str) -> list[str]:
    """The credentials inside a Portkey config given as JSON text: every string held by a
    secret-named field (or a ``virtual_key``) at any depth. The id of a saved config holds none."""
    try:
        return _secret_strings(json.loads(text))
    except ValueError:
        return []


def request_secrets(body: Any) -> list[str]:
    """The credentials a request body carries: its own ``key`` (a provider key being stored) and
    every secret-named string or ``virtual_key`` at any depth."""
    own = [v for k, v in body.items() if isinstance(v, str) and str(k).lower() == ITEM_SECRET] \
        if isinstance(body, dict) else []
    return own + _secret_strings(body)


def _secret_strings(value: Any) -> list[str]:
    """Every string :func:`mask_secrets` would mask below the item level, and every ``virtual_key``."""
    if isinstance(value, list):
        return [s for v in value for s in _secret_strings(v)]
    if not isinstance(value, dict):
        return []
    named = _names_a_secret(value)
    found = []
    for name, v in value.items():
        if isinstance(v, str) and (_secret_here(str(name), v, top=False, named=named)
                                   or str(name).lower() == "virtual_key"):
            found.append(v)
        else:
            found += _secret_strings(v)
    return found
