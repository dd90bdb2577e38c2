"""The per-installation key that audit hashes are made with.

32 random bytes in ``<data_dir>/guardrail-audit.key``, created once with owner-only
permissions. Losing it only means new hashes no longer correlate with old ones.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

KEY_FILE = "guardrail-audit.key"
KEY_BYTES = 32


def installation_key(data_dir: Path) -> bytes:
    path = data_dir / KEY_FILE
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        data_dir.mkdir(parents=True, exist_ok=True)
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
