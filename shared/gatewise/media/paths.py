"""The local-file sandbox: only regular files under ``media.allowed_roots`` are ever read."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

from gatewise.errors import ErrorCode, GatewiseError


def resolve_allowed(path: str | Path, roots: Sequence[Path]) -> Path:
    """Return the real path of ``path`` if it is a regular file inside one of ``roots``.

    ``~`` is expanded and symlinks are resolved before the containment check, so neither
    ``../`` nor a link pointing elsewhere escapes. A relative path is taken relative to the
    first root (a server's working directory means nothing to its client).
    """
    if not roots:
        raise GatewiseError(
            ErrorCode.UNSAFE_PATH,
            "Reading local files is disabled: no folders are configured.",
            hint="List the folders images may be read from in the setting media.allowed_roots.",
        )
    real_roots = [Path(root).expanduser().resolve() for root in roots]
    candidate = Path(path).expanduser()
    if not candidate.is_absolute():
        candidate = real_roots[0] / candidate
    # Non-strict first: a path outside the roots is refused the same way whether or not it
    # exists, so the error cannot be used to probe the rest of the file system.
    real = candidate.resolve()
    if not any(real.is_relative_to(root) for root in real_roots):
        raise GatewiseError(ErrorCode.UNSAFE_PATH, f"{path} is outside the allowed folders.")
    try:
        real = candidate.resolve(strict=True)
        mode = real.stat().st_mode
    except OSError:
        raise GatewiseError(ErrorCode.NOT_FOUND, f"There is no readable file at {path}.") from None
    if not stat.S_ISREG(mode):
        raise GatewiseError(ErrorCode.UNSAFE_PATH, f"{path} is not a regular file.")
    return real


def read_capped(path: Path, max_bytes: int) -> bytes:
    """Read a regular file, refusing it once it proves larger than ``max_bytes``.

    The last component is opened without following symlinks and checked again after opening,
    so a file swapped for a link or a FIFO after :func:`resolve_allowed` is still refused.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        raise GatewiseError(ErrorCode.UNSAFE_PATH, f"{path} cannot be opened as a regular file.") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise GatewiseError(ErrorCode.UNSAFE_PATH, f"{path} is not a regular file.")
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise GatewiseError(
            ErrorCode.TOO_LARGE,
            f"{path} is larger than the {max_bytes:,}-byte limit (media.max_input_bytes).",
        )
    return data
