"""SQLite files shared by several processes: created user-only, switched to WAL."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path


def create_private_file(path: Path) -> None:
    """Create the file user-only before SQLite touches it; its -wal/-shm files copy the mode."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Never open an existing file here: this process may already use it through SQLite, and
    # closing any descriptor of a file drops every POSIX lock the process holds on it. Without
    # its locks, another process closing its connection takes itself for the last one and
    # deletes the WAL that this process is still writing to.
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600))
    os.chmod(path, 0o600)  # also tighten a file created by hand or by an older version


def enable_wal(conn: sqlite3.Connection, patience_s: float) -> None:
    """Switch to WAL once per file.

    A switch that races another process's answers "locked" at once, without SQLite's busy
    handler, so wait and look again until the file is in WAL or ``patience_s`` runs out.
    """
    deadline = time.monotonic() + patience_s
    while conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        try:
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)
