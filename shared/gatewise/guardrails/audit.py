"""The per-installation key that audit hashes are made with.

32 random bytes in ``Settings.audit_key_path`` (``<data_dir>/guardrail-audit.key`` by default), created
once with owner-only permissions. Losing it only means new hashes no longer correlate with old
ones. Instances sharing one database share one key file: the database records only the key's
fingerprint (an HMAC of a fixed label under the key), so an instance with another key is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

KEY_BYTES = 32
_FINGERPRINT_LABEL = b"gatewise audit key fingerprint v1"


def installation_key(path: Path) -> bytes:
    """The key in ``path``, made there first if there is none."""
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(KEY_BYTES)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            return path.read_bytes()
        with os.fdopen(fd, "wb") as out:
            out.write(key)
    if len(key) < KEY_BYTES:
        raise ValueError(f"{path} is truncated; delete it to make a new key")
    return key


def key_fingerprint(key: bytes) -> str:
    """What may be stored to tell keys apart: an HMAC under the key, from which it cannot be had."""
    return hmac.new(key, _FINGERPRINT_LABEL, hashlib.sha256).hexdigest()
