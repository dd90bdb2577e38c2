"""Switching a SQLite file shared by several processes to WAL."""

from __future__ import annotations

import sqlite3
import time


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
