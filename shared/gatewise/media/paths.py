"""The local-file sandbox: only regular files under ``media.allowed_roots`` are ever read.

Symbolic links inside an allowed folder are followed when they lead to a place inside an allowed
folder. To make that safe against a link swapped in mid-read, the name is resolved once
(``realpath``) only to learn which root the file is under and the plain names below it; the file
is then opened from a descriptor of that root, one name at a time, without following any link
(``O_NOFOLLOW``, and ``O_DIRECTORY`` for folders), and what was opened is checked with ``fstat``.
A link that appears between the two steps is refused, never followed, so no timing can carry a
read outside the roots. A hard link is not a link in this sense: it is a file of its folder.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from pathlib import Path

from gatewise.errors import ErrorCode, GatewiseError, quoted

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO must not wait for a writer; fstat refuses it afterwards.
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
# What O_NOFOLLOW reports for a link (EMLINK on the BSDs).
_LINK_ERRNOS = {errno.ELOOP, errno.EMLINK}


def read_allowed(path: str | Path, roots: Sequence[Path], max_bytes: int) -> bytes:
    """The bytes of ``path`` if it is a regular file inside one of ``roots``, at most ``max_bytes``.

    ``~`` is expanded; a relative path is taken relative to the first root (a server's working
    directory means nothing to its client).
    """
    root, names = _locate(str(path), roots)
    fd = _open_below(root, names, quoted(path, end=True))
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
        os.close(fd)
        if not stat.S_ISREG(info.st_mode):
            raise GatewiseError(ErrorCode.UNSAFE_PATH, f"{quoted(path, end=True)} is not a regular file.")
        raise _too_large(path, max_bytes)
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(max_bytes + 1)  # the file may have grown since fstat
    if len(data) > max_bytes:
        raise _too_large(path, max_bytes)
    return data


def _locate(path: str, roots: Sequence[Path]) -> tuple[str, tuple[str, ...]]:
    """The real root ``path`` lies under and the names below it, or UNSAFE_PATH."""
    if not roots:
        raise GatewiseError(
            ErrorCode.UNSAFE_PATH,
            "Reading local files is disabled: no folders are configured.",
            hint="List the folders images may be read from in the setting media.allowed_roots.",
        )
    if "\0" in path:
        raise GatewiseError(ErrorCode.UNSAFE_PATH, "The path contains a NUL byte.")
    try:
        os.fsencode(path)
    except UnicodeEncodeError:  # a lone surrogate names no file on this system
        raise GatewiseError(ErrorCode.UNSAFE_PATH, "The path is not valid text for a file name.") from None
    real_roots = [os.path.realpath(os.path.expanduser(root)) for root in roots]
    candidate = os.path.join(real_roots[0], os.path.expanduser(path))  # an absolute path wins
    # Non-strict, as Path.resolve() is not on every version: a missing file and a link loop
    # come back unresolved and fail at open. A path outside the roots is refused the same way
    # whether or not it exists, so the error cannot be used to probe the rest of the file system.
    try:
        real = Path(os.path.realpath(candidate))
    except OSError:  # a link changed while it was being read: no answer to trust
        raise _not_found(quoted(path, end=True)) from None
    for root in real_roots:
        if real.is_relative_to(root):
            return root, real.relative_to(root).parts
    raise GatewiseError(ErrorCode.UNSAFE_PATH, f"{quoted(path, end=True)} is outside the allowed folders.")


def _open_below(root: str, names: Sequence[str], shown: str) -> int:
    """Open ``root/names...`` one component at a time from a descriptor of ``root``."""
    if not names:
        raise GatewiseError(ErrorCode.UNSAFE_PATH, f"{shown} is not a regular file.")
    try:
        parent = os.open(root, _DIR_FLAGS)
    except OSError:
        raise _not_found(shown) from None
    try:
        for name in names[:-1]:
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=parent)
            except OSError as exc:
                raise _open_error(exc, name, parent, shown) from None
            os.close(parent)
            parent = child
        try:
            return os.open(names[-1], _FILE_FLAGS, dir_fd=parent)
        except OSError as exc:
            raise _open_error(exc, names[-1], parent, shown) from None
    finally:
        os.close(parent)


def _open_error(exc: OSError, name: str, parent: int, shown: str) -> GatewiseError:
    # O_DIRECTORY|O_NOFOLLOW on a link says ENOTDIR, as for a file used as a folder: look again.
    if exc.errno in _LINK_ERRNOS or (exc.errno == errno.ENOTDIR and _is_link(name, parent)):
        return GatewiseError(
            ErrorCode.UNSAFE_PATH,
            f"{shown} passes through a symbolic link that could not be followed safely (a loop, or "
            "a link that changed while the file was opened).",
            hint="Symbolic links are followed only where they point inside the allowed folders "
                 "(media.allowed_roots) and stay put while the file is read.",
        )
    return _not_found(shown)  # missing, name too long, permission denied: nothing more is said


def _is_link(name: str, parent: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _not_found(shown: str) -> GatewiseError:
    return GatewiseError(ErrorCode.NOT_FOUND, f"There is no readable file at {shown}.")


def _too_large(path: str | Path, max_bytes: int) -> GatewiseError:
    return GatewiseError(
        ErrorCode.TOO_LARGE,
        f"{quoted(path, end=True)} is larger than the {max_bytes:,}-byte limit (media.max_input_bytes).",
    )
