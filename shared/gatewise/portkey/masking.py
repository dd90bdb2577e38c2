"""Secrets in Admin API answers: shown once when created, masked everywhere else.

Portkey returns full secrets only on API-key creation and rotation, but other objects carry
provider keys and secret-manager credentials (virtual keys, integrations, secret references,
configs with ``api_key`` targets). Every field whose name says "secret" is masked before anything
reaches a tool result.
"""

from __future__ import annotations

import json
import re
from typing import Any

from gatewise.redact import mask

# Field names holding a secret value, at any depth. Names *about* a secret (its id, path or key
# name inside a secret manager) are not secrets and are left alone.
_SECRET_NAME = re.compile(
    r"^(api_key|apikey|secret|token|password|authorization|private_key|client_secret"
    r"|.*_(secret|token|password|api_key|access_key|private_key|secret_key|credentials"
    r"|service_account_json))$",
    re.IGNORECASE,
)
_NOT_SECRET = frozenset({"secret_key", "secret_reference_id", "secret_path", "secret_mappings"})
# "key" is the secret of an API key, virtual key or integration object itself; deeper down it
# names things (policy conditions, group_by, metadata) and must stay readable.
ITEM_SECRET = "key"


def is_secret_field(name: str, *, top: bool = False) -> bool:
    name = name.lower().replace("-", "_")
    if top and name == ITEM_SECRET:
        return True
    return name not in _NOT_SECRET and _SECRET_NAME.match(name) is not None


def mask_secrets(value: Any, *, top: bool = True) -> Any:
    """A copy of ``value`` with every secret-named string masked.

    ``value`` is an item or a list of items; ``top`` marks the item level, where ``key`` is a secret.
    """
    if isinstance(value, list):
        return [mask_secrets(v, top=top) for v in value]
    if isinstance(value, dict):
        return {k: (_masked(v) if isinstance(v, str) and is_secret_field(str(k), top=top)
                    else mask_secrets(v, top=False))
                for k, v in value.items()}
    return value


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
    if isinstance(value, list):
        return [s for v in value for s in _secret_strings(v)]
    if not isinstance(value, dict):
        return []
    found = []
    for name, v in value.items():
        if isinstance(v, str) and (is_secret_field(str(name)) or str(name).lower() == "virtual_key"):
            found.append(v)
        else:
            found += _secret_strings(v)
    return found
