"""The data directory and the SQLite ledger in it, checked before anything is served.

A directory that cannot be written, a file where the directory should be, or a ledger that is not
a SQLite database would otherwise pass start-up and fail every tool call; checked here, each is one
line naming the path and the reason (server start-up, ``gatewise serve``, ``migrate``, ``doctor``).
Plain ``sqlite3``: a server does not load the stores' library before it answers.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

from gatewise.config import Settings
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.ledger.migrations import SCHEMA_VERSION, refuse_newer
from gatewise.ledger.store import LedgerSchemaError

HINT = "Fix the path named above, or point GATEWISE_DATA_DIR at a directory this process can write."
# How long the check waits for another process's write lock on the ledger (a server starting
# beside running ones).
BUSY_TIMEOUT_S = 5.0


def unusable(message: str) -> GatewiseError:
    return GatewiseError(ErrorCode.CONFIG_ERROR, message, hint=HINT)


def check_data_dir(path: Path) -> None:
    """Create the data directory if need be; raise when it is not a directory this process can
    write files in (tried with a file of its own, so a read-only mount or an immutable directory
    is found even by root)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # a file (or a link to one) is where the directory should be
        raise unusable(f"data directory {path} is not a directory") from None
    except OSError as exc:
        raise unusable(f"data directory {path} cannot be created: {exc.strerror}") from None
    try:
        fd, probe = tempfile.mkstemp(prefix=".gatewise-write-check-", dir=path)
    except OSError as exc:
        raise unusable(f"data directory {path} is not writable ({exc.strerror})") from None
    os.close(fd)
    os.unlink(probe)


def check_database(path: Path, what: str, *, migrated: bool = False, remedy: str = "") -> None:
    """Raise when the file at ``path`` exists but is not a SQLite database this process can write
    (``what`` names it, ``remedy`` ends the message), or, ``migrated``, carries a ledger schema
    newer than this version understands. A missing file is made on opening."""
    if not os.path.lexists(path):
        return
    if path.is_dir():
        raise unusable(f"{what} {path} is not a SQLite database (it is a directory){remedy}")
    if not os.access(path, os.W_OK):
        raise unusable(f"{what} {path} is not writable")
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True,
                                     timeout=BUSY_TIMEOUT_S)) as conn:
            has_versions = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table'"
                                        " AND name = 'schema_migrations'").fetchone()
            if migrated and has_versions:
                (current,) = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"
                                          ).fetchone()
                refuse_newer(current, SCHEMA_VERSION, name=f"{what} {path}", elsewhere="another data_dir")
    except LedgerSchemaError as exc:
        raise unusable(str(exc)) from None
    except sqlite3.DatabaseError as exc:
        if exc.sqlite_errorname == "SQLITE_NOTADB":
            raise unusable(f"{what} {path} is not a SQLite database{remedy}") from None
        raise unusable(f"{what} {path} cannot be read ({exc}){remedy}") from None


def check_local_storage(settings: Settings) -> None:
    """The data directory; when SQLite holds the calls (no ``storage.url``), also the ledger and
    the caches' files beside it (a cache file that is not a database is not set aside quietly:
    the cache tools would fail on it too)."""
    check_data_dir(settings.data_dir)
    if settings.storage.url is not None:
        return
    check_database(settings.ledger_path, "ledger", migrated=True)
    for path in sorted(settings.data_dir.glob("*.sqlite3")):
        if path != settings.ledger_path:
            check_database(path, "cache", remedy="; delete it: it holds only cached answers")
